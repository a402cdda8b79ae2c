"""Queueing cases for the built-in screener, in the caller's own transaction.

It sits in core/cases because the writers of a case's subjects — intake, a reviewer's edit —
stand below core/screening and must be able to say "screen this case again"; the screener's
worker claims and finishes the jobs (core/screening/job_queue.py). A case is queued at most
once (`screening_jobs`, keyed by the case):

- queued and not claimed: it stays as it is, with its earliest `queued_at` (and reason);
- claimed by a worker, which may have read the case before this change: it is queued again
  *behind the claim*. `claimed_by` is cleared but the lease (`claimed_until`) kept, so no
  other worker claims it while the first one is still screening (two screenings of one case
  at once could record the older one last); the worker's `done` then does not delete it (it
  no longer holds it) but ends the lease, and the next claim screens it again. Should the
  worker die instead, the lease runs out and the job is claimed again all the same.
- not queued: a new job.

On PostgreSQL the insert is `ON CONFLICT DO NOTHING`, so two transactions queueing the same
case at once both succeed; SQLite writes one transaction at a time.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import exists, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.cases.status import CaseStatus
from core.errors import InvalidInput
from core.store.models import Case, utcnow
from core.store.screening_list_models import ScreeningJob

REASONS = ("intake", "edit", "list_reload", "manual")
J = ScreeningJob.__table__
CHUNK = 500


def _reason(reason: str) -> str:
    if reason not in REASONS:
        raise InvalidInput("the case was not queued for screening",
                           [f"reason: {str(reason)[:40]!r} is not one of {', '.join(REASONS)}"])
    return reason


def _insert(session: Session):
    """INSERT that skips a case already queued (PostgreSQL and SQLite alike)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    # the driver's row count of an INSERT is kept only when asked for (SQLAlchemy 2)
    return dialect.insert(J).execution_options(preserve_rowcount=True)


def enqueue(session: Session, case_ids: Iterable[str], reason: str) -> int:
    """Queues the cases for screening (the rules of the module docstring), in the session's
    transaction; ids of cases that do not exist are skipped. Returns how many were queued
    anew or again behind a claim."""
    reason = _reason(reason)
    ids = list(dict.fromkeys(str(c) for c in case_ids if c))
    now = utcnow()
    queued = 0
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        again = session.execute(update(J).where(J.c.case_id.in_(chunk),
                                                J.c.claimed_by.is_not(None))
                                .values(claimed_by=None, queued_at=now, reason=reason))
        rows = (select(Case.id, literal(reason), literal(now))
                .where(Case.id.in_(chunk)))
        new = session.execute(_insert(session)
                              .from_select(["case_id", "reason", "queued_at"], rows)
                              .on_conflict_do_nothing(index_elements=["case_id"]))
        queued += (again.rowcount or 0) + new.rowcount
    return queued


def enqueue_rescreen_all(session: Session, reason: str) -> int:
    """Queues every case that is not Rejected (the open ones and the Approved ones) in one
    INSERT ... SELECT, skipping those already queued; the claimed ones are queued again
    behind their claim (a worker may be screening them against the lists as they were).
    Returns how many were queued anew or again."""
    reason = _reason(reason)
    now = utcnow()
    again = session.execute(update(J).where(J.c.claimed_by.is_not(None))
                            .values(claimed_by=None, queued_at=now, reason=reason))
    rows = (select(Case.id, literal(reason), literal(now))
            .where(Case.case_status != CaseStatus.REJECTED.value,
                   ~exists().where(J.c.case_id == Case.id)))
    new = session.execute(_insert(session)
                          .from_select(["case_id", "reason", "queued_at"], rows)
                          .on_conflict_do_nothing(index_elements=["case_id"]))
    return (again.rowcount or 0) + new.rowcount

