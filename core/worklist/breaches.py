"""SLA breaches for the Overview: per day and per reviewer, computed by the database.

A breach is a due time that passed with the case still in its status. It counts on the UTC
day its due time passed, in one of two kinds:

- `late`: the case left the status after its due time (`sla_breaches`, written with the
  status change by core/cases/sla_clock.py), charged to whoever was assigned then;
- `open`: the case is still in the status, past its due time (`cases.due_at < now`, through
  `ix_cases_due`), charged to its current assignee (None: unassigned).

Periods are those of `core.worklist.overview` (the N UTC days ending today). Restricted cases
(an erasure request pending) are left out, as from every Overview figure.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from core.cases.retention_state import hide_restricted, restricted_clause
from core.store.db import Database
from core.store.models import Case, SlaBreach, utcnow
from core.worklist.overview import _as_date, day_of, period_start


@dataclass(frozen=True)
class BreachDay:
    day: date
    late: int   # left the status after the due time
    open: int   # still in it, overdue

    @property
    def total(self) -> int:
        return self.late + self.open


@dataclass(frozen=True)
class ReviewerBreaches:
    assignee: str | None  # None: nobody was assigned
    late: int
    open: int

    @property
    def total(self) -> int:
        return self.late + self.open


def _not_restricted():
    """SQL: the breach's case is not restricted (a few ids, `ix_cases_erasure_requested`)."""
    # `> datetime.min`: lets SQLite seek the index while no erasure is pending (as
    # `core.cases.retention_state.hide_restricted`)
    return SlaBreach.case_id.not_in(select(Case.id).where(
        restricted_clause(), Case.erasure_requested_at > datetime.min))


def breaches_per_day(db: Database, days: int, now: datetime | None = None) -> list[BreachDay]:
    """Every day of the period (0 included) with its breaches, oldest day first."""
    now = now or utcnow()
    start = period_start(days, now)
    late_day = day_of(SlaBreach.due_at, db.dialect).label("day")
    open_day = day_of(Case.due_at, db.dialect).label("day")
    with db.read() as s:
        late = {_as_date(d): int(n) for d, n in s.execute(
            select(late_day, func.count()).where(SlaBreach.due_at >= start,
                                                 SlaBreach.due_at < now, _not_restricted())
            .group_by(late_day))}
        still = {_as_date(d): int(n) for d, n in s.execute(
            select(open_day, func.count()).where(Case.due_at >= start, Case.due_at < now,
                                                 hide_restricted())
            .group_by(open_day))}
    first = start.date()
    return [BreachDay(d, late.get(d, 0), still.get(d, 0))
            for d in (first + timedelta(days=i) for i in range(days))]


def breaches_per_reviewer(db: Database, days: int,
                          now: datetime | None = None) -> list[ReviewerBreaches]:
    """Breaches of the period per assignee, most first (unassigned ones as None)."""
    now = now or utcnow()
    start = period_start(days, now)
    with db.read() as s:
        late = dict(s.execute(select(SlaBreach.assignee, func.count())
                              .where(SlaBreach.due_at >= start, SlaBreach.due_at < now,
                                     _not_restricted())
                              .group_by(SlaBreach.assignee)).all())
        still = dict(s.execute(select(Case.assignee, func.count())
                               .where(Case.due_at >= start, Case.due_at < now,
                                      hide_restricted())
                               .group_by(Case.assignee)).all())
    rows = [ReviewerBreaches(a, int(late.get(a, 0)), int(still.get(a, 0)))
            for a in set(late) | set(still)]
    return sorted(rows, key=lambda r: (-r.total, r.assignee is None, r.assignee or ""))
