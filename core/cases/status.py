"""The status rules of Docket, as data, in one place.

- `STATUS_RULES`: how a case's status is derived from its facts (first match wins).
- `CASE_ACTIONS_BY_STATUS`: which case actions each status offers.
- `BLOCK_ACTION_STATUSES`: in which case statuses block actions are offered.
- `case_action_availability` / `block_action_availability`: the answers the UI, the CLI and
  the service layer all ask; a refusal carries a sentence naming the status and the rule.

Nothing else in Docket decides these questions.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Sequence


class CaseStatus(StrEnum):
    COLLECTION_FLOW = "collection_flow"
    PENDING_PROCESS = "pending_process"
    PENDING_ID_VERIFICATION = "pending_id_verification"
    MANUAL_REVIEW = "manual_review"
    REVISIONS = "revisions"
    APPROVED = "approved"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return CASE_STATUS_LABELS[self]


CASE_STATUS_LABELS = {
    CaseStatus.COLLECTION_FLOW: "Collection flow",
    CaseStatus.PENDING_PROCESS: "Pending process",
    CaseStatus.PENDING_ID_VERIFICATION: "Pending ID verification",
    CaseStatus.MANUAL_REVIEW: "Manual review",
    CaseStatus.REVISIONS: "Revisions",
    CaseStatus.APPROVED: "Approved",
    CaseStatus.REJECTED: "Rejected",
}

FINAL_STATUSES = frozenset({CaseStatus.APPROVED, CaseStatus.REJECTED})


class CaseAction(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    ASK_FOR_REUPLOADS = "ask_for_reuploads"

    @property
    def label(self) -> str:
        return {"approve": "Approve", "reject": "Reject",
                "ask_for_reuploads": "Ask for all re-uploads"}[self.value]


class BlockStatus(StrEnum):
    """Statuses of Document and KYC blocks. `AWAITING_REVIEW` is the guide's "none"."""
    AWAITING_REVIEW = "awaiting_review"
    APPROVED = "approved"
    REUPLOAD_NEEDED = "reupload_needed"
    PENDING_ID_VERIFICATION = "pending_id_verification"
    PENDING_REUPLOAD = "pending_reupload"

    @property
    def label(self) -> str:
        return {"awaiting_review": "Awaiting review", "approved": "Approved",
                "reupload_needed": "Re-upload needed",
                "pending_id_verification": "Pending ID verification",
                "pending_reupload": "Pending re-upload"}[self.value]


# A block in one of these has been looked at: approved, or sent back to the applicant.
REVIEWED_BLOCK_STATUSES = frozenset({BlockStatus.APPROVED, BlockStatus.REUPLOAD_NEEDED,
                                     BlockStatus.PENDING_REUPLOAD})


class BlockKind(StrEnum):
    DOCUMENT = "document"
    KYC = "kyc"


class BlockAction(StrEnum):
    APPROVE = "approve"
    ASK_TO_REUPLOAD = "ask_to_reupload"
    UNDO_REUPLOAD_REQUEST = "undo_reupload_request"

    @property
    def label(self) -> str:
        return {"approve": "Approve", "ask_to_reupload": "Ask to re-upload",
                "undo_reupload_request": "Undo re-upload request"}[self.value]


@dataclass(frozen=True)
class CaseFacts:
    """What the status depends on, read off the case and its blocks and processes."""
    decision: str | None = None               # None | "approved" | "rejected"
    collection_completed: bool = False
    pending_reupload_blocks: int = 0          # documents or KYC blocks "Pending re-upload"
    pending_processes: int = 0
    kyc_sent_not_completed: int = 0
    reupload_needed_blocks: int = 0           # blocks marked "Re-upload needed"
    unapproved_blocks: int = 0                # document/KYC blocks not yet Approved
    # screening hits (core/screening/), gone ones not counted
    open_hits: int = 0                        # not dispositioned, or "needs information"
    unsigned_true_matches: int = 0            # true matches without a lead's sign-off


@dataclass(frozen=True)
class StatusRule:
    number: int
    description: str
    matches: Callable[[CaseFacts], bool]
    status: CaseStatus


STATUS_RULES: tuple[StatusRule, ...] = (
    StatusRule(1, "decision is approved", lambda f: f.decision == "approved", CaseStatus.APPROVED),
    StatusRule(2, "decision is rejected", lambda f: f.decision == "rejected", CaseStatus.REJECTED),
    StatusRule(3, "the user has not completed the collection flow",
               lambda f: not f.collection_completed, CaseStatus.COLLECTION_FLOW),
    StatusRule(4, 'a document or a KYC block is "Pending re-upload"',
               lambda f: f.pending_reupload_blocks > 0, CaseStatus.REVISIONS),
    StatusRule(5, "a process is pending", lambda f: f.pending_processes > 0,
               CaseStatus.PENDING_PROCESS),
    StatusRule(6, "a UBO's KYC flow was sent and not yet completed",
               lambda f: f.kyc_sent_not_completed > 0, CaseStatus.PENDING_ID_VERIFICATION),
    StatusRule(7, "otherwise", lambda f: True, CaseStatus.MANUAL_REVIEW),
)


def derive_case_status(facts: CaseFacts) -> CaseStatus:
    for rule in STATUS_RULES:
        if rule.matches(facts):
            return rule.status
    raise AssertionError("rule 7 always matches")


CASE_ACTIONS_BY_STATUS: dict[CaseStatus, frozenset[CaseAction]] = {
    CaseStatus.COLLECTION_FLOW: frozenset(),
    CaseStatus.PENDING_PROCESS: frozenset({CaseAction.REJECT, CaseAction.ASK_FOR_REUPLOADS}),
    CaseStatus.PENDING_ID_VERIFICATION: frozenset({CaseAction.REJECT, CaseAction.ASK_FOR_REUPLOADS}),
    CaseStatus.MANUAL_REVIEW: frozenset(
        {CaseAction.APPROVE, CaseAction.REJECT, CaseAction.ASK_FOR_REUPLOADS}),
    CaseStatus.REVISIONS: frozenset({CaseAction.REJECT}),
    CaseStatus.APPROVED: frozenset(),
    CaseStatus.REJECTED: frozenset(),
}

BLOCK_ACTION_STATUSES = frozenset({CaseStatus.PENDING_PROCESS, CaseStatus.PENDING_ID_VERIFICATION,
                                   CaseStatus.MANUAL_REVIEW, CaseStatus.REVISIONS})

# Case statuses in which a reviewer may edit user provided data and document properties.
EDITABLE_STATUSES = BLOCK_ACTION_STATUSES


@dataclass(frozen=True)
class Availability:
    allowed: bool
    reason: str = ""  # why not, naming the status and the rule

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Availability(True)


def case_action_availability(status: CaseStatus, action: CaseAction, facts: CaseFacts,
                             approve_needs_all_blocks_approved: bool = False,
                             unreviewed: Sequence[str] = (),
                             screening_blocks_approval: bool = False) -> Availability:
    """May `action` be taken now? `approve_needs_all_blocks_approved` and
    `screening_blocks_approval` are the workflow's rules; `unreviewed` names the blocks not
    reviewed yet, for the refusal to list them."""
    status = CaseStatus(status)
    if action not in CASE_ACTIONS_BY_STATUS[status]:
        offered = ", ".join(a.label for a in sorted(CASE_ACTIONS_BY_STATUS[status])) or "none"
        return Availability(False, f"{action.label} is not available while the case is "
                                   f"{status.label} (actions in {status.label}: {offered})")
    if action is CaseAction.ASK_FOR_REUPLOADS and facts.reupload_needed_blocks == 0:
        return Availability(False, "Ask for all re-uploads needs at least one block marked "
                                   '"Re-upload needed" (none is marked yet)')
    if action is CaseAction.APPROVE and facts.reupload_needed_blocks > 0:
        n = facts.reupload_needed_blocks
        return Availability(False, f"Approve is refused while {n} "
                                   f"{'block is' if n == 1 else 'blocks are'} "
                                   '"Re-upload needed"')
    if (action is CaseAction.APPROVE and approve_needs_all_blocks_approved
            and facts.unapproved_blocks > 0):
        which = f": {', '.join(unreviewed)}" if unreviewed else ""
        return Availability(False, "Approve needs every document and KYC block reviewed first "
                                   f"({facts.unapproved_blocks} awaiting review{which})")
    if action is CaseAction.APPROVE and screening_blocks_approval:
        if facts.open_hits > 0:
            n = facts.open_hits
            return Availability(False, f"Approve is refused while {n} screening "
                                       f"{'hit is' if n == 1 else 'hits are'} open (not "
                                       "dispositioned, or needing information)")
        if facts.unsigned_true_matches > 0:
            n = facts.unsigned_true_matches
            which = ("hit is a true match that awaits" if n == 1
                     else "hits are true matches that await")
            return Availability(False, f"Approve is refused while {n} screening {which} a "
                                       "lead's sign-off")
    return ALLOWED


# Case statuses in which a screening hit may be dispositioned: where blocks are reviewed.
HIT_ACTION_STATUSES = BLOCK_ACTION_STATUSES


class HitDisposition(StrEnum):
    TRUE_MATCH = "true_match"
    FALSE_POSITIVE = "false_positive"
    NEEDS_INFORMATION = "needs_information"

    @property
    def label(self) -> str:
        return {"true_match": "True match", "false_positive": "False positive",
                "needs_information": "Needs information"}[self.value]


# A disposition that clears a hit (and so sticks across rescreens and cases).
CLEARING_DISPOSITIONS = frozenset({HitDisposition.TRUE_MATCH, HitDisposition.FALSE_POSITIVE})


def hit_action_availability(case_status: CaseStatus, *, gone: bool) -> Availability:
    """May a screening hit be dispositioned (or a true match signed off) now?"""
    case_status = CaseStatus(case_status)
    if case_status not in HIT_ACTION_STATUSES:
        return Availability(False, "screening hits cannot be dispositioned while the case is "
                                   f"{case_status.label}")
    if gone:
        return Availability(False, "the latest screening no longer returns this hit: it "
                                   "blocks nothing and needs no decision")
    return ALLOWED


SECOND_APPROVERS = "another reviewer, a lead or an admin"


def second_approval_availability(first_approver: str, viewer: str) -> Availability:
    """Under the four-eyes rule, with approval 1 of 2 given by `first_approver`: may `viewer`
    (who may decide) give the final one? Anyone but the first approver."""
    if viewer == first_approver:
        return Availability(False, "you gave approval 1 of 2; waiting for a second approver "
                                   f"({SECOND_APPROVERS}) to give the final one")
    return ALLOWED


def block_status_of(kind: BlockKind, stored_status: str | None, kyc_state: str = "") -> BlockStatus:
    """A block's shown status: the stored one, else (KYC) Pending ID verification while sent."""
    if stored_status:
        return BlockStatus(stored_status)
    if kind is BlockKind.KYC and kyc_state == "sent":
        return BlockStatus.PENDING_ID_VERIFICATION
    return BlockStatus.AWAITING_REVIEW


def block_action_availability(case_status: CaseStatus, kind: BlockKind, block_status: BlockStatus,
                              action: BlockAction, kyc_result_in: bool = True) -> Availability:
    case_status = CaseStatus(case_status)
    if case_status not in BLOCK_ACTION_STATUSES:
        return Availability(False, f"block actions are not available while the case is "
                                   f"{case_status.label}")
    if block_status is BlockStatus.PENDING_REUPLOAD:
        return Availability(False, 'block actions are not available on a block that is '
                                   '"Pending re-upload"')
    if action is BlockAction.APPROVE:
        if block_status is BlockStatus.APPROVED:
            return Availability(False, "the block is already approved")
        if kind is BlockKind.KYC and not kyc_result_in:
            return Availability(False, "a KYC block can be approved only once its KYC result is in")
        return ALLOWED
    if action is BlockAction.ASK_TO_REUPLOAD:
        if block_status is BlockStatus.REUPLOAD_NEEDED:
            return Availability(False, 'the block is already marked "Re-upload needed"')
        return ALLOWED
    if action is BlockAction.UNDO_REUPLOAD_REQUEST:
        if kind is not BlockKind.DOCUMENT or block_status is not BlockStatus.REUPLOAD_NEEDED:
            return Availability(False, 'only a document marked "Re-upload needed" can be undone '
                                       "(before the re-upload request is sent)")
        return ALLOWED
    raise AssertionError(action)
