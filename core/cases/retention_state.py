"""A case's retention facts that the one-case layer needs (docs/RECORDS.md, "Retention, legal
hold and erasure"): when the business relationship ended, which fixes the date from which the
case's records may be erased, and whether the case is *restricted* (an erasure request is
pending: only admins see it).

Why here and not in core/records: a rejection (core/cases/actions.py) and the
`relationship_ended` event (core/intake/events.py) set the end in their own unit of work, and
the case list, the case read and related cases (core/worklist/query.py, core/cases/read.py,
core/cases/related.py) hide restricted cases; they all sit below core/records, where the
commands (legal holds, erasure requests, the retention run) live.

`RETENTION_WRITERS` are the timeline sentences of the events retention records against a case
(core/cases/history.py's WRITERS takes them in).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from core.access.roles import Role
from core.errors import NotFound
from core.store import audit
from core.store.audit_chain_format import utc_text
from core.store.models import Case, User, utcnow
from core.workflows.definitions import DEFAULT_RETENTION_YEARS, definition_of, retention_years

ENDED = "relationship.ended"


def add_years(at: datetime, years: int) -> datetime:
    """`at` moved on by whole years (29 February becomes 28 February in a common year)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


def end_relationships_of_rejected(conn: Connection, batch: int = 5_000) -> int:
    """Rejected cases without a relationship end get the end of their newest rejection and
    `retention_until` the default period on (migration 0021 for cases rejected before it; the
    demo loader for its rejected cases). Columns only, no audit event: not an actor's act.
    Returns how many cases it dated."""
    cases = sa.table('cases', sa.column('id', sa.String()), sa.column('case_status', sa.String()),
                     sa.column('relationship_ended_at', sa.DateTime()),
                     sa.column('retention_until', sa.DateTime()))
    decisions = sa.table('decisions', sa.column('case_id', sa.String()),
                         sa.column('action', sa.String()), sa.column('at', sa.DateTime()))
    after, done = '', 0
    while True:
        rows = conn.execute(
            sa.select(cases.c.id, sa.func.max(decisions.c.at))
            .join(decisions, sa.and_(decisions.c.case_id == cases.c.id,
                                     decisions.c.action == 'reject'))
            .where(cases.c.case_status == 'rejected', cases.c.relationship_ended_at.is_(None),
                   cases.c.id > after)
            .group_by(cases.c.id).order_by(cases.c.id).limit(batch)).all()
        if not rows:
            return done
        conn.execute(
            cases.update().where(cases.c.id == sa.bindparam('case'))
            .values(relationship_ended_at=sa.bindparam('ended'),
                    retention_until=sa.bindparam('until')),
            [{'case': case_id, 'ended': at, 'until': add_years(at, DEFAULT_RETENTION_YEARS)}
             for case_id, at in rows])
        after, done = rows[-1][0], done + len(rows)


def end_relationship(session: Session, case: Case, actor: str, *,
                     at: datetime | None = None, how: str = "event") -> bool:
    """Records that the business relationship of the case ended (`at`, default now), in the
    caller's unit of work: `retention_until` = the end + the workflow's `retention_years`,
    computed now (a later change of the workflow's period leaves this date as it is). An end
    already recorded stays (returns False, nothing written)."""
    if case.relationship_ended_at is not None:
        return False
    at = at or utcnow()
    years = retention_years(definition_of(session, case.workflow))
    case.relationship_ended_at, case.retention_until = at, add_years(at, years)
    audit.record(session, case_id=case.id, actor=actor, kind="relationship.ended",
                 after={"ended_at": utc_text(at), "how": how, "retention_years": years,
                        "retention_until": utc_text(case.retention_until)})
    return True


# --- restricted cases -------------------------------------------------------------------------

def restricted_clause(case=Case) -> ColumnElement[bool]:
    """SQL: the case (or an alias of `cases`) is restricted: erasure requested, not yet done."""
    return and_(case.erasure_requested_at.is_not(None), case.erased_at.is_(None))


def hide_restricted() -> ColumnElement[bool]:
    """SQL for a list of cases: leave out the restricted ones. Their ids come from a subquery
    on `ix_cases_erasure_requested` (a few rows), so a list read from an index stays so."""
    restricted = Case.__table__.alias("restricted_case")
    # `> datetime.min` says nothing more for a real time, but lets SQLite seek the index: its
    # statistics count no NULLs, so while no erasure is pending (every row NULL) it takes
    # `IS NOT NULL` for every row and scans the table on each list query (1M cases: about a
    # second per page or export batch; docs/PERFORMANCE.md, "Export streamed").
    return Case.id.not_in(select(restricted.c.id).where(
        restricted_clause(restricted.c), restricted.c.erasure_requested_at > datetime.min))


def is_restricted(case: Any) -> bool:
    return case.erasure_requested_at is not None and case.erased_at is None


def sees_restricted(role: str | None) -> bool:
    """Only admins (and the shell operator, who reads without a user) see restricted cases."""
    return role == Role.ADMIN.value


def check_visible(case: Any, viewer: User | None) -> None:
    """NotFound (as for a case that does not exist: nothing is revealed) when `viewer` may not
    see the restricted case; a viewer of None is the system."""
    if viewer is not None and is_restricted(case) and not sees_restricted(viewer.role):
        raise NotFound(f"case {case.id!r} not found")


# --- timeline sentences ------------------------------------------------------------------------

def _day(value: Any) -> str:
    return str(value or "")[:10] or "an unknown date"


def _ended(actor, before, after, names):
    how = "with its rejection" if after.get("how") == "rejection" else f"(reported by {actor})"
    return (f"The business relationship ended {how}; records are kept until "
            f"{_day(after.get('retention_until'))}")


def _text(value: Any) -> str:
    """Case data on one line (the history's own quoting is richer; this is its minimum)."""
    text = " ".join("".join(ch if ch.isprintable() else " " for ch in str(value)).split())
    return text if len(text) <= 80 else text[:79] + "…"


def _hold_placed(actor, before, after, names):
    until = f" until {_day(after.get('until'))}" if after.get("until") else ""
    return f"{actor} placed a legal hold{until}: {_text(after.get('reason') or 'reason erased')}"


def _hold_released(actor, before, after, names):
    return f"{actor} released the legal hold: {_text(after.get('reason') or 'reason erased')}"


def _deferred(actor, before, after, names):
    until = after.get("retention_until")
    when = f"until {_day(until)}" if until else "until the relationship ends and retention passes"
    return (f"{actor} recorded an erasure request, deferred {when}; the case is restricted to "
            "admins")


def _requested(actor, before, after, names):
    return f"{actor} recorded an erasure request; the next retention run erases the case"


def _erased(actor, before, after, names):
    return "The case's personal data was erased at the end of retention"


RETENTION_WRITERS = {ENDED: _ended, "legal_hold.placed": _hold_placed,
                     "legal_hold.released": _hold_released, "erasure.deferred": _deferred,
                     "erasure.requested": _requested, "subject.erased": _erased}
