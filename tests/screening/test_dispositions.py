"""Decisions on screening hits (core/screening/dispositions.py): who may disposition and sign
off, reasons, the audit trail with before/after, the counter, four-eyes on a true match, and
a lead's bulk disposition reported hit by hit."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.cases import actions as ca
from core.cases.read import case_detail
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound
from core.screening.dispositions import bulk_disposition, disposition_hit, sign_off_true_match
from core.store.models import AuditEvent, Case
from core.workflows import admin as wa
from tests.factories import row_counts, version_of
from tests.screening.helpers import ENTRY, hit, open_hits, screen, ubo_case


def one_hit(db, case_id="S-1", entry=ENTRY, **kwargs) -> int:
    case_id, ubo = ubo_case(db, case_id, **kwargs)
    return screen(db, case_id, ubo, entry).new[0]


def decide(db, hit_id, disposition="false_positive", reason="different person", *,
           actor="reviewer", case_id="S-1"):
    return disposition_hit(db, hit_id, disposition, reason, actor=actor,
                           expected_version=version_of(db, case_id))


def sign(db, hit_id, actor="lead", case_id="S-1"):
    return sign_off_true_match(db, hit_id, actor=actor, expected_version=version_of(db, case_id))


def test_the_assignee_dispositions_a_hit_audited_with_before_and_after(db):
    hit_id = one_hit(db)
    version = version_of(db, "S-1")
    assert decide(db, hit_id, reason="born 1970 in Tehran; ours in Leeds") is True
    decided = hit(db, hit_id)
    assert (decided.disposition, decided.reason, decided.disposed_by) == (
        "false_positive", "born 1970 in Tehran; ours in Leeds", "reviewer")
    assert decided.disposed_at is not None and open_hits(db, "S-1") == 0
    assert version_of(db, "S-1") == version + 1
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "screening.hit_dispositioned")).one()
    assert (event.actor, event.case_id) == ("reviewer", "S-1")
    assert event.before["disposition"] is None
    assert event.after == {"hit": hit_id, "subject": decided.subject_key,
                           "entry_id": "SDN-12345", "dataset": "OFAC SDN",
                           "disposition": "false_positive",
                           "reason": "born 1970 in Tehran; ours in Leeds",
                           "signed_off_by": None}


@pytest.mark.parametrize("disposition, reason, problem", [
    ("true_match", "", "a reason is required for true match"),
    ("false_positive", "   ", "a reason is required for false positive"),
    ("false_positive", "x" * 2001, "a reason is at most 2,000 characters"),
    ("false_positive", "ok\x1b[31m", "a reason cannot contain control characters"),
    ("maybe", "why not", "unknown disposition 'maybe'"),
])
def test_reasons_and_dispositions_are_checked(db, disposition, reason, problem):
    hit_id = one_hit(db)
    before = row_counts(db)
    with pytest.raises(InvalidInput, match=problem):
        decide(db, hit_id, disposition, reason)
    assert row_counts(db) == before


def test_needs_information_takes_no_reason_and_keeps_the_hit_open(db):
    hit_id = one_hit(db)
    assert decide(db, hit_id, "needs_information", None)
    assert hit(db, hit_id).disposition == "needs_information" and open_hits(db, "S-1") == 1
    assert decide(db, hit_id, "false_positive", "line one\nline two")  # breaks are fine
    assert open_hits(db, "S-1") == 0


def test_the_same_decision_again_writes_nothing(db):
    hit_id = one_hit(db)
    decide(db, hit_id)
    before, version = row_counts(db), version_of(db, "S-1")
    assert decide(db, hit_id) is False
    assert row_counts(db) == before and version_of(db, "S-1") == version


def test_who_may_disposition(db):
    hit_id = one_hit(db)
    for actor, refused in (("reviewer2", "only the case's assignee"), ("analyst", "may not")):
        with pytest.raises(NotAllowed, match=refused):
            decide(db, hit_id, actor=actor)
    assert decide(db, hit_id, actor="lead")  # a lead, on a case assigned to someone else
    assert decide(db, hit_id, "needs_information", None, actor="admin")


def test_a_stale_version_or_another_cases_hit_is_refused(db):
    hit_id = one_hit(db)
    before = row_counts(db)
    with pytest.raises(CaseChanged):
        disposition_hit(db, hit_id, "false_positive", "x", actor="reviewer",
                        expected_version=version_of(db, "S-1") - 1)
    with pytest.raises(NotFound, match="not found in case S-2"):
        disposition_hit(db, hit_id, "false_positive", "x", actor="reviewer",
                        expected_version=version_of(db, "S-1"), case_id="S-2")
    with pytest.raises(NotFound):
        decide(db, hit_id + 100)
    assert row_counts(db) == before


def test_a_gone_hit_or_a_case_outside_review_takes_no_decision(db):
    hit_id = one_hit(db)
    screen(db, "S-1", hit(db, hit_id).subject_key)  # the next screening found nothing
    with pytest.raises(ActionNotAllowed, match="no longer returns this hit"):
        decide(db, hit_id)
    other = one_hit(db, "S-2", collection_completed=False)
    with pytest.raises(ActionNotAllowed, match="while the case is Collection flow"):
        decide(db, other, case_id="S-2")


def test_a_lead_other_than_the_one_who_decided_signs_off_a_true_match(db):
    hit_id = one_hit(db)
    decide(db, hit_id, "true_match", "passport number matches", actor="lead")
    assert open_hits(db, "S-1") == 1  # a true match waits for its sign-off
    with pytest.raises(NotAllowed, match="may not sign off hits"):
        sign(db, hit_id, actor="reviewer")
    with pytest.raises(NotAllowed, match="another lead or an admin signs it off"):
        sign(db, hit_id, actor="lead")
    assert sign(db, hit_id, actor="admin") is True
    signed = hit(db, hit_id)
    assert (signed.signed_off_by, open_hits(db, "S-1")) == ("admin", 0)
    assert sign(db, hit_id, actor="admin") is False  # signed already: nothing written
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "screening.hit_signed_off")).one()
    assert (event.before["signed_off_by"], event.after["signed_off_by"]) == (None, "admin")


def test_only_a_true_match_is_signed_off_and_a_new_decision_drops_the_sign_off(db):
    hit_id = one_hit(db)
    with pytest.raises(ActionNotAllowed, match="only a true match is signed off"):
        sign(db, hit_id)
    decide(db, hit_id, "true_match", "passport number matches")
    sign(db, hit_id)
    decide(db, hit_id, "true_match", "passport number and address match")
    assert hit(db, hit_id).signed_off_by is None and open_hits(db, "S-1") == 1


def test_a_true_match_can_ask_for_a_second_approver(db):
    definition = wa.get_workflow(db, "onboarding")
    definition["four_eyes"] = {"true_match": True}
    wa.save_workflow(db, definition, actor="admin", create=False)
    hit_id = one_hit(db)
    decide(db, hit_id, "false_positive", "different person")
    step = ca.approve_case(db, "S-1", actor="reviewer", expected_version=version_of(db, "S-1"))
    assert step.final  # no true match: one approver
    hit_two = one_hit(db, "S-2", {**ENTRY, "entry_id": "SDN-2", "name": "Owner Nought"})
    decide(db, hit_two, "true_match", "the same person; the risk is accepted", case_id="S-2")
    sign(db, hit_two, case_id="S-2")
    detail = case_detail(db, "S-2", "reviewer")
    assert (detail.approvals_needed, detail.four_eyes_rule) == (
        2, "a screening hit is a true match")
    step = ca.approve_case(db, "S-2", actor="reviewer", expected_version=version_of(db, "S-2"))
    assert (step.step, step.of, step.final) == (1, 2, False)


def test_a_decision_on_a_hit_withdraws_a_waiting_first_approval(db):
    definition = wa.get_workflow(db, "onboarding")
    definition["four_eyes"] = {"countries": ["HK"]}
    wa.save_workflow(db, definition, actor="admin", create=False)
    hit_id = one_hit(db)
    decide(db, hit_id, "false_positive", "different person")
    ca.approve_case(db, "S-1", actor="reviewer", expected_version=version_of(db, "S-1"))
    assert case_detail(db, "S-1", "reviewer").awaiting_second_approver == "reviewer"
    decide(db, hit_id, "false_positive", "different person: other birth date")
    assert case_detail(db, "S-1", "reviewer").awaiting_second_approver is None


def test_bulk_disposition_is_a_leads_and_reports_each_hit(db):
    first = one_hit(db, "S-1")
    case_id, ubo = ubo_case(db, "S-2", assignee="reviewer2")
    two = screen(db, case_id, ubo, {**ENTRY, "entry_id": "A", "name": "Someone"},
                 {**ENTRY, "entry_id": "B", "name": "Someone else"}).new
    screen(db, case_id, ubo, {**ENTRY, "entry_id": "A", "name": "Someone"})  # B is gone
    decide(db, first, actor="reviewer")  # already false positive with this reason
    with pytest.raises(NotAllowed, match="a lead or an admin may"):
        bulk_disposition(db, [two[0]], "false_positive", "x", actor="reviewer")
    with pytest.raises(InvalidInput, match="a reason is required"):
        bulk_disposition(db, [two[0]], "false_positive", "", actor="lead")
    with pytest.raises(InvalidInput, match="at least one hit"):
        bulk_disposition(db, [], "false_positive", "x", actor="lead")
    progress = []
    result = bulk_disposition(db, [first, two[0], two[1], 999_999, two[0]], "false_positive",
                              "different person", actor="lead",
                              on_progress=lambda n, total: progress.append((n, total)))
    assert result.done == [two[0]] and result.unchanged == [first]
    assert [h for h, _ in result.refused] == [two[1], 999_999]
    assert "no longer returns this hit" in result.refused[0][1]
    assert result.summary() == "1 dispositioned, 1 unchanged, 2 refused"
    assert progress[-1] == (4, 4)
    assert hit(db, two[0]).disposed_by == "lead" and open_hits(db, "S-2") == 0


def test_the_open_hits_counter_is_the_cases_open_hits(db):
    hit_id = one_hit(db)
    screen(db, "S-1", "entity", {**ENTRY, "entry_id": "E-1", "name": "Acme Trading Ltd"})
    assert open_hits(db, "S-1") == 2
    decide(db, hit_id, "true_match", "the same person")
    assert open_hits(db, "S-1") == 2  # awaiting sign-off still needs work
    sign(db, hit_id)
    assert open_hits(db, "S-1") == 1
    with db.read() as s:
        assert s.scalar(select(Case.open_hits).where(Case.id == "S-1")) == 1
    with db.unit_of_work() as s:  # a hit gone by the next screening leaves the count
        s.execute(update(Case).where(Case.id == "S-1").values(open_hits=1))
    screen(db, "S-1", "entity")
    assert open_hits(db, "S-1") == 0
