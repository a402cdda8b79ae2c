"""Figures for the team lead's overview page, computed by the database.

Every figure is one SQL aggregate (GROUP BY / SUM(CASE ...)) over indexed columns; cases and
decisions are never loaded into Python or pandas, so the page stays fast at a million cases.

- `status_counts` / `view_counts`: cases per status, and per sidebar view.
- `manual_review_ageing`: open cases in Manual review by time since they entered it
  (`cases.status_changed_at`), in the buckets of `AGEING_BUCKETS`.
- `decisions_per_day`: case actions (approve, reject, ask for all re-uploads) per UTC day
  over a period, from the `decisions` table; days without decisions are present with 0.
- `reviewer_throughput`: decisions per actor over the period.
- `approval_rate`: approved / (approved + rejected) over the period (None when no decision).

A period of N days is the N UTC calendar days ending today (today included). Times in the
database are naive UTC (`core.store.models.utcnow`).

Restricted cases (an erasure request pending: core/cases/retention_state.py) are left out of
every figure, their decisions included, as the case list leaves them out (for everyone: only
the admins' Retention page lists them); the status and view counts are the list's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, and_, case, cast, func, select

from core.cases.retention_state import hide_restricted, restricted_clause
from core.cases.status import FINAL_STATUSES, CaseAction, CaseStatus
from core.errors import InvalidInput
from core.store.db import Database
from core.store.models import Case, Decision, utcnow
from core.worklist.query import CaseFilter, counts_by_status, counts_by_view
from core.worklist.views import list_views

PERIODS = (7, 30, 90)
MAX_PERIOD = 366
DECISION_ACTIONS = tuple(a.value for a in CaseAction)  # approve, reject, ask_for_reuploads

# (label, lower bound in days inclusive, upper bound in days exclusive or None)
AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<1d", 0, 1),
    ("1-3d", 1, 3),
    ("3-7d", 3, 7),
    ("7-14d", 7, 14),
    ("14-30d", 14, 30),
    (">30d", 30, None),
)


@dataclass(frozen=True)
class ViewCount:
    view_id: int
    name: str
    cases: int


@dataclass(frozen=True)
class DayCount:
    day: date
    action: str
    count: int


@dataclass(frozen=True)
class ReviewerCount:
    actor: str
    approved: int
    rejected: int
    asked_reuploads: int

    @property
    def total(self) -> int:
        return self.approved + self.rejected + self.asked_reuploads


@dataclass(frozen=True)
class ApprovalRate:
    approved: int
    rejected: int

    @property
    def rate(self) -> float | None:
        decided = self.approved + self.rejected
        return self.approved / decided if decided else None


def _check_days(days: int) -> int:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_PERIOD:
        raise InvalidInput(f"the period must be 1 to {MAX_PERIOD} days")
    return days


def period_start(days: int, now: datetime | None = None) -> datetime:
    """Midnight UTC of the first day of the N-day period ending today."""
    today = (now or utcnow()).date()
    return datetime.combine(today - timedelta(days=_check_days(days) - 1), time.min)


def day_of(column, dialect: str):
    """SQL expression truncating a timestamp column to its calendar day."""
    if dialect == "sqlite":
        return func.date(column)  # text 'YYYY-MM-DD'
    return cast(column, Date)     # PostgreSQL: same as date_trunc('day', ...)::date


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _not_restricted_decision():
    """SQL: the decision's case is not restricted (the restricted ones are a few rows of
    `ix_cases_erasure_requested`)."""
    # `> datetime.min`: lets SQLite seek the index while no erasure is pending (as
    # `core.cases.retention_state.hide_restricted`)
    return Decision.case_id.not_in(select(Case.id).where(
        restricted_clause(), Case.erasure_requested_at > datetime.min))


# --- cases --------------------------------------------------------------------------------

def status_counts(db: Database) -> dict[str, int]:
    """Every status (value) with its number of cases, 0 included, in workflow order."""
    return counts_by_status(db, CaseFilter())


def open_cases(counts: dict[str, int]) -> int:
    """Cases not yet decided, from `status_counts`' result."""
    return sum(n for s, n in counts.items() if CaseStatus(s) not in FINAL_STATUSES)


def view_counts(db: Database) -> list[ViewCount]:
    """Each sidebar view, in sidebar order, with its case count."""
    views = list_views(db)
    counts = counts_by_view(db, views)
    return [ViewCount(v.id, v.name, counts[v.id]) for v in views]


def manual_review_ageing(db: Database, now: datetime | None = None) -> dict[str, int]:
    """Cases now in Manual review per bucket of time since they entered that status."""
    now = now or utcnow()
    age = Case.status_changed_at
    columns = []
    for label, low, high in AGEING_BUCKETS:
        cond = age <= now - timedelta(days=low) if low else age.is_not(None)
        if high is not None:
            cond = and_(cond, age > now - timedelta(days=high))
        columns.append(func.coalesce(func.sum(case((cond, 1), else_=0)), 0).label(label))
    stmt = select(*columns).where(Case.case_status == CaseStatus.MANUAL_REVIEW.value,
                                  hide_restricted())
    with db.read() as s:
        row = s.execute(stmt).one()
    return {label: int(n or 0) for (label, _, _), n in zip(AGEING_BUCKETS, row)}


# --- decisions ----------------------------------------------------------------------------

def decisions_per_day(db: Database, days: int, now: datetime | None = None) -> list[DayCount]:
    """(day, action, count) for every day of the period and every case action, 0 included."""
    start = period_start(days, now)
    day = day_of(Decision.at, db.dialect).label("day")
    stmt = (select(day, Decision.action, func.count())
            .where(Decision.at >= start, _not_restricted_decision())
            .group_by(day, Decision.action))
    with db.read() as s:
        found = {(_as_date(d), a): int(n) for d, a, n in s.execute(stmt)}
    first = start.date()
    actions = list(DECISION_ACTIONS) + sorted({a for _, a in found} - set(DECISION_ACTIONS))
    return [DayCount(first + timedelta(days=i), a, found.get((first + timedelta(days=i), a), 0))
            for i in range(days) for a in actions]


def reviewer_throughput(db: Database, days: int,
                        now: datetime | None = None) -> list[ReviewerCount]:
    """Decisions per actor over the period, busiest first."""
    start = period_start(days, now)

    def count_of(action: CaseAction):
        return func.coalesce(func.sum(case((Decision.action == action.value, 1), else_=0)), 0)

    stmt = (select(Decision.actor, count_of(CaseAction.APPROVE), count_of(CaseAction.REJECT),
                   count_of(CaseAction.ASK_FOR_REUPLOADS))
            .where(Decision.at >= start, _not_restricted_decision())
            .group_by(Decision.actor))
    with db.read() as s:
        rows = [ReviewerCount(actor, int(a), int(r), int(q)) for actor, a, r, q in s.execute(stmt)]
    return sorted(rows, key=lambda r: (-r.total, r.actor))


def approval_rate(db: Database, days: int, now: datetime | None = None) -> ApprovalRate:
    """Approvals and rejections over the period; `.rate` is approved / (approved + rejected)."""
    start = period_start(days, now)
    stmt = (select(Decision.action, func.count())
            .where(Decision.at >= start, _not_restricted_decision(),
                   Decision.action.in_((CaseAction.APPROVE.value, CaseAction.REJECT.value)))
            .group_by(Decision.action))
    with db.read() as s:
        found = dict(s.execute(stmt).all())
    return ApprovalRate(int(found.get(CaseAction.APPROVE.value, 0)),
                        int(found.get(CaseAction.REJECT.value, 0)))
