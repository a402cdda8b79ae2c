"""The reviewer's commands by name, with their parameters: one dispatcher for every
entrypoint that names an action in text (`python -m core act`, `POST /cases/{id}/actions/...`),
so the mapping from a name to a service function is written once."""
from __future__ import annotations

from typing import Any

from core.cases import actions as ca
from core.cases.subjects import edit_subject
from core.cases.tags import add_tag, remove_tag
from core.errors import InvalidInput

COMMANDS = {  # name -> what it does (the CLI's help adds its own option names)
    "approve": "approve the case (reason optional)",
    "reject": "reject the case (reason required)",
    "ask-for-reuploads": "send every block marked 'Re-upload needed' to the applicant",
    "approve-block": "approve a document or KYC block (block: document:ID or kyc:ID)",
    "ask-to-reupload": "mark a document 'Re-upload needed' (reason), or re-send a UBO's KYC",
    "undo-reupload": "undo a document's 'Re-upload needed' before the request is sent",
    "assign": "assign the case (to: a user; a reviewer can only take it for themself)",
    "unassign": "remove the assignee (admin)",
    "note": "add a note (text)",
    "tag": "add a tag (tag; a lead or admin on any case, a reviewer on their own)",
    "untag": "remove a tag (tag)",
    "edit": "edit user provided data (changes: {field: value})",
    "edit-subject": "correct who the case is about (subject: entity or ubo:ID; changes: "
                    "name/country, or full_name/date_of_birth/nationality); screened again",
}
BLOCK_COMMANDS = ("approve-block", "ask-to-reupload", "undo-reupload")


def perform(db, case_id: str, command: str, *, actor: str, expected_version: int,
            reason: str | None = None, block: str | None = None, to: str | None = None,
            text: str | None = None, changes: dict[str, Any] | None = None,
            tag: str | None = None, subject: str | None = None) -> int | None:
    """Runs the named command as `actor` on the version they saw. Returns the number of
    re-uploads asked for (ask-for-reuploads), else None. Refusals are core.errors."""
    common = {"actor": actor, "expected_version": expected_version}
    if command not in COMMANDS:
        raise InvalidInput(f"unknown action {command!r}; actions: {', '.join(COMMANDS)}")
    if command in BLOCK_COMMANDS and not block:
        raise InvalidInput(f"{command} needs a block: document:ID or kyc:ID")
    if command == "approve":
        ca.approve_case(db, case_id, reason=reason, **common)
    elif command == "reject":
        ca.reject_case(db, case_id, reason=reason, **common)
    elif command == "ask-for-reuploads":
        return ca.ask_for_reuploads(db, case_id, **common)
    elif command == "approve-block":
        ca.approve_block(db, case_id, block, **common)
    elif command == "ask-to-reupload":
        ca.ask_to_reupload_block(db, case_id, block, reason=reason, **common)
    elif command == "undo-reupload":
        ca.undo_reupload_request(db, case_id, block, **common)
    elif command == "assign":
        ca.assign_case(db, case_id, to or actor, **common)
    elif command == "unassign":
        ca.assign_case(db, case_id, None, **common)
    elif command == "note":
        ca.add_note(db, case_id, text or "", **common)
    elif command in ("tag", "untag"):
        if not tag:
            raise InvalidInput(f"{command} needs a tag")
        (add_tag if command == "tag" else remove_tag)(db, case_id, tag, **common)
    elif command == "edit":
        if not changes:
            raise InvalidInput("edit needs at least one field to change")
        ca.edit_user_data(db, case_id, changes, **common)
    elif command == "edit-subject":
        if not subject:
            raise InvalidInput("edit-subject needs a subject: entity or ubo:ID")
        edit_subject(db, case_id, subject, changes or {}, **common)
    return None
