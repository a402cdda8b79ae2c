"""Screening over HTTP against the real server: `POST /cases/{id}/screening` (hits in, a
summary out; a bad batch refused whole; Idempotency-Key; scope and role), the hits on
`GET /cases/{id}`, their disposition and sign-off as case actions, and a ComplyAdvantage
result relayed as a signed vendor callback (a tampered one refused)."""
from __future__ import annotations

import pytest

from api.idempotency import HEADER, REPLAYED
from core.intake import hooks
from tests.api.conftest import a_case, new_id, push
from tests.factories import row_counts
from tests.intake.hook_payloads import (
    COMPLYADVANTAGE_MAPPING,
    body_of,
    complyadvantage_hit,
    search_result,
    signed,
)

HIT = {"entry_id": "SDN-36154", "dataset": "OFAC SDN", "name": "Jo Bloggs",
       "aliases": ["Joseph Bloggs"], "birth_dates": ["1970"], "countries": ["GB"],
       "programme": "SDGT", "score": 88, "matched_fields": ["name"]}


def a_hit(**changes) -> dict:
    """HIT under an entry id of its own: a decision in one test never carries to another."""
    return {**HIT, "entry_id": new_id("SDN"), **changes}


def screened_case(api, assignee: str | None = "rev") -> tuple[str, str]:
    """An onboarding case in manual review with one UBO, Jo Bloggs, whose KYC block is
    approved (so only screening can hold Approve back), assigned to `assignee` (None: to
    no one, its KYC block not reviewed)."""
    case_id = push(api, a_case(new_id("SCR"), workflow="onboarding", documents=[],
                               ubos=[{"full_name": "Jo Bloggs", "date_of_birth": "1970-05-01",
                                      "kyc": {"state": "completed",
                                              "result": {"outcome": "clear"}}}]))
    view = case_view(api, case_id)
    if assignee:
        with api.client("act-reviewer" if assignee == "rev" else "all-admin") as c:
            r = c.post(f"/cases/{case_id}/actions/assign",
                       json={"expected_version": view["version"], "to": assignee})
            assert r.status_code == 200, r.text
            r = c.post(f"/cases/{case_id}/actions/approve-block",
                       json={"expected_version": r.json()["version"],
                             "block": view["kyc_blocks"][0]["ref"]})
            assert r.status_code == 200, r.text
    return case_id, f"ubo:{view['kyc_blocks'][0]['id']}"


def case_view(api, case_id: str) -> dict:
    with api.client("read-admin") as c:
        return c.get(f"/cases/{case_id}").json()


def post(api, case_id: str, body: dict, key: str = "events-admin", **headers):
    with api.client(key, **headers) as c:
        return c.post(f"/cases/{case_id}/screening", json=body)


def test_hits_in_a_summary_out_and_approve_waits_for_them(api):
    case_id, ubo = screened_case(api)
    entry = a_hit()
    r = post(api, case_id, {"subject": ubo, "source": "worldcheck", "hits": [entry]})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["case_id"], answer["subject"], answer["source"], answer["open_hits"]) == (
        case_id, ubo, "worldcheck", 1)
    assert len(answer["new"]) == 1 and answer["gone"] == [] and answer["version"] >= 1
    view = case_view(api, case_id)
    subject = next(s for s in view["screening"] if s["key"] == ubo)
    shown = subject["hits"][0]
    assert (shown["id"], shown["entry_id"], shown["score"], shown["state"]) == (
        answer["new"][0], entry["entry_id"], 88, "open")
    assert shown["entry"]["aliases"] == ["Joseph Bloggs"] and view["open_hits"] == 1
    approve = next(a for a in view["case_actions"] if a["action"] == "approve")
    assert approve["reason"].startswith("Approve is refused while 1 screening hit is open")
    again = post(api, case_id, {"subject": ubo, "source": "worldcheck", "hits": [entry]})
    assert again.json()["unchanged"] == answer["new"] and again.json()["version"] == \
        answer["version"]


def test_a_bad_batch_is_refused_whole_with_every_problem(api):
    case_id, ubo = screened_case(api, assignee=None)
    before = row_counts(api.db)
    r = post(api, case_id, {"subject": "owner", "source": "Vendor A", "hits": [
        HIT, {**HIT, "score": 101}, {**HIT, "entry_id": "", "colour": "red"},
        {**HIT, "birth_dates": ["01/05/1970"], "score": 88.5}]})
    assert r.status_code == 422, r.text
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"subject", "source", "hits.1.score", "hits.2.entry_id", "hits.2.colour",
            "hits.3.birth_dates.0", "hits.3.score"} <= fields, fields
    duplicate = post(api, case_id, {"subject": "ubo:999999", "source": "worldcheck",
                                    "hits": [HIT, HIT]})
    assert duplicate.status_code == 422
    assert {e["field"] for e in duplicate.json()["errors"]} == {"hits[1].entry_id"}
    unknown = post(api, case_id, {"subject": "ubo:999999", "source": "worldcheck",
                                  "hits": [HIT]})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "subject"
    builtin = post(api, case_id, {"subject": ubo, "source": "builtin:un_sc", "hits": [HIT]})
    assert builtin.status_code == 422 and builtin.json()["errors"][0]["field"] == "source"
    assert row_counts(api.db) == before


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(api):
    case_id, ubo = screened_case(api, assignee=None)
    body = {"subject": ubo, "source": "worldcheck", "hits": [a_hit()]}
    key = {HEADER: f"screen-{new_id().lower()}"}
    first = post(api, case_id, body, **key)
    before = row_counts(api.db)
    again = post(api, case_id, body, **key)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers[REPLAYED] == "true" and row_counts(api.db) == before


@pytest.mark.parametrize("key, status", [("read-admin", 403), ("act-reviewer", 403),
                                         ("intake-reviewer", 403), (None, 401)])
def test_the_events_scope_and_an_importing_role_are_needed(api, key, status):
    case_id, ubo = screened_case(api, assignee=None)
    before = row_counts(api.db)
    with api.client(key) as c:
        r = c.post(f"/cases/{case_id}/screening",
                   json={"subject": ubo, "source": "worldcheck", "hits": [HIT]})
    assert r.status_code == status, r.text
    assert row_counts(api.db) == before


def test_a_stale_expected_version_is_409(api):
    case_id, ubo = screened_case(api, assignee=None)
    version = case_view(api, case_id)["version"]
    r = post(api, case_id, {"subject": ubo, "source": "worldcheck", "hits": [HIT],
                            "expected_version": version + 5})
    assert r.status_code == 409 and r.json()["current_version"] == version


def test_disposition_and_sign_off_are_case_actions(api):
    case_id, ubo = screened_case(api)
    hit_id = post(api, case_id, {"subject": ubo, "source": "worldcheck",
                                 "hits": [a_hit()]}).json()["new"][0]
    version = case_view(api, case_id)["version"]
    with api.client("act-reviewer") as c:
        missing = c.post(f"/cases/{case_id}/actions/disposition-hit",
                         json={"expected_version": version, "hit": hit_id,
                               "disposition": "true_match"})
        assert missing.status_code == 422 and "reason is required" in missing.json()["detail"]
        r = c.post(f"/cases/{case_id}/actions/disposition-hit",
                   json={"expected_version": version, "hit": hit_id,
                         "disposition": "true_match", "reason": "the same passport number"})
        assert r.status_code == 200, r.text
        assert (r.json()["action"], r.json()["version"]) == ("disposition-hit", version + 1)
        own = c.post(f"/cases/{case_id}/actions/sign-off-hit",
                     json={"expected_version": version + 1, "hit": hit_id})
        assert own.status_code == 403  # a reviewer does not sign off
    with api.client("all-admin") as c:
        r = c.post(f"/cases/{case_id}/actions/sign-off-hit",
                   json={"expected_version": version + 1, "hit": hit_id})
    assert r.status_code == 200, r.text
    view = case_view(api, case_id)
    shown = next(s for s in view["screening"] if s["key"] == ubo)["hits"][0]
    assert (shown["state"], shown["signed_off_by"]) == ("true_match", "svc")
    assert view["open_hits"] == 0
    with api.client("act-reviewer") as c:  # as the assignee sees it: Approve is open now
        mine = c.get(f"/cases/{case_id}").json()
    assert next(a for a in mine["case_actions"] if a["action"] == "approve")["allowed"]


def test_a_hit_of_another_case_is_404(api):
    case_id, ubo = screened_case(api)
    hit_id = post(api, case_id, {"subject": ubo, "source": "worldcheck",
                                 "hits": [a_hit()]}).json()["new"][0]
    other, _ = screened_case(api)
    with api.client("act-reviewer") as c:
        r = c.post(f"/cases/{other}/actions/disposition-hit",
                   json={"expected_version": case_view(api, other)["version"], "hit": hit_id,
                         "disposition": "false_positive", "reason": "x"})
    assert r.status_code == 404


@pytest.fixture(scope="module")
def vendor_secret(api) -> str:
    return hooks.create_source(api.db, "complyadvantage", mapping=COMPLYADVANTAGE_MAPPING,
                               acting_user="svc", actor="boss").secret


def test_a_relayed_complyadvantage_result_becomes_hits(api, vendor_secret):
    case_id, ubo = screened_case(api, assignee=None)
    body = body_of(search_result(f"{case_id}:{ubo.split(':')[1]}", complyadvantage_hit()))
    with api.client() as c:
        r = c.post("/hooks/complyadvantage", content=body,
                   headers={"Content-Type": "application/json",
                            **signed(vendor_secret, body)})
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "applied", "case_id": case_id, "event": "screening",
                        "duplicate": False, "detail": "rule 1"}
    subject = next(s for s in case_view(api, case_id)["screening"] if s["key"] == ubo)
    assert [(h["source"], h["entry_id"], h["entry"]["countries"]) for h in subject["hits"]] == [
        ("complyadvantage", "TPD7IM2E6LW91J3", ["Russian Federation"])]


def test_a_tampered_vendor_callback_is_refused_and_writes_nothing(api, vendor_secret):
    case_id, _ = screened_case(api, assignee=None)
    body = body_of(search_result(f"{case_id}:entity", complyadvantage_hit()))
    headers = {"Content-Type": "application/json", **signed(vendor_secret, body)}
    before = row_counts(api.db)
    with api.client() as c:
        r = c.post("/hooks/complyadvantage", content=body.replace(b"sanction", b"sanctiom"),
                   headers=headers)
    assert r.status_code == 401, r.text
    assert row_counts(api.db) == before
