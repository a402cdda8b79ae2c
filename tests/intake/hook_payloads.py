"""Vendor callbacks for the hook tests: the worked Sumsub mapping of docs/API.md, payloads in
the shape of Sumsub's `applicantReviewed` webhook, and Standard Webhooks headers made with the
`standardwebhooks` library (an implementation independent of Docket's own signing)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from standardwebhooks import Webhook

UBO_REF = {"path": "externalUserId", "split": ":", "part": 1}
SUMSUB_MAPPING = {
    "case_id": {"path": "externalUserId", "split": ":", "part": 0},
    "rules": [
        {"when": {"type": "applicantReviewed", "reviewStatus": "completed",
                  "reviewResult.reviewAnswer": "GREEN"},
         "event": "kyc_completed", "params": {"ubo_id": UBO_REF, "result": "$"}},
        {"when": {"type": "applicantReviewed", "reviewStatus": "completed",
                  "reviewResult.reviewAnswer": "RED", "reviewResult.reviewRejectType": "FINAL"},
         "event": "kyc_completed", "params": {"ubo_id": UBO_REF, "result": "$"}},
    ],
}


def reviewed(case_id: str, ubo_id: int, answer: str = "GREEN", **extra) -> dict:
    """Sumsub's applicantReviewed payload for the UBO (externalUserId "CASE:UBO")."""
    review = {"reviewAnswer": answer}
    if answer == "RED":
        review.update(rejectLabels=["FORGERY"], reviewRejectType=extra.pop("reject", "FINAL"))
    return {"applicantId": "5cb56e8e0a975a35f333cb83", "inspectionId": "5cb56e8e0a975a35f333cb84",
            "correlationId": "req-a260b669-4f14-4bb5-a4c5-ac0218acb9a4",
            "externalUserId": f"{case_id}:{ubo_id}", "levelName": "basic-kyc-level",
            "type": "applicantReviewed", "reviewResult": review, "reviewStatus": "completed",
            "createdAtMs": "2020-02-21 13:23:19.321", **extra}


def body_of(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def signed(secret: str, body: bytes, *, msg_id: str | None = None,
           at: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for `body`, signed with `secret` at `at` (default: now)."""
    at = at or datetime.now(timezone.utc)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode())}


def minutes_ago(n: int) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=n)
