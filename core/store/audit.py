"""Append-only audit events: every change to a case is recorded here, in its transaction.

Every event recorded here is chained when its transaction commits (`core.store.audit_chain`:
seq, prev_hash, hash over a canonical body; docs/RECORDS.md). The before/after of an event
with a case are sealed under the case's key before the row is written (`sealed_values`;
core/store/audit_values.py); read them with `audit_values.open_values`. Values that canonical JSON does
not take (floats, NaN, huge integers) are refused with a TypeError when recorded.

`through(...)` names the channel of the writes made inside it (an API key, say): every event
recorded there carries it in `via`, whatever service function records it. `record` adds one
event to the session; `record_many` writes many at once (one multi-row INSERT), for the
writers of many cases (an import).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator, Mapping

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core.store.audit_chain import append_many, mark_pending
from core.store.audit_chain_format import recordable
from core.store.audit_chain_pg import hold_values, seal_rows, stored_row
from core.store.audit_values import opened
from core.store.models import AuditEvent, utcnow

_via: ContextVar[str | None] = ContextVar("docket_audit_via", default=None)


@contextmanager
def through(via: str) -> Iterator[None]:
    """Audit events recorded inside this block (in this thread or task) carry `via`."""
    token = _via.set(via[:100])
    try:
        yield
    finally:
        _via.reset(token)


def record(session: Session, *, case_id: str | None, actor: str, kind: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    before, after = recordable(before, "before"), recordable(after, "after")
    if case_id is None:
        event = AuditEvent(case_id=None, actor=actor, kind=kind, before=before, after=after,
                           at=utcnow(), via=_via.get())
    else:  # sealed under the case's key at the flush: the clear values never reach the row
        event = AuditEvent(case_id=case_id, actor=actor, kind=kind, before=None, after=None,
                           at=utcnow(), via=_via.get())
        hold_values(event, before, after)
    session.add(event)
    mark_pending(session, event)


EVENT_FIELDS = frozenset({"case_id", "actor", "kind", "before", "after"})  # record's arguments
_REQUIRED = frozenset({"case_id", "actor", "kind"})


def record_many(session: Session, events: Iterable[Mapping[str, Any]]) -> int:
    """Records the events as `record` would one by one, in order, with one multi-row INSERT
    (no ORM objects): each event is a mapping of `record`'s keyword arguments (`case_id`,
    `actor`, `kind`, and `before`/`after` if any). The same columns as `record` writes, the
    same `via`; one `at` for all of them. Written at once, not at the next flush: events that
    `record` left pending in the session are flushed first, so ids follow the calls' order.
    On SQLite they are chained as they are written (`audit_chain.append_many`), elsewhere at
    the commit. Returns how many events were written."""
    now, via = utcnow(), _via.get()
    rows = []
    for event in events:
        if not _REQUIRED <= event.keys() <= EVENT_FIELDS:
            raise TypeError(f"an audit event has case_id, actor, kind (before, after): "
                            f"got {sorted(event)}")
        rows.append({"case_id": event["case_id"], "actor": event["actor"], "kind": event["kind"],
                     "before": recordable(event.get("before"), "before"),
                     "after": recordable(event.get("after"), "after"), "at": now, "via": via})
    if not rows:
        return 0
    seal_rows(session, rows)  # each case event's values sealed under its case's key
    if not append_many(session, rows):  # SQLite: inserted already chained
        if any(isinstance(pending, AuditEvent) for pending in session.new):
            session.flush()
        session.execute(insert(AuditEvent.__table__), [stored_row(row) for row in rows])
        mark_pending(session, case_ids={row["case_id"] for row in rows})
    return len(rows)


def case_timeline(session: Session, case_id: str, limit: int = 500) -> list[AuditEvent]:
    """The case's newest events, newest first, their before/after readable."""
    stmt = (select(AuditEvent).where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id.desc()).limit(limit))
    return opened(session, list(session.scalars(stmt)))
