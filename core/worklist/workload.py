"""The team's workload: open cases per reviewer by status, and how many are overdue — what a
team lead (or an admin) reads to rebalance the queue (pages/workload.py). Two GROUP BYs over
`ix_cases_assignee_status` and `ix_cases_due`; reassigning is `core.cases.actions.assign_case`,
as everywhere. Reading it needs the VIEW_WORKLOAD permission (lead, admin), checked here. Restricted cases
(an erasure request waiting for retention to end) are left out, as from the Cases list: they
are nobody's work until the erasure, and their names are shown to admins on Retention only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from core.access.actors import require_permission
from core.access.roles import Permission, Role
from core.cases.retention_state import hide_restricted
from core.cases.status import FINAL_STATUSES, CaseStatus
from core.store.db import Database
from core.store.models import Case, Entity, User, utcnow

OPEN_STATUSES = tuple(s.value for s in CaseStatus if s not in FINAL_STATUSES)
ASSIGNABLE_ROLES = tuple(r.value for r in Role if r is not Role.ANALYST)
MAX_CASES = 500


@dataclass(frozen=True)
class WorkloadRow:
    """One person's open cases (`username` None: the unassigned ones)."""
    username: str | None
    name: str
    role: str
    by_status: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    @property
    def open(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class WorkloadCase:
    id: str
    name: str
    status: str
    due_at: datetime | None
    version: int


def workload(db: Database, *, actor: str, now: datetime | None = None) -> list[WorkloadRow]:
    """Every active user who can hold cases (reviewers, leads, admins), with none too, then
    "Unassigned": open cases per status and overdue ones. Most open cases first."""
    now = now or utcnow()
    with db.read() as s:
        require_permission(s, actor, Permission.VIEW_WORKLOAD)
        counts: dict[str | None, dict[str, int]] = {}
        for assignee, status, n in s.execute(
                select(Case.assignee, Case.case_status, func.count())
                .where(Case.case_status.in_(OPEN_STATUSES), hide_restricted())
                .group_by(Case.assignee, Case.case_status)):
            counts.setdefault(assignee, {})[status] = int(n)
        overdue = {assignee: int(n) for assignee, n in s.execute(
            select(Case.assignee, func.count())
            .where(Case.case_status.in_(OPEN_STATUSES), Case.due_at < now, hide_restricted())
            .group_by(Case.assignee))}
        people = {u.username: u for u in s.scalars(select(User).where(
            User.disabled.is_(False), User.role.in_(ASSIGNABLE_ROLES)))}
        # cases still held by someone disabled or now an analyst are listed too
        holders = [u for u in counts if u is not None and u not in people]
        for u in s.scalars(select(User).where(User.username.in_(holders))) if holders else []:
            people[u.username] = u
    rows = [WorkloadRow(u.username, u.name, u.role if not u.disabled else "disabled",
                        {st: counts.get(u.username, {}).get(st, 0) for st in OPEN_STATUSES
                         if counts.get(u.username, {}).get(st)},
                        overdue.get(u.username, 0))
            for u in people.values()]
    rows.sort(key=lambda r: (-r.open, -r.overdue, r.username or ""))
    rows.append(WorkloadRow(None, "Unassigned", "", dict(counts.get(None, {})),
                            overdue.get(None, 0)))
    return rows


def cases_of(db: Database, username: str | None, *, actor: str,
             limit: int = MAX_CASES) -> list[WorkloadCase]:
    """One person's (or nobody's) open cases, most urgent first (due time, then oldest), to
    pick one to reassign."""
    with db.read() as s:
        require_permission(s, actor, Permission.VIEW_WORKLOAD)
        who = Case.assignee.is_(None) if username is None else Case.assignee == username
        stmt = (select(Case.id, Entity.name, Case.case_status, Case.due_at, Case.version)
                .join(Entity, Entity.id == Case.entity_id)
                .where(who, Case.case_status.in_(OPEN_STATUSES), hide_restricted())
                .order_by(Case.due_at.is_(None), Case.due_at, Case.created_at, Case.id)
                .limit(limit))
        return [WorkloadCase(*row) for row in s.execute(stmt)]
