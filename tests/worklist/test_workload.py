"""The team lead: role, permissions, and the Workload page's numbers (issue #10.4)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.access.roles import Permission, Role, can
from core.cases import actions as ca
from core.errors import NotAllowed
from core.store.models import Case, utcnow
from core.worklist.digest import lead_usernames
from core.worklist.workload import cases_of, workload
from tests.factories import make_case, version_of


def test_a_lead_sits_between_reviewer_and_admin():
    lead = {p for p in Permission if can(Role.LEAD, p)}
    reviewer = {p for p in Permission if can(Role.REVIEWER, p)}
    admin = {p for p in Permission if can(Role.ADMIN, p)}
    assert reviewer < lead < admin
    assert lead - reviewer == {Permission.REASSIGN, Permission.VIEW_WORKLOAD,
                               Permission.SIGN_OFF_HITS, Permission.READ_ACCESS_LOG,
                               Permission.EXPORT_CASE_FILE}
    assert not can(Role.REVIEWER, Permission.VIEW_WORKLOAD)
    assert not can(Role.LEAD, Permission.MANAGE_USERS)


def test_a_lead_reassigns_but_a_reviewer_does_not(db):
    make_case(db, assignee="reviewer")
    ca.assign_case(db, "C-1", "reviewer2", actor="lead", expected_version=version_of(db, "C-1"))
    with pytest.raises(NotAllowed, match="only an admin|themself"):
        ca.assign_case(db, "C-1", "reviewer", actor="reviewer",
                       expected_version=version_of(db, "C-1"))


def test_leads_get_the_teams_digest(db):
    with db.read() as s:
        assert {"lead", "admin"} <= set(lead_usernames(s))


def test_workload_counts_per_reviewer_by_status_and_overdue(db):
    make_case(db, "C-1", assignee="reviewer")
    make_case(db, "C-2", assignee="reviewer")
    make_case(db, "C-3", assignee="reviewer", processes=("pending",))
    make_case(db, "C-4", assignee="reviewer2")
    make_case(db, "C-5")
    make_case(db, "C-6", assignee="reviewer", reviewed=True)
    ca.approve_case(db, "C-6", actor="reviewer", expected_version=version_of(db, "C-6"))
    with db.unit_of_work() as s:  # C-1 and C-5 are past their due time
        s.execute(update(Case).where(Case.id.in_(["C-1", "C-5"]))
                  .values(due_at=utcnow() - timedelta(hours=3)))
    rows = {r.username: r for r in workload(db, actor="lead")}
    assert rows["reviewer"].by_status == {"manual_review": 2, "pending_process": 1}
    assert (rows["reviewer"].open, rows["reviewer"].overdue) == (3, 1)  # approved: not open
    assert (rows["reviewer2"].open, rows["reviewer2"].overdue) == (1, 0)
    assert (rows[None].name, rows[None].open, rows[None].overdue) == ("Unassigned", 1, 1)
    assert rows["admin"].open == 0 and "analyst" not in rows  # analysts hold no cases
    assert list(rows)[0] == "reviewer" and list(rows)[-1] is None  # busiest first
    assert [c.id for c in cases_of(db, "reviewer", actor="lead")][0] == "C-1"  # overdue first
    assert [c.id for c in cases_of(db, None, actor="admin")] == ["C-5"]


@pytest.mark.parametrize("who", ["reviewer", "analyst"])
def test_only_leads_and_admins_read_the_workload(db, who):
    with pytest.raises(NotAllowed, match="view workload"):
        workload(db, actor=who)
    with pytest.raises(NotAllowed):
        cases_of(db, "reviewer", actor=who)
