"""Overview figures (core/worklist/overview.py) on a small known data set: cases built with the
ORM and `refresh_status`, decisions taken through the service layer then dated by hand."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from core.cases import actions as ca
from core.cases.state import refresh_status
from core.errors import InvalidInput
from core.store.models import Case, Decision, Document, Entity, utcnow
from core.worklist import overview as stats
from core.worklist.views import ensure_default_views

NOW = datetime(2025, 3, 10, 15, 30, 0)
TODAY = NOW.date()


def make_case(db, case_id: str, *, collected: bool = True, country: str = "HK",
              kind: str = "business", workflow: str = "onboarding",
              in_status_since: datetime | None = None, reupload_needed: bool = False) -> str:
    with db.unit_of_work() as s:
        entity = Entity(kind=kind, name=f"Entity {case_id}", country=country)
        s.add(entity)
        s.flush()
        case = Case(id=case_id, workflow=workflow, entity_id=entity.id,
                    case_status="collection_flow", collection_completed=collected, version=1)
        s.add(case)
        if reupload_needed:
            case.documents.append(Document(document_type="passport",
                                           block_status="reupload_needed"))
        refresh_status(s, case, "system")
        if in_status_since is not None:
            case.status_changed_at = in_status_since
    return case_id


def version(db, case_id: str) -> int:
    with db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def decide(db, case_id: str, action: str, actor: str, at: datetime) -> None:
    """Take `action` through the service layer as `actor`, then date the decision `at`."""
    ca.assign_case(db, case_id, actor, actor=actor, expected_version=version(db, case_id))
    v = version(db, case_id)
    if action == "approve":
        ca.approve_case(db, case_id, actor=actor, expected_version=v)
    elif action == "reject":
        ca.reject_case(db, case_id, actor=actor, expected_version=v, reason="fake documents")
    else:
        ca.ask_for_reuploads(db, case_id, actor=actor, expected_version=v)
    with db.unit_of_work() as s:
        s.execute(update(Decision).where(Decision.case_id == case_id).values(at=at))


@pytest.fixture
def dataset(db):
    """Statuses: 2 collection flow, 8 manual review (ageing), 4 approved, 2 rejected,
    1 revisions. Decisions (reviewer: 3 approve, 1 reject, 1 ask; reviewer2: 1 approve,
    1 reject), on days today, today-1, today-3 and today-10."""
    make_case(db, "CF-1", collected=False)
    make_case(db, "CF-2", collected=False, workflow="ongoing_monitoring")
    for case_id, age in [("MR-a", timedelta(minutes=30)), ("MR-b", timedelta(days=1)),
                         ("MR-c", timedelta(days=2, hours=23)), ("MR-d", timedelta(days=3)),
                         ("MR-e", timedelta(days=10)), ("MR-f", timedelta(days=20)),
                         ("MR-g", timedelta(days=30)), ("MR-h", timedelta(days=45))]:
        make_case(db, case_id, in_status_since=NOW - age, country="CN")
    plan = [("D-1", "approve", "reviewer", NOW - timedelta(hours=1)),
            ("D-2", "approve", "reviewer", datetime.combine(TODAY, datetime.min.time())),
            ("D-3", "reject", "reviewer", NOW - timedelta(days=1)),
            ("D-4", "approve", "reviewer2", NOW - timedelta(days=3)),
            ("D-5", "reject", "reviewer2", NOW - timedelta(days=3, hours=2)),
            ("D-6", "approve", "reviewer", NOW - timedelta(days=10))]
    for case_id, action, actor, at in plan:
        make_case(db, case_id, workflow="ongoing_monitoring")
        decide(db, case_id, action, actor, at)
    make_case(db, "RV-1", reupload_needed=True)
    decide(db, "RV-1", "ask_for_reuploads", "reviewer", NOW - timedelta(days=1, hours=1))
    return db


def test_status_counts_and_open_cases(dataset):
    counts = stats.status_counts(dataset)
    assert counts == {"collection_flow": 2, "pending_process": 0, "pending_id_verification": 0,
                      "manual_review": 8, "revisions": 1, "approved": 4, "rejected": 2}
    assert stats.open_cases(counts) == 11


def test_view_counts(dataset):
    with dataset.unit_of_work() as s:
        ensure_default_views(s)
    got = {v.name: v.cases for v in stats.view_counts(dataset)}
    assert got == {"All cases": 17, "Onboarding": 10, "Ongoing monitoring": 7,
                   "Hong Kong companies": 9, "China companies": 8}


def test_manual_review_ageing_buckets_and_boundaries(dataset):
    # a bucket includes its lower bound: exactly 1 day is "1-3d", exactly 30 days ">30d"
    assert stats.manual_review_ageing(dataset, now=NOW) == {
        "<1d": 1, "1-3d": 2, "3-7d": 1, "7-14d": 1, "14-30d": 1, ">30d": 2}


def test_manual_review_ageing_empty(db):
    assert stats.manual_review_ageing(db, now=NOW) == {
        label: 0 for label, _, _ in stats.AGEING_BUCKETS}


def test_decisions_per_day_last_7_days(dataset):
    rows = stats.decisions_per_day(dataset, 7, now=NOW)
    assert len(rows) == 7 * 3  # every day and every action, zeros included
    assert rows[0].day == TODAY - timedelta(days=6) and rows[-1].day == TODAY
    got = {(r.day, r.action): r.count for r in rows if r.count}
    assert got == {(TODAY, "approve"): 2,
                   (TODAY - timedelta(days=1), "reject"): 1,
                   (TODAY - timedelta(days=1), "ask_for_reuploads"): 1,
                   (TODAY - timedelta(days=3), "approve"): 1,
                   (TODAY - timedelta(days=3), "reject"): 1}
    assert all(isinstance(r.day, date) and not isinstance(r.day, datetime) for r in rows)


def test_decisions_per_day_longer_period_includes_older(dataset):
    rows = stats.decisions_per_day(dataset, 30, now=NOW)
    assert len(rows) == 30 * 3
    assert sum(r.count for r in rows) == 7
    assert {(r.day, r.action) for r in rows if r.count} >= {
        (TODAY - timedelta(days=10), "approve")}


def test_reviewer_throughput(dataset):
    got = stats.reviewer_throughput(dataset, 7, now=NOW)
    assert [(r.actor, r.approved, r.rejected, r.asked_reuploads, r.total) for r in got] == [
        ("reviewer", 2, 1, 1, 4), ("reviewer2", 1, 1, 0, 2)]
    got = stats.reviewer_throughput(dataset, 30, now=NOW)
    assert [(r.actor, r.total) for r in got] == [("reviewer", 5), ("reviewer2", 2)]


def test_approval_rate(dataset):
    week = stats.approval_rate(dataset, 7, now=NOW)
    assert (week.approved, week.rejected) == (3, 2)
    assert week.rate == pytest.approx(0.6)
    month = stats.approval_rate(dataset, 30, now=NOW)
    assert (month.approved, month.rejected, month.rate) == (4, 2, pytest.approx(4 / 6))
    today_only = stats.approval_rate(dataset, 1, now=NOW)
    assert (today_only.approved, today_only.rejected) == (2, 0)


def test_no_decisions(db):
    assert stats.approval_rate(db, 30).rate is None
    assert stats.reviewer_throughput(db, 30) == []
    assert sum(r.count for r in stats.decisions_per_day(db, 7)) == 0


def test_default_now_counts_a_decision_taken_now(db):
    make_case(db, "N-1")
    decide(db, "N-1", "approve", "reviewer", utcnow())
    assert stats.approval_rate(db, 7).approved == 1
    today = [r for r in stats.decisions_per_day(db, 7) if r.day == utcnow().date()]
    assert {r.action: r.count for r in today}["approve"] == 1


@pytest.mark.parametrize("days", [0, -1, 367, True, 7.5])
def test_bad_period_is_refused(db, days):
    with pytest.raises(InvalidInput):
        stats.decisions_per_day(db, days)


def test_each_figure_is_one_query(dataset):
    """Aggregates are computed by the database: one statement per figure, whatever the data."""
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(dataset.read_engine, "before_cursor_execute", listener)
    try:
        for figure in (lambda: stats.manual_review_ageing(dataset, now=NOW),
                       lambda: stats.decisions_per_day(dataset, 30, now=NOW),
                       lambda: stats.reviewer_throughput(dataset, 30, now=NOW),
                       lambda: stats.approval_rate(dataset, 30, now=NOW)):
            statements.clear()
            figure()
            selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
            assert len(selects) == 1, selects
            assert "GROUP BY" in selects[0].upper() or "SUM(" in selects[0].upper()
    finally:
        event.remove(dataset.read_engine, "before_cursor_execute", listener)
