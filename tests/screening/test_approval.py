"""Screening hits and Approve (core/cases/status.py, the workflow's
`screening_blocks_approval`): refused while a hit is open or a true match awaits a lead's
sign-off, with the reason the preview and the API show; allowed once decided; not at all
when the workflow's setting is off."""
from __future__ import annotations

import pytest

from core.cases import actions as ca
from core.cases.read import case_detail
from core.cases.status import (
    CaseAction,
    CaseFacts,
    CaseStatus,
    case_action_availability,
)
from core.errors import ActionNotAllowed, InvalidInput
from core.screening.dispositions import disposition_hit, sign_off_true_match
from core.workflows import admin as wa
from core.workflows.definitions import DEFAULT_WORKFLOWS
from tests.factories import row_counts, status_of, version_of
from tests.screening.helpers import ENTRY, screen, ubo_case

OPEN = "Approve is refused while 2 screening hits are open (not dispositioned, or needing " \
       "information)"
UNSIGNED = "Approve is refused while 1 screening hit is a true match that awaits a lead's " \
           "sign-off"


def verdict(facts: CaseFacts, on: bool = True):
    return case_action_availability(CaseStatus.MANUAL_REVIEW, CaseAction.APPROVE, facts,
                                    screening_blocks_approval=on)


def test_the_rule_as_data():
    assert verdict(CaseFacts(open_hits=2)).reason == OPEN
    assert verdict(CaseFacts(open_hits=1)).reason.startswith(
        "Approve is refused while 1 screening hit is open")
    assert verdict(CaseFacts(unsigned_true_matches=1)).reason == UNSIGNED
    assert verdict(CaseFacts(open_hits=2), on=False).allowed
    assert verdict(CaseFacts()).allowed
    reject = case_action_availability(CaseStatus.MANUAL_REVIEW, CaseAction.REJECT,
                                      CaseFacts(open_hits=3), screening_blocks_approval=True)
    assert reject.allowed  # a hit never holds back a rejection


def test_on_for_onboarding_off_for_monitoring_by_default(db):
    assert DEFAULT_WORKFLOWS["onboarding"]["screening_blocks_approval"] is True
    assert wa.get_workflow(db, "onboarding")["screening_blocks_approval"] is True
    assert wa.get_workflow(db, "ongoing_monitoring")["screening_blocks_approval"] is False
    assert wa.new_definition("kyb_eu", "KYB EU")["screening_blocks_approval"] is False


def approve(db, case_id="S-1"):
    return ca.approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))


def test_approve_is_refused_then_allowed_as_hits_are_decided(db):
    case_id, ubo = ubo_case(db)
    first, second = screen(db, case_id, ubo, ENTRY, {**ENTRY, "entry_id": "UN-9"}).new
    approve_option = case_detail(db, case_id, "reviewer").action("approve")
    assert (approve_option.allowed, approve_option.reason) == (False, OPEN)
    before = row_counts(db)
    with pytest.raises(ActionNotAllowed, match="2 screening hits are open"):
        approve(db)
    assert row_counts(db) == before
    disposition_hit(db, first, "false_positive", "different person", actor="reviewer",
                    expected_version=version_of(db, case_id))
    disposition_hit(db, second, "true_match", "the same person", actor="reviewer",
                    expected_version=version_of(db, case_id))
    option = case_detail(db, case_id, "reviewer").action("approve")
    assert (option.allowed, option.reason) == (False, UNSIGNED)
    assert UNSIGNED in case_detail(db, case_id, "reviewer").action_notes
    sign_off_true_match(db, second, actor="lead", expected_version=version_of(db, case_id))
    assert case_detail(db, case_id, "reviewer").action("approve").allowed
    approve(db)
    assert status_of(db, case_id) == "approved"


def test_a_gone_hit_blocks_nothing(db):
    case_id, ubo = ubo_case(db)
    screen(db, case_id, ubo, ENTRY)
    assert not case_detail(db, case_id, "reviewer").action("approve").allowed
    screen(db, case_id, ubo)  # the next screening no longer returns it
    assert case_detail(db, case_id, "reviewer").action("approve").allowed


def test_with_the_setting_off_hits_do_not_hold_approve_back(db):
    definition = wa.get_workflow(db, "onboarding")
    definition["screening_blocks_approval"] = False
    notes = wa.change_notes(db, definition)
    wa.save_workflow(db, definition, actor="admin", create=False)
    assert not any("screening" in n for n in notes)
    case_id, ubo = ubo_case(db)
    screen(db, case_id, ubo, ENTRY)
    assert case_detail(db, case_id, "reviewer").action("approve").allowed
    approve(db)
    assert status_of(db, case_id) == "approved"
    definition["screening_blocks_approval"] = True  # switching it on says what it means
    assert any("screening hit" in n for n in wa.change_notes(db, definition))


def test_the_setting_is_a_boolean_in_the_yaml(db):
    exported = wa.export_yaml(db, ["onboarding"])
    assert "screening_blocks_approval: true" in exported
    with pytest.raises(InvalidInput) as refused:
        wa.parse_yaml(exported.replace("screening_blocks_approval: true",
                                       "screening_blocks_approval: sometimes"))
    assert any("screening_blocks_approval: true or false" in p for p in refused.value.problems)
