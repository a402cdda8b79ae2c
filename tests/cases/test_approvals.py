"""Four-eyes approval (issue #10.3): approval 1 of 2, a different second approver, Reject by
either final, notifications only on the final decision, and a first approval withdrawn when
the case changes after it."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.cases import actions as ca
from core.cases.history import WRITERS, describe
from core.cases.read import case_detail
from core.errors import ActionNotAllowed, NotAllowed
from core.intake.events import report_event
from core.store.models import AuditEvent, Case, CaseApproval, Decision, OutboxMessage
from core.workflows import admin as wa
from tests.factories import make_case, row_counts, status_of, version_of

RULE = {"risk_score_at_least": 70, "countries": ["IR"], "entity_types": []}


def four_eyes(db, rule=RULE, workflow="onboarding"):
    definition = wa.get_workflow(db, workflow)
    definition["four_eyes"] = rule
    wa.save_workflow(db, definition, actor="admin", create=False)


def risky_case(db, case_id="C-1", *, risk=85, assignee="reviewer", **kwargs):
    make_case(db, case_id, reviewed=True, assignee=assignee, **kwargs)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(risk_score=risk))
    return case_id


def approve(db, actor, case_id="C-1", reason=None):
    return ca.approve_case(db, case_id, actor=actor, expected_version=version_of(db, case_id),
                           reason=reason)


def outbox_rows(db, case_id="C-1"):
    with db.read() as s:
        return s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()


def kinds(db, case_id="C-1"):
    with db.read() as s:
        return [e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id)
                                          .order_by(AuditEvent.id))]


@pytest.fixture
def lead(db):
    """The demo team lead (conftest's `db` has the demo users)."""
    return "lead"


def test_first_approve_records_approval_1_of_2_and_decides_nothing(db):
    four_eyes(db)
    risky_case(db)
    v = version_of(db, "C-1")
    step = approve(db, "reviewer", reason="documents in order")
    assert (step.step, step.of, step.final) == (1, 2, False)
    assert status_of(db, "C-1") == "manual_review"
    assert version_of(db, "C-1") == v + 1
    assert outbox_rows(db) == []  # no webhook, no email
    with db.read() as s:
        assert s.scalars(select(Decision)).all() == []
        row = s.scalars(select(CaseApproval)).one()
        assert (row.step, row.approver, row.reason) == (1, "reviewer", "documents in order")
        assert row.rule == "risk score 85 is at least 70"
        case = s.get(Case, "C-1")
        assert case.decision is None and case.decided_by is None
    assert kinds(db)[-1] == "case.approval_given"
    d = case_detail(db, "C-1", "reviewer")
    assert d.approvals_needed == 2 and d.awaiting_second_approver == "reviewer"
    assert [(a["step"], a["of"], a["approver"]) for a in d.approvals] == [(1, 2, "reviewer")]
    approve_option = d.action("approve")
    assert not approve_option.allowed and "you gave approval 1 of 2" in approve_option.reason
    assert "waiting for a second approver" in approve_option.reason
    assert d.action("reject").allowed


def test_the_same_person_cannot_approve_twice(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    before = row_counts(db)
    with pytest.raises(ActionNotAllowed, match="you gave approval 1 of 2"):
        approve(db, "reviewer")
    assert row_counts(db) == before


@pytest.mark.parametrize("second", ["reviewer2", "lead", "admin"])
def test_a_different_person_gives_the_final_approval_without_being_assigned(db, lead, second):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    assert outbox_rows(db) == []
    d = case_detail(db, "C-1", second)
    assert d.next_approval == 2 and d.action("approve").allowed and d.action("reject").allowed
    assert not d.action("ask_for_reuploads").allowed  # the assignee's
    step = approve(db, second, reason="second look: fine")
    assert (step.step, step.of, step.final) == (2, 2, True)
    assert status_of(db, "C-1") == "approved"
    rows = outbox_rows(db)
    assert {r.channel for r in rows} == {"webhook", "email"}  # once, on the final decision
    payload = rows[0].payload
    assert payload["type"] == "case.approved"
    assert [(a["step"], a["approver"]) for a in payload["data"]["approvals"]] == [
        (1, "reviewer"), (2, second)]
    with db.read() as s:
        assert s.scalars(select(Decision)).one().actor == second
        assert s.get(Case, "C-1").decided_by == second
    done = case_detail(db, "C-1", "reviewer")
    assert [a["approver"] for a in done.approvals] == ["reviewer", second]
    assert done.awaiting_second_approver is None
    event = next(e for e in done.timeline if e["kind"] == "case.approved")
    assert "approval 2 of 2; approval 1 by reviewer" in describe(event)


def test_an_analyst_cannot_be_the_second_approver(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    with pytest.raises(NotAllowed, match="analyst"):
        approve(db, "analyst")
    d = case_detail(db, "C-1", "analyst")
    assert not d.action("approve").allowed and d.action_notes == [
        "Read-only: analysts can view cases but not act on them"]


def test_only_the_assignee_gives_the_first_approval(db):
    four_eyes(db)
    risky_case(db)
    with pytest.raises(NotAllowed, match="assignee"):
        approve(db, "reviewer2")


@pytest.mark.parametrize("rejecter", ["reviewer", "reviewer2"])
def test_a_reject_by_either_is_final_and_withdraws_the_first_approval(db, rejecter):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    ca.reject_case(db, "C-1", actor=rejecter, expected_version=version_of(db, "C-1"),
                   reason="sanctions hit")
    assert status_of(db, "C-1") == "rejected"
    assert [r.event_type for r in outbox_rows(db)] == ["case.rejected"] * 2
    with db.read() as s:
        row = s.scalars(select(CaseApproval)).one()
        assert row.withdrawn_at is not None and rejecter in row.withdrawn_because
    assert "case.approval_withdrawn" in kinds(db)
    assert case_detail(db, "C-1", "reviewer").approvals == []


def test_a_case_no_condition_matches_is_approved_by_one(db):
    four_eyes(db)
    risky_case(db, risk=10, country="GB")
    step = approve(db, "reviewer")
    assert step.final and (step.step, step.of) == (1, 1)
    assert status_of(db, "C-1") == "approved"
    assert case_detail(db, "C-1", "reviewer").approvals == []


@pytest.mark.parametrize("rule,case_kwargs,why", [
    ({"countries": ["IR", "RU"]}, {"country": "IR", "risk": None}, "country IR"),
    ({"entity_types": ["person"]}, {"kind": "person", "risk": None}, "entity type person"),
    ({"risk_score_at_least": 70}, {"risk": 70}, "risk score 70 is at least 70"),
])
def test_each_condition_alone_asks_for_two(db, rule, case_kwargs, why):
    four_eyes(db, rule)
    risky_case(db, **case_kwargs)
    assert approve(db, "reviewer").step == 1
    assert why in case_detail(db, "C-1", "reviewer").four_eyes_rule


def test_a_change_to_the_case_after_approval_1_withdraws_it(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    ca.edit_user_data(db, "C-1", {"industry": "arms"}, actor="reviewer",
                      expected_version=version_of(db, "C-1"))
    assert kinds(db)[-1] == "case.approval_withdrawn"
    d = case_detail(db, "C-1", "reviewer2")
    assert d.awaiting_second_approver is None and d.approvals == []
    assert not d.action("approve").allowed  # back to the assignee's first approval
    assert approve(db, "reviewer").step == 1  # approval 1 of 2 again


def test_a_block_sent_back_withdraws_approval_1_and_undo_does_not_restore_it(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    ref = case_detail(db, "C-1", "reviewer").documents[0].ref
    ca.ask_to_reupload_block(db, "C-1", ref, actor="reviewer", reason="Expired document",
                             expected_version=version_of(db, "C-1"))
    assert "case.approval_withdrawn" in kinds(db)
    ca.undo_reupload_request(db, "C-1", ref, actor="reviewer",
                             expected_version=version_of(db, "C-1"))
    assert case_detail(db, "C-1", "reviewer").awaiting_second_approver is None


def test_an_outside_event_after_approval_1_withdraws_it(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    report_event(db, "C-1", "process_started", reporter="admin", name="sanctions_rescreen")
    assert "case.approval_withdrawn" in kinds(db)
    assert case_detail(db, "C-1", "reviewer").awaiting_second_approver is None


def test_notes_and_reassignment_keep_approval_1(db, lead):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    ca.add_note(db, "C-1", "asked a colleague", actor="reviewer2",
                expected_version=version_of(db, "C-1"))
    ca.assign_case(db, "C-1", "reviewer2", actor="lead", expected_version=version_of(db, "C-1"))
    assert "case.approval_withdrawn" not in kinds(db)
    d = case_detail(db, "C-1", "reviewer2")
    assert d.awaiting_second_approver == "reviewer" and d.action("approve").allowed


def test_switching_the_rule_off_lets_the_next_approve_decide(db):
    four_eyes(db)
    risky_case(db)
    approve(db, "reviewer")
    four_eyes(db, None)
    step = approve(db, "reviewer")
    assert step.final and status_of(db, "C-1") == "approved"
    assert "case.approval_withdrawn" in kinds(db)


def test_the_new_audit_kinds_have_sentences():
    assert {"case.approval_given", "case.approval_withdrawn"} <= set(WRITERS)
    sentence = describe({"kind": "case.approval_given", "actor": "rui", "before": None,
                         "after": {"step": 1, "of": 2, "rule": "country IR is on the list",
                                   "reason": "ok"}})
    assert sentence.startswith("rui gave approval 1 of 2; waiting for a second approver")
