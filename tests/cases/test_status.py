"""The SPEC's tables, row by row, against core.cases.status."""
from __future__ import annotations

import pytest

from core.cases.status import (
    BLOCK_ACTION_STATUSES,
    BlockAction,
    BlockKind,
    BlockStatus,
    CaseAction,
    CaseFacts,
    CaseStatus,
    block_action_availability,
    block_status_of,
    case_action_availability,
    derive_case_status,
)

S = CaseStatus
A = CaseAction

# (facts, expected status): one row per rule of the SPEC's derivation table, plus precedence.
DERIVATION = [
    (CaseFacts(decision="approved"), S.APPROVED),
    (CaseFacts(decision="approved", collection_completed=False, pending_processes=2), S.APPROVED),
    (CaseFacts(decision="rejected", pending_reupload_blocks=1), S.REJECTED),
    (CaseFacts(collection_completed=False), S.COLLECTION_FLOW),
    (CaseFacts(collection_completed=False, pending_reupload_blocks=1, pending_processes=1),
     S.COLLECTION_FLOW),
    (CaseFacts(collection_completed=True, pending_reupload_blocks=1), S.REVISIONS),
    (CaseFacts(collection_completed=True, pending_reupload_blocks=1, pending_processes=1,
               kyc_sent_not_completed=1), S.REVISIONS),
    (CaseFacts(collection_completed=True, pending_processes=1), S.PENDING_PROCESS),
    (CaseFacts(collection_completed=True, pending_processes=1, kyc_sent_not_completed=1),
     S.PENDING_PROCESS),
    (CaseFacts(collection_completed=True, kyc_sent_not_completed=1), S.PENDING_ID_VERIFICATION),
    (CaseFacts(collection_completed=True), S.MANUAL_REVIEW),
    (CaseFacts(collection_completed=True, reupload_needed_blocks=3), S.MANUAL_REVIEW),
]


@pytest.mark.parametrize("facts,expected", DERIVATION)
def test_status_derivation_table(facts, expected):
    assert derive_case_status(facts) is expected


# The SPEC's "case actions per status" table, with N > 0 and no block "Re-upload needed"
# blocking Approve: (status, Approve, Reject, Ask for all re-uploads).
CASE_ACTIONS = [
    (S.COLLECTION_FLOW, False, False, False),
    (S.PENDING_PROCESS, False, True, True),
    (S.PENDING_ID_VERIFICATION, False, True, True),
    (S.MANUAL_REVIEW, True, True, True),
    (S.REVISIONS, False, True, False),
    (S.APPROVED, False, False, False),
    (S.REJECTED, False, False, False),
]


@pytest.mark.parametrize("status,approve,reject,ask", CASE_ACTIONS)
def test_case_actions_per_status(status, approve, reject, ask):
    with_marked = CaseFacts(collection_completed=True, reupload_needed_blocks=1)
    clean = CaseFacts(collection_completed=True)
    assert bool(case_action_availability(status, A.APPROVE, clean)) is approve
    assert bool(case_action_availability(status, A.REJECT, clean)) is reject
    assert bool(case_action_availability(status, A.ASK_FOR_REUPLOADS, with_marked)) is ask


@pytest.mark.parametrize("status", [s for s in S])
def test_refusals_name_the_status(status):
    verdict = case_action_availability(status, A.APPROVE, CaseFacts())
    if status is not S.MANUAL_REVIEW:
        assert not verdict and status.label in verdict.reason


def test_ask_for_all_reuploads_refused_when_n_is_zero():
    verdict = case_action_availability(S.MANUAL_REVIEW, A.ASK_FOR_REUPLOADS,
                                       CaseFacts(collection_completed=True))
    assert not verdict and "none is marked yet" in verdict.reason


def test_approve_refused_while_a_block_needs_reupload():
    verdict = case_action_availability(S.MANUAL_REVIEW, A.APPROVE,
                                       CaseFacts(collection_completed=True, reupload_needed_blocks=2))
    assert not verdict and "Re-upload needed" in verdict.reason


def test_workflow_rule_approve_needs_every_block_approved():
    facts = CaseFacts(collection_completed=True, unapproved_blocks=1)
    assert case_action_availability(S.MANUAL_REVIEW, A.APPROVE, facts)
    verdict = case_action_availability(S.MANUAL_REVIEW, A.APPROVE, facts,
                                       approve_needs_all_blocks_approved=True)
    assert not verdict and "every document" in verdict.reason


# Block actions: (case status, block status, kind, action, allowed)
BLOCK_ACTIONS = [
    *[(cs, BlockStatus.AWAITING_REVIEW, BlockKind.DOCUMENT, BlockAction.APPROVE,
       cs in BLOCK_ACTION_STATUSES) for cs in S],
    *[(cs, BlockStatus.AWAITING_REVIEW, BlockKind.KYC, BlockAction.ASK_TO_REUPLOAD,
       cs in BLOCK_ACTION_STATUSES) for cs in S],
    (S.MANUAL_REVIEW, BlockStatus.PENDING_REUPLOAD, BlockKind.DOCUMENT, BlockAction.APPROVE, False),
    (S.REVISIONS, BlockStatus.PENDING_REUPLOAD, BlockKind.KYC, BlockAction.ASK_TO_REUPLOAD, False),
    (S.MANUAL_REVIEW, BlockStatus.REUPLOAD_NEEDED, BlockKind.DOCUMENT,
     BlockAction.UNDO_REUPLOAD_REQUEST, True),
    (S.MANUAL_REVIEW, BlockStatus.AWAITING_REVIEW, BlockKind.DOCUMENT,
     BlockAction.UNDO_REUPLOAD_REQUEST, False),
    (S.MANUAL_REVIEW, BlockStatus.APPROVED, BlockKind.DOCUMENT, BlockAction.APPROVE, False),
    (S.MANUAL_REVIEW, BlockStatus.APPROVED, BlockKind.DOCUMENT, BlockAction.ASK_TO_REUPLOAD, True),
    (S.MANUAL_REVIEW, BlockStatus.REUPLOAD_NEEDED, BlockKind.DOCUMENT,
     BlockAction.ASK_TO_REUPLOAD, False),
    (S.PENDING_ID_VERIFICATION, BlockStatus.PENDING_ID_VERIFICATION, BlockKind.KYC,
     BlockAction.ASK_TO_REUPLOAD, True),
]


@pytest.mark.parametrize("case_status,block_status,kind,action,allowed", BLOCK_ACTIONS)
def test_block_actions(case_status, block_status, kind, action, allowed):
    assert bool(block_action_availability(case_status, kind, block_status, action)) is allowed


def test_kyc_block_approved_only_once_result_is_in():
    args = (S.MANUAL_REVIEW, BlockKind.KYC, BlockStatus.AWAITING_REVIEW, BlockAction.APPROVE)
    assert not block_action_availability(*args, kyc_result_in=False)
    assert block_action_availability(*args, kyc_result_in=True)


@pytest.mark.parametrize("kind,stored,kyc_state,expected", [
    (BlockKind.DOCUMENT, None, "", BlockStatus.AWAITING_REVIEW),
    (BlockKind.DOCUMENT, "approved", "", BlockStatus.APPROVED),
    (BlockKind.KYC, None, "sent", BlockStatus.PENDING_ID_VERIFICATION),
    (BlockKind.KYC, None, "completed", BlockStatus.AWAITING_REVIEW),
    (BlockKind.KYC, "pending_reupload", "sent", BlockStatus.PENDING_REUPLOAD),
])
def test_block_status_shown(kind, stored, kyc_state, expected):
    assert block_status_of(kind, stored, kyc_state) is expected
