"""The explained risk score over HTTP: GET /cases/{id} carries the case's risk points, level
and factor sentences (CaseDetail, core/cases/risk.py), in the published schema too."""
from __future__ import annotations

from core.cases.risk import score_new_cases
from tests.api.conftest import a_case, new_id, push


def test_one_case_carries_its_risk_score_level_and_factors(api):
    case_id = push(api, a_case(new_id("RISK"), entity={
        "type": "business", "name": "Harbour Lights Trading", "country": "IR",
        "email": "ops@harbour.example"}, user_data={"industry": "Gambling"}))
    with api.db.unit_of_work() as s:
        score_new_cases(s, [case_id])  # as the importer will (docs/RISK.md)
    with api.client("read-analyst") as c:
        got = c.get(f"/cases/{case_id}").json()
        schema = c.get("/openapi.json").json()
    assert (got["risk_points"], got["risk_level"]) == (65, "high")
    assert got["risk_factors"] == ["+40 country on high-risk list: IR", "+25 industry: Gambling"]
    fields = schema["components"]["schemas"]["CaseDetail"]["properties"]
    assert {"risk_points", "risk_level", "risk_factors"} <= set(fields)


def test_the_list_filters_and_sorts_by_risk(api):
    high = push(api, a_case(new_id("RISKH"), entity={
        "type": "business", "name": "Risky Ltd", "country": "IR", "email": "a@risky.example"},
        user_data={"industry": "Gambling"}))
    with api.db.unit_of_work() as s:
        score_new_cases(s, [high])
    with api.client("read-analyst") as c:
        found = c.get("/cases", params={"q": high, "risk_level": ["high", "medium"]}).json()
        other = c.get("/cases", params={"q": high, "risk_level": "low"}).json()
        bad = c.get("/cases", params={"risk_level": "severe"})
        riskiest = c.get("/cases", params={"sort": "risk", "order": "desc",
                                           "page_size": 1}).json()
    rows = {r["id"]: (r["risk_level"], r["risk_points"]) for r in found["cases"]}
    assert rows[high] == ("high", 65)
    assert {level for level, _ in rows.values()} <= {"high", "medium"}
    assert high not in {r["id"] for r in other["cases"]} and bad.status_code == 422
    assert riskiest["cases"][0]["risk_points"] >= 65 and riskiest["next_cursor"]
