"""Case actions as the key's user: the same commands, rules and checks as the Cases page."""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Actor, Db, acting
from api.problems import PROBLEM_RESPONSES
from core.cases.commands import COMMANDS, perform
from core.cases.read import case_detail
from core.screening.commands import SCREENING_COMMANDS, perform_screening

router = APIRouter(tags=["actions"], responses=PROBLEM_RESPONSES)

ActionName = Literal[tuple([*COMMANDS, *SCREENING_COMMANDS])]  # type: ignore[valid-type]
Disposition = Literal["true_match", "false_positive", "needs_information"]


class ActionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is named, not ignored

    expected_version: int = Field(..., ge=1, description="the case version you acted on; a "
                                  "stale one answers 409 with `current_version`")
    reason: str | None = Field(None, max_length=2000)
    block: str | None = Field(None, max_length=40, description="document:ID or kyc:ID")
    to: str | None = Field(None, max_length=64, description="assign: the new assignee")
    text: str | None = Field(None, max_length=10_000, description="note: its text")
    changes: dict[str, Any] | None = Field(None, description="edit, edit-subject: {field: "
                                           "new value}")
    subject: str | None = Field(None, max_length=40, description="edit-subject: entity or "
                                "ubo:ID (the UBO's KYC block id)")
    tag: str | None = Field(None, max_length=50, description="tag, untag: the tag")
    hit: int | None = Field(None, ge=1, description="disposition-hit, sign-off-hit: the "
                            "screening hit's id")
    disposition: Disposition | None = Field(None, description="disposition-hit: the decision")


class ApprovalState(BaseModel):
    """approve only: the approvals given and needed. Under a workflow's four-eyes rule the
    first approve answers `{"given": 1, "needed": 2, "final": false}` and the case stays in
    manual_review; a different user's approve then decides (`final`: true)."""
    given: int
    needed: int
    final: bool


class ActionResult(BaseModel):
    case_id: str
    action: str
    status: str
    version: int
    reuploads_requested: int | None = None
    approval: ApprovalState | None = None


@router.post("/cases/{case_id}/actions/{action}", response_model=ActionResult,
             summary="Take a case action: " + ", ".join([*COMMANDS, *SCREENING_COMMANDS]))
def post_action(case_id: str, action: ActionName, body: ActionRequest, p: Actor,
                db: Db) -> ActionResult:
    asked = None
    with acting(p):
        if action in SCREENING_COMMANDS:
            perform_screening(db, case_id, action, actor=p.username,
                              expected_version=body.expected_version, hit=body.hit,
                              disposition=body.disposition, reason=body.reason)
        else:
            asked = perform(db, case_id, action, actor=p.username,
                            expected_version=body.expected_version, reason=body.reason,
                            block=body.block, to=body.to, text=body.text,
                            changes=body.changes, tag=body.tag, subject=body.subject)
    after = case_detail(db, case_id, with_timeline=False)
    approval = None
    if action == "approve":
        given = len(after.approvals) or 1
        approval = ApprovalState(given=given, needed=max(given, after.approvals_needed),
                                 final=after.decision == "approved")
    return ActionResult(case_id=case_id, action=action, status=after.status,
                        version=after.version, reuploads_requested=asked, approval=approval)
