"""A restricted case (an erasure request pending: core/cases/retention_state.py) is left out
of the Overview's figures and the overdue counters, as the case list leaves it out: cases by
status and view, Manual review ageing, decisions per day, throughput, approval rate, overdue
now and per view agree with what the list can show."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from core.cases.actions import approve_case, reject_case
from core.records.retention import request_erasure
from core.store.models import utcnow
from core.worklist import overview
from core.worklist.breaches import breaches_per_day, breaches_per_reviewer
from core.worklist.overdue import count_overdue, overdue_counts_by_view, real_overdue_count
from core.worklist.query import CaseFilter, count_cases, counts_by_status, list_cases
from core.worklist.views import ensure_default_views, list_views
from tests.factories import make_case, status_of, version_of


@pytest.fixture
def cases(db):
    """Manual review: M-1, M-2 (restricted), both 30 h past due; decided: A-1 approved,
    R-1 rejected, A-2 approved then restricted."""
    with db.unit_of_work() as s:
        ensure_default_views(s)
    for case_id in ("M-1", "M-2", "A-1", "R-1", "A-2"):
        make_case(db, case_id, assignee="reviewer", reviewed=True,
                  country="HK" if case_id != "R-1" else "SG")
        assert status_of(db, case_id) == "manual_review"
    for case_id in ("A-1", "A-2"):
        approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))
    reject_case(db, "R-1", actor="reviewer", expected_version=version_of(db, "R-1"),
                reason="risk")
    with db.unit_of_work() as s:  # due 30 h ago: in the counters' past hours, not this one
        s.execute(text("UPDATE cases SET due_at = :due, status_changed_at = :entered "
                       "WHERE id IN ('M-1', 'M-2')"),
                  {"due": utcnow() - timedelta(hours=30),
                   "entered": utcnow() - timedelta(days=2)})
    for case_id in ("M-2", "A-2"):
        request_erasure(db, case_id, actor="admin", reason="the subject's letter")
    return db


def test_cases_by_status_and_view_are_the_lists(cases):
    db = cases
    counts = overview.status_counts(db)
    assert counts["manual_review"] == 1 and counts["approved"] == 1 and counts["rejected"] == 1
    assert counts == counts_by_status(db, CaseFilter())
    assert sum(counts.values()) == list_cases(db, CaseFilter()).total == 3
    assert overview.open_cases(counts) == 1
    for v in overview.view_counts(db):
        view = next(i for i in list_views(db) if i.id == v.view_id)
        assert v.cases == count_cases(db, CaseFilter(view=view)) == len(
            list_cases(db, CaseFilter(view=view)).rows), v.name


def test_ageing_and_decisions_leave_restricted_cases_out(cases):
    db = cases
    ageing = overview.manual_review_ageing(db)
    assert sum(ageing.values()) == 1 and ageing["1-3d"] == 1  # M-1 only
    per_day = overview.decisions_per_day(db, 7)
    assert {d.action: d.count for d in per_day if d.count} == {"approve": 1, "reject": 1}
    assert [(r.actor, r.approved, r.rejected) for r in overview.reviewer_throughput(db, 7)] == [
        ("reviewer", 1, 1)]
    rate = overview.approval_rate(db, 7)
    assert (rate.approved, rate.rejected, rate.rate) == (1, 1, 0.5)


def test_overdue_counts_leave_restricted_cases_out(cases):
    db = cases
    now = utcnow()
    assert count_overdue(db, now=now) == real_overdue_count(db, now=now) == 1  # M-1
    assert count_overdue(db, CaseFilter(assignee="someone"), now=now) == 1
    assert count_overdue(db, CaseFilter(statuses=("manual_review",), open_hits="none"),
                         now=now) == 1
    views = list_views(db)
    by_view = overdue_counts_by_view(db, views, now=now)
    for v in views:
        expected = real_overdue_count(db, CaseFilter(view=v), now=now)
        assert by_view[v.id] == expected, v.name
    assert by_view[views[0].id] == 1  # All cases
    # the admins' Retention page asks for restricted cases too: then they count
    assert count_overdue(db, CaseFilter(show_restricted=True), now=now) == 2 == \
        real_overdue_count(db, CaseFilter(show_restricted=True), now=now)


def test_sla_breaches_leave_restricted_cases_out(cases):
    db = cases
    with db.unit_of_work() as s:  # a late breach of each Manual review case, as if it left late
        for case_id in ("M-1", "M-2"):
            s.execute(text("INSERT INTO sla_breaches (case_id, workflow, case_status, assignee, "
                           "due_at, left_at) VALUES (:id, 'onboarding', 'manual_review', "
                           "'reviewer', :due, :left)"),
                      {"id": case_id, "due": utcnow() - timedelta(hours=40),
                       "left": utcnow() - timedelta(hours=35)})
    days = breaches_per_day(db, 7)
    assert (sum(d.open for d in days), sum(d.late for d in days)) == (1, 1)  # M-1's
    assert [(r.assignee, r.open, r.late) for r in breaches_per_reviewer(db, 7)] == [
        ("reviewer", 1, 1)]


def test_the_workload_leaves_restricted_cases_out(cases):
    """The team lead's Workload page: M-2 (restricted) is in nobody's open cases or overdue
    count, and is not offered for reassignment with its name."""
    from core.worklist.workload import cases_of, workload
    rows = {r.username: r for r in workload(cases, actor="lead")}
    assert rows["reviewer"].by_status == {"manual_review": 1}
    assert rows["reviewer"].overdue == 1
    assert [c.id for c in cases_of(cases, "reviewer", actor="lead")] == ["M-1"]
    assert [c.id for c in cases_of(cases, "reviewer", actor="admin")] == ["M-1"]
