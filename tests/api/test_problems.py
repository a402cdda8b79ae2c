"""Every refusal is an RFC 9457 problem (application/problem+json), never an HTML page or a
traceback, whatever is wrong with the request."""
from __future__ import annotations

import pytest

from tests.api.conftest import a_case, new_id, push

PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def _is_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert PROBLEM_FIELDS <= set(body) and body["status"] == status and body["detail"]
    assert "Traceback" not in r.text and "<html" not in r.text.lower()
    return body


@pytest.mark.parametrize("method,path", [("GET", "/no-such-thing"), ("GET", "/cases/x/y/z"),
                                         ("DELETE", "/cases/nope")])
def test_unknown_routes_are_problems_not_the_dashboard(api, method, path):
    with api.client("all-admin") as c:
        r = c.request(method, path)
    _is_problem(r, 404 if method == "GET" else 405)


def test_a_body_that_is_not_json_is_a_problem(api):
    with api.client("all-admin") as c:
        r = c.post("/cases", content=b"{not json", headers={"Content-Type": "application/json"})
    _is_problem(r, 422)


def test_an_unknown_field_is_named(api):
    case_id = push(api, a_case(new_id("FIELD")))
    with api.client("act-reviewer") as c:
        r = c.post(f"/cases/{case_id}/actions/note", json={"expected_version": 1,
                                                             "txet": "typo"})
    body = _is_problem(r, 422)
    assert "txet" in {e["field"] for e in body["errors"]}


def test_bad_query_values_are_named(api):
    with api.client("read-admin") as c:
        r = c.get("/cases", params={"page_size": 100000, "status": "sleeping"})
    body = _is_problem(r, 422)
    assert "page_size" in {e["field"] for e in body["errors"]}
    with api.client("read-admin") as c:
        r = c.get("/cases", params={"status": "sleeping"})
    assert "unknown status 'sleeping'" in _is_problem(r, 422)["detail"]


def test_a_control_character_in_the_path_is_still_the_apis_problem(api):
    # Found by schemathesis: Starlette's mount pattern stopped at a newline, so
    # /api/v1/cases/a%0Ab fell through to the dashboard's plain-text 404.
    with api.client("read-admin") as c:
        newline = c.get("/cases/NO%0ASUCH")
        tab = c.get("/cases/NO%09SUCH")
    assert "'NO\\nSUCH' not found" in _is_problem(newline, 404)["detail"]
    _is_problem(tab, 404)
