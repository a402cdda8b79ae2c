"""Signed vendor callbacks over HTTP (`POST /api/v1/hooks/{source}`) against the real server:
the signature is the authentication, a replay changes nothing, and every refusal is a problem
that leaves every table as it was."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from core.intake import hooks
from core.store.models import AuditEvent, HookMessage
from tests.api.conftest import a_case, new_id, push
from tests.factories import row_counts
from tests.intake.hook_payloads import SUMSUB_MAPPING, body_of, minutes_ago, reviewed, signed

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def secret(api) -> str:
    return hooks.create_source(api.db, "sumsub", mapping=SUMSUB_MAPPING, acting_user="svc",
                               actor="boss").secret


def kyc_case(api, state: str = "sent") -> tuple[str, int]:
    kyc = {"state": state, **({"result": {"outcome": "clear"}} if state == "completed" else {})}
    case_id = push(api, a_case(new_id("HOOK"), ubos=[{"full_name": "Jo Bloggs", "kyc": kyc}]))
    return case_id, case_view(api, case_id)["kyc_blocks"][0]["id"]


def case_view(api, case_id: str) -> dict:
    with api.client("read-admin") as c:
        return c.get(f"/cases/{case_id}").json()


def call(api, body: bytes, headers: dict[str, str], source: str = "sumsub",
         **extra: str) -> httpx.Response:
    with api.client() as c:  # no API key
        return c.post(f"/hooks/{source}", content=body, headers={**JSON, **headers, **extra})


def recorded(api, case_id: str) -> list[tuple[str, str | None]]:
    with api.db.read() as s:
        return [(m.outcome, m.event) for m in s.scalars(
            select(HookMessage).where(HookMessage.case_id == case_id).order_by(HookMessage.id))]


def assert_problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


def test_a_signed_kyc_result_completes_the_ubos_kyc(api, secret):
    case_id, ubo = kyc_case(api)
    assert case_view(api, case_id)["status"] == "pending_id_verification"
    payload = reviewed(case_id, ubo)
    r = call(api, body_of(payload), signed(secret, body_of(payload)))
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "applied", "case_id": case_id, "event": "kyc_completed",
                        "duplicate": False, "detail": "rule 1"}
    after = case_view(api, case_id)
    assert after["status"] == "manual_review" and after["version"] == 2
    assert (after["kyc_blocks"][0]["kyc_state"], after["kyc_blocks"][0]["kyc_result"]) == (
        "completed", payload)
    with api.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                   AuditEvent.kind == "kyc.completed")).one()
    assert (event.actor, event.via) == ("svc", "hook sumsub")


def test_the_same_webhook_id_sent_twice_changes_the_case_once(api, secret):
    case_id, ubo = kyc_case(api)
    body = body_of(reviewed(case_id, ubo))
    headers = signed(secret, body)
    first = call(api, body, headers)
    before = row_counts(api.db)
    again = call(api, body, headers)
    assert first.status_code == again.status_code == 200
    assert (first.json()["duplicate"], again.json()["duplicate"]) == (False, True)
    assert again.json()["outcome"] == "applied"
    assert row_counts(api.db) == before and case_view(api, case_id)["version"] == 2
    assert recorded(api, case_id) == [("applied", "kyc_completed")]


def _tampered(secret, body):
    return body.replace(b"GREEN", b"GREEN "), signed(secret, body)


def _retimed(secret, body):
    headers = signed(secret, body)
    return body, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)}


FORGED = {
    "tampered body": _tampered,
    "changed timestamp": _retimed,
    "wrong secret": lambda s, b: (b, signed(hooks.new_secret(), b)),
    "stale timestamp": lambda s, b: (b, signed(s, b, at=minutes_ago(10))),
    "unsigned": lambda s, b: (b, {}),
}


@pytest.mark.parametrize("forge", FORGED.values(), ids=FORGED)
def test_an_unverified_callback_is_refused_and_changes_nothing(api, secret, forge):
    case_id, ubo = kyc_case(api)
    body, headers = forge(secret, body_of(reviewed(case_id, ubo)))
    before = row_counts(api.db)
    problem = assert_problem(call(api, body, headers), 401)
    assert problem["detail"] == hooks.NOT_VERIFIED
    assert row_counts(api.db) == before
    assert case_view(api, case_id)["kyc_blocks"][0]["kyc_state"] == "sent"


def test_an_unknown_source_is_refused_like_a_bad_signature(api, secret):
    case_id, ubo = kyc_case(api)
    body = body_of(reviewed(case_id, ubo))
    before = row_counts(api.db)
    problem = assert_problem(call(api, body, signed(secret, body), source="veriff"), 401)
    assert problem["detail"] == hooks.NOT_VERIFIED
    assert row_counts(api.db) == before


def test_an_api_key_is_no_signature(api, secret):
    case_id, ubo = kyc_case(api)
    body = body_of(reviewed(case_id, ubo))
    before = row_counts(api.db)
    with api.client("all-admin") as c:
        r = c.post("/hooks/sumsub", content=body, headers=JSON)
    assert_problem(r, 401)
    assert row_counts(api.db) == before


def test_a_payload_no_rule_matches_is_recorded_as_ignored(api, secret):
    case_id, ubo = kyc_case(api)
    body = body_of(reviewed(case_id, ubo, "RED", reject="RETRY"))
    r = call(api, body, signed(secret, body))
    assert r.status_code == 200
    assert r.json() == {"outcome": "ignored", "case_id": case_id, "event": None,
                        "duplicate": False, "detail": "no rule matched"}
    assert case_view(api, case_id)["version"] == 1
    assert recorded(api, case_id) == [("ignored", None)]


def test_an_event_core_refuses_is_a_conflict_and_recorded(api, secret):
    case_id, ubo = kyc_case(api, state="completed")
    body = body_of(reviewed(case_id, ubo))
    headers = signed(secret, body)
    problem = assert_problem(call(api, body, headers), 409)
    assert "already completed" in problem["detail"]
    assert case_view(api, case_id)["version"] == 1
    assert recorded(api, case_id) == [("refused", "kyc_completed")]
    replay = call(api, body, headers)
    assert replay.status_code == 200
    assert (replay.json()["outcome"], replay.json()["duplicate"]) == ("refused", True)


def test_a_callback_naming_no_such_case_is_unprocessable_and_recorded(api, secret):
    missing = new_id("GONE")
    body = body_of(reviewed(missing, 1))
    problem = assert_problem(call(api, body, signed(secret, body)), 422)
    assert missing in problem["detail"]
    assert recorded(api, missing) == [("refused", "kyc_completed")]


@pytest.mark.parametrize("body, headers, status", [
    (b"{}", {"Content-Type": "text/plain"}, 415),
    (b"{not json", {}, 422),
    (b'{"pad": "' + b"x" * hooks.MAX_BODY_BYTES + b'"}', {}, 413),
], ids=["not JSON content", "signed, not JSON", "over 1 MiB"])
def test_a_body_that_cannot_be_a_callback_is_refused_and_changes_nothing(api, secret, body,
                                                                          headers, status):
    before = row_counts(api.db)
    assert_problem(call(api, body, signed(secret, body), **headers), status)
    assert row_counts(api.db) == before


def test_the_callback_route_is_in_the_contract_without_a_key(api):
    doc = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    op = doc["paths"]["/hooks/{source}"]["post"]
    assert "security" not in op and {"401", "413", "415", "422"} <= set(op["responses"])
