"""The SLA clock (core/cases/sla_clock.py): every status change sets the new status's due time
from the workflow's SLA, and leaving a status after its due time records the breach."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from core.cases import actions as ca
from core.intake.events import upload_document
from core.intake.importer import import_cases
from core.store.models import Case, Document, SlaBreach, utcnow
from core.workflows import admin as wa
from core.workflows.sla import DAY_NAMES
from tests.factories import make_case, version_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _case(db, case_id):
    with db.read() as s:
        return s.get(Case, case_id)


def _set_due(db, case_id, due):
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(due_at=due))


def test_entering_manual_review_sets_the_due_time(db):
    before = utcnow()
    make_case(db, "C-1")
    case = _case(db, "C-1")
    assert case.case_status == "manual_review"
    assert case.due_at == case.status_changed_at + timedelta(hours=24)
    assert case.status_changed_at >= before


def test_a_status_without_an_sla_has_no_due_time(db):
    make_case(db, "C-1", collection_completed=False)
    assert _case(db, "C-1").case_status == "collection_flow" and _case(db, "C-1").due_at is None
    make_case(db, "C-2", workflow="ongoing_monitoring")
    case = _case(db, "C-2")
    assert case.due_at == case.status_changed_at + timedelta(hours=72)


def test_a_decision_clears_the_due_time_and_an_on_time_one_records_no_breach(db):
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))
    assert _case(db, "C-1").due_at is None
    with db.read() as s:
        assert s.scalars(select(SlaBreach)).all() == []


def test_leaving_a_status_late_records_the_breach_with_the_assignee_then(db):
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    due = utcnow() - timedelta(hours=3)
    _set_due(db, "C-1", due)
    ca.reject_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"),
                   reason="late")
    with db.read() as s:
        (breach,) = s.scalars(select(SlaBreach)).all()
    assert (breach.case_id, breach.workflow, breach.case_status, breach.assignee) == (
        "C-1", "onboarding", "manual_review", "reviewer")
    assert breach.due_at == due and breach.left_at >= due
    assert _case(db, "C-1").due_at is None


def test_revisions_then_back_to_manual_review_restarts_the_clock(db):
    make_case(db, "C-1", assignee="reviewer")
    with db.read() as s:
        doc = s.scalar(select(Document.id).where(Document.case_id == "C-1"))
    first_due = _case(db, "C-1").due_at
    v = version_of(db, "C-1")
    ca.ask_to_reupload_block(db, "C-1", f"document:{doc}", actor="reviewer", expected_version=v,
                             reason="Expired document")
    ca.ask_for_reuploads(db, "C-1", actor="reviewer", expected_version=v + 1)
    assert _case(db, "C-1").case_status == "revisions" and _case(db, "C-1").due_at is None
    upload_document(db, "C-1", doc, "new.pdf", PDF)
    case = _case(db, "C-1")
    assert case.case_status == "manual_review"
    assert case.due_at == case.status_changed_at + timedelta(hours=24) and case.due_at > first_due


def test_the_workflows_business_hours_apply_to_new_due_times_only(db):
    make_case(db, "C-1")
    kept = _case(db, "C-1").due_at
    # the business day is two days from today, so the case enters outside it whenever the test
    # runs, and its 2 hours are that day's whole window (a fixed "sat" failed on Saturday 10:04)
    day = (utcnow().weekday() + 2) % 7
    wa.set_sla(db, "onboarding", {"hours": {"manual_review": 2},
                                  "business_hours": {"days": [DAY_NAMES[day]], "start": 10, "end": 12,
                                                     "time_zone": "UTC"}}, actor="admin")
    make_case(db, "C-2")
    assert _case(db, "C-1").due_at == kept  # changed only when it next enters a status
    due = _case(db, "C-2").due_at
    assert due.weekday() == day and due.time() == datetime(2000, 1, 1, 12).time()


def test_an_imported_case_gets_its_due_time(db):
    import_cases(db, {"cases": [{"id": "IMP-1", "workflow": "onboarding",
                                 "entity": {"type": "business", "name": "Acme Ltd",
                                            "country": "HK"},
                                 "collection_completed": True}]})
    case = _case(db, "IMP-1")
    assert case.case_status == "manual_review"
    assert case.due_at == case.status_changed_at + timedelta(hours=24)
