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


# The worked ComplyAdvantage example of docs/API.md: a relay forwards a search's result (the
# body of ComplyAdvantage's GET /searches/{id}, as its `search_status_updated` or
# `monitored_search_updated` webhook prompts) with `client_ref` "CASE:SUBJECT" ("entity" or
# the UBO's id). No score: ComplyAdvantage's relevance score is not on a 0-100 scale.
COMPLYADVANTAGE_MAPPING = {
    "case_id": {"path": "content.data.client_ref", "split": ":", "part": 0},
    "rules": [
        {"when": {"status": "success"},
         "screening": {
             "subject": {"path": "content.data.client_ref", "split": ":", "part": 1},
             "hits": "content.data.hits",
             "hit": {
                 "entry_id": "doc.id",
                 "dataset": {"const": "ComplyAdvantage"},
                 "name": "doc.name",
                 "aliases": {"path": "doc.aka", "pluck": "name"},
                 "birth_dates": {"path": "doc.fields", "pluck": "value",
                                 "where": {"tag": "date_of_birth"}},
                 "countries": {"path": "doc.fields", "pluck": "value",
                               "where": {"tag": "country_names"}},
                 "programme": {"path": "doc.types", "join": ", "},
                 "matched_fields": "match_types"}}},
    ],
}


def search_result(client_ref: str, *hits: dict, search_id: int = 93797112) -> dict:
    """ComplyAdvantage's search result in the shape it publishes (`content.data.hits[].doc`)."""
    return {"code": 200, "status": "success", "content": {"data": {
        "id": search_id, "ref": "1544997039-RsF9dii1", "client_ref": client_ref,
        "match_status": "potential_match" if hits else "no_match", "risk_level": "unknown",
        "search_term": "Alexey Miller", "total_hits": len(hits), "hits": list(hits)}}}


def complyadvantage_hit(doc_id: str = "TPD7IM2E6LW91J3", name: str = "Miller Alexey Borisovich",
                        birth: str = "1962-01-31", **doc) -> dict:
    return {"doc": {
        "id": doc_id, "name": name, "entity_type": "person",
        "aka": [{"name": "Alexey Miller"}, {"name": "Алексей Миллер"}],
        "fields": [{"name": "Countries", "tag": "country_names", "value": "Russian Federation"},
                   {"name": "Date of Birth", "source": "complyadvantage",
                    "tag": "date_of_birth", "value": birth},
                   {"name": "Date of Birth", "source": "ofac-sdn-list",
                    "tag": "date_of_birth", "value": birth},
                   {"name": "Gender", "source": "ofac-sdn-list", "value": "male"}],
        "sources": ["complyadvantage", "ofac-sdn-list"],
        "types": ["pep", "pep-class-2", "sanction"], **doc},
        "match_types": ["name_exact"], "is_whitelisted": False}
