"""Workflow definitions as data: document types, re-upload reasons, approval rule, notifications,
service levels (due times per status, `core/workflows/sla.py`), how many years a case's
records are kept after the relationship ends (`retention_years`, docs/RECORDS.md).

The admin issue adds editing and YAML export; the defaults below are what a new database gets.
"""
from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from core.store.models import Workflow

# The reasons a reviewer picks from when asking for a document again (a workflow may change them).
DOCUMENT_REUPLOAD_REASONS = ("Bad image quality", "Expired document", "Missing page",
                             "Wrong document type", "Name does not match")

# The blocks a case can show, in the order the preview shows them; a workflow lists which appear.
BLOCKS = {
    "user_data": "User provided data",
    "registry_data": "Registry provided data",
    "enriched_data": "Enriched data (when present)",
    "documents": "Documents",
    "kyc": "UBO KYC",
}

# Records are kept this many years after the business relationship ends, then erased (EU AMLR
# 2024/1624 Art. 77 and AMLD4 Art. 40: five years); a workflow may set 1 to 30.
DEFAULT_RETENTION_YEARS = 5
RETENTION_YEARS_RANGE = (1, 30)

DEFAULT_NOTIFICATIONS = {
    "approve": ["webhook", "email"],
    "reject": ["webhook", "email"],
    "ask_for_reuploads": ["webhook", "email"],
    "kyc_reupload": ["email"],
}

DEFAULT_WORKFLOWS: dict[str, dict[str, Any]] = {
    "onboarding": {
        "title": "Onboarding",
        "document_types": {
            "certificate_of_incorporation": "Certificate of incorporation",
            "proof_of_address": "Proof of address",
            "bank_statement": "Bank statement",
            "passport": "Passport",
            "identity_card": "Identity card",
        },
        "reupload_reasons": list(DOCUMENT_REUPLOAD_REASONS),
        # Approve only once every document and KYC block is reviewed (approved: a block
        # marked "Re-upload needed" refuses Approve anyway). On for onboarding: a first
        # decision on a customer waits until every document has been looked at.
        "approve_needs_all_blocks_approved": True,
        # Approve is refused while a screening hit is open or a true match awaits a lead's
        # sign-off (core/screening/). On for onboarding: no new customer is approved past an
        # undecided sanctions or PEP hit.
        "screening_blocks_approval": True,
        "notifications": DEFAULT_NOTIFICATIONS,
        "blocks": list(BLOCKS),
        # Due times (core/workflows/sla.py): a case is due 24 h after entering Manual review.
        "sla": {"hours": {"manual_review": 24}, "business_hours": None},
    },
    "ongoing_monitoring": {
        "title": "Ongoing monitoring",
        "document_types": {
            "proof_of_address": "Proof of address",
            "bank_statement": "Bank statement",
            "annual_report": "Annual report",
            "passport": "Passport",
        },
        "reupload_reasons": list(DOCUMENT_REUPLOAD_REASONS),
        "approve_needs_all_blocks_approved": False,
        "screening_blocks_approval": False,
        "notifications": DEFAULT_NOTIFICATIONS,
        "blocks": list(BLOCKS),
        # A periodic review is less pressing than a new customer waiting: three days.
        "sla": {"hours": {"manual_review": 72}, "business_hours": None},
    },
}


def ensure_default_workflows(session: Session) -> None:
    for name, definition in DEFAULT_WORKFLOWS.items():
        if session.get(Workflow, name) is None:
            d = copy.deepcopy(definition)
            session.add(Workflow(name=name, title=d.pop("title"), definition=d))
    session.flush()


def definition_of(session: Session, name: str) -> dict[str, Any]:
    wf = session.get(Workflow, name)
    if wf is not None:
        # Held for the session's life: its identity map keeps objects only while something
        # refers to them, and one command asks for its workflow up to four times (a row read
        # each, a third of a Reject's time before; docs/PERFORMANCE.md, "Bulk actions").
        session.info.setdefault("docket_workflows", {})[name] = wf
    base = copy.deepcopy(DEFAULT_WORKFLOWS.get(name, DEFAULT_WORKFLOWS["onboarding"]))
    base.pop("title", None)
    if wf is not None:
        base.update(wf.definition or {})
    return base


def retention_years(definition: dict[str, Any]) -> int:
    """The workflow's retention period in years (the default when it sets none)."""
    years = definition.get("retention_years")
    return DEFAULT_RETENTION_YEARS if years is None else int(years)


def notification_channels(definition: dict[str, Any], action: str) -> list[str]:
    return list((definition.get("notifications") or {}).get(action, []))
