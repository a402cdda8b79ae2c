"""Next case: hand a reviewer the most urgent case of their view, assigned to them at once.

Which cases: those of the view or filter that wait on a reviewer's decision — the statuses
that offer Approve (Manual review; `NEXT_CASE_STATUSES`). Assign is allowed in every open
status, but a case waiting on the applicant (Collection flow, Revisions), a process or a
UBO's KYC has nothing to decide yet: handing it out would stop "work the queue" on a case
nobody can finish. Of those, the cases already assigned to the reviewer come first (finish
what you hold before taking more; nobody else can take them anyway), then unassigned ones.
Another person's case is never taken, not even by an admin.

Order, within each group: the earliest due time first (so overdue cases, most overdue
first, then the soonest due), then cases without a due time, oldest created first; the case
id breaks ties. Each group is two reads in that order (due, then not due), each stopping at
its first row of `ix_cases_next` (assignee, status, due_at, created_at, id).

Two reviewers pressing at once never get the same case: the pick and the assignment are one
unit of work. PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1` (a case another taker
holds is skipped, not waited for); SQLite: the transaction begins IMMEDIATE (one writer at a
time, so the second taker's pick sees the first one's assignment). The assignment itself is
`core.cases.actions.assign_in`, the checks, version bump and `case.assigned` audit event of
Assign to me.
"""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm.exc import StaleDataError

from core.access.actors import active_user
from core.access.roles import Permission, require
from core.cases.actions import assign_in
from core.cases.status import CASE_ACTIONS_BY_STATUS, FINAL_STATUSES, CaseAction, CaseStatus
from core.errors import CaseChanged
from core.store.db import Database
from core.store.models import Case, Entity
from core.worklist.query import SORT_COLUMNS, CaseFilter, filter_clauses, keyset_after, sort_columns
from core.worklist.views import ViewInfo

NEXT_CASE_STATUSES = tuple(s.value for s in CaseStatus if s not in FINAL_STATUSES
                           and CaseAction.APPROVE in CASE_ACTIONS_BY_STATUS[s])
# One status (Manual review): ordering by the index key below keeps "most urgent first".
assert len(NEXT_CASE_STATUSES) == 1, "order the picks by urgency across statuses first"
ATTEMPTS = 5  # a pick that loses a race to a concurrent change is retried


def _as_filter(view_or_filter: ViewInfo | CaseFilter | None) -> CaseFilter:
    if view_or_filter is None:
        return CaseFilter()
    if isinstance(view_or_filter, ViewInfo):
        return CaseFilter(view=view_or_filter)
    return view_or_filter


def candidates(flt: CaseFilter, dialect: str, username: str) -> list[Select]:
    """The queries Next case asks in turn, each for (case id, version) of its first row: the
    user's own cases with a due time, without, then unassigned ones with, without. Each is
    read in `ix_cases_next` order (assignee, status, due_at, created_at, id)."""
    clauses, needs_entity = filter_clauses(flt, dialect)
    clauses.append(Case.case_status.in_(NEXT_CASE_STATUSES))
    base = select(Case.id, Case.version).where(*clauses)
    if needs_entity:
        base = base.join(Entity, Entity.id == Case.entity_id)
    # The whole index key: assignee and status are fixed by the WHERE, so this is due_at,
    # created_at, id; said in full, PostgreSQL's generic plan of the prepared statement
    # (psycopg prepares a query run 5 times) reads ix_cases_next too, instead of walking
    # ix_cases_created for a user who holds no case.
    order = (Case.assignee, Case.case_status, Case.due_at, Case.created_at, Case.id)
    picks = []
    for owner in (Case.assignee == username, Case.assignee.is_(None)):
        picks += [base.where(owner, Case.due_at.is_not(None)).order_by(*order).limit(1),
                  base.where(owner, Case.due_at.is_(None)).order_by(*order).limit(1)]
    if dialect != "sqlite":  # the unassigned picks lock their row, skipping locked ones
        picks[2:] = [q.with_for_update(skip_locked=True, of=Case) for q in picks[2:]]
    return picks


def take_next_case(db: Database, username: str,
                   view_or_filter: ViewInfo | CaseFilter | None = None) -> str | None:
    """Assigns the most urgent case of the view or filter that `username` may act on and
    returns its id; None when there is none. A case the user already holds is returned
    as it is (nothing is written). Refused (NotAllowed) for a user who may not take and
    decide cases (analysts, disabled users)."""
    flt = _as_filter(view_or_filter)
    for _ in range(ATTEMPTS):
        try:
            return _take(db, username, flt)
        except (CaseChanged, StaleDataError):
            continue  # the picked case changed between the pick and the lock: pick again
    raise CaseChanged("(next case)", None, None)


def _take(db: Database, username: str, flt: CaseFilter) -> str | None:
    with db.unit_of_work() as s:
        user = active_user(s, username)
        require(user.username, user.role, Permission.ASSIGN_SELF)
        require(user.username, user.role, Permission.DECIDE)
        picks = candidates(flt, db.dialect, user.username)
        for query in picks[:2]:  # already theirs: nothing to write
            row = s.execute(query).first()
            if row is not None:
                return row.id
        for query in picks[2:]:
            row = s.execute(query).first()
            if row is not None:
                assign_in(s, row.id, user.username, actor=user.username,
                          expected_version=row.version)
                return row.id
    return None


def page_of_case(db: Database, flt: CaseFilter, case_id: str, *, sort: str, descending: bool,
                 page_size: int) -> int | None:
    """The page of the list (this filter, sort and page size) that shows `case_id`, so the
    case Next case opened can be shown highlighted in its list; None when the list does not
    hold it (an "Unassigned" list, once it is taken). One COUNT of the rows before it."""
    sort_columns(sort, descending)  # a bad sort is InvalidInput
    column = SORT_COLUMNS[sort]
    clauses, _ = filter_clauses(flt, db.dialect)
    with db.read() as s:
        found = s.execute(select(column).select_from(Case)
                          .join(Entity, Entity.id == Case.entity_id)
                          .where(Case.id == case_id, *clauses)).first()
        if found is None:
            return None
        before = s.scalar(select(func.count()).select_from(Case)
                          .join(Entity, Entity.id == Case.entity_id)
                          .where(*clauses, keyset_after(column, found[0], case_id,
                                                        not descending)))
    return int(before or 0) // page_size + 1
