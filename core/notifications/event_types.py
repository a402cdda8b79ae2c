"""The words a notification carries: event types, the payload's API version, the case summary.

A small module at the bottom of `core.notifications` so that the outbox (which writes events),
the endpoints (which filter by them) and the UI all read one list without importing each other.
"""
from __future__ import annotations

from typing import Any

from core.store.models import Case

API_VERSION = "2026-11-01"

EVENT_TYPES = {
    "approve": "case.approved",
    "reject": "case.rejected",
    "ask_for_reuploads": "case.revision_requested",
    "kyc_reupload": "kyc.reupload_requested",
}


def case_summary(case: Case) -> dict[str, Any]:
    e = case.entity
    return {
        "id": case.id, "workflow": case.workflow, "status": case.case_status,
        "version": case.version,
        "entity": {"type": e.kind, "name": e.name, "email": e.email, "phone": e.phone,
                   "country": e.country, "registration_number": e.registration_number},
        "user_data": case.user_data, "created_at": case.created_at.isoformat() + "Z",
    }
