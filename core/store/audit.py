"""Append-only audit events: every change to a case is recorded here, in its transaction.

`through(...)` names the channel of the writes made inside it (an API key, say): every event
recorded there carries it in `via`, whatever service function records it.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

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
    session.add(AuditEvent(case_id=case_id, actor=actor, kind=kind, before=before, after=after,
                           at=utcnow(), via=_via.get()))


def case_timeline(session: Session, case_id: str, limit: int = 500) -> list[AuditEvent]:
    stmt = (select(AuditEvent).where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id.desc()).limit(limit))
    return list(session.scalars(stmt))
