"""/metrics on the real server: requests counted by route template (never the raw path) and
status, a latency histogram, and gauges that say what the database says."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from core.notifications import endpoints as ep
from core.store.models import Case, Delivery
from tests.api.conftest import a_case, new_id, push
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, drain

CASE_ROUTE = "/api/v1/cases/{case_id}"


def scrape(api) -> tuple[httpx.Response, dict[tuple[str, tuple], float]]:
    r = httpx.get(f"{api.url}/metrics", timeout=120)  # no key
    assert r.status_code == 200, r.text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(r.text) for s in family.samples}
    return r, samples


def requests_of(samples, route: str, method: str, status: int) -> float:
    key = ("docket_http_requests_total",
           (("method", method), ("route", route), ("status", str(status))))
    return samples.get(key, 0.0)


def timed(samples, route: str, method: str) -> float:
    key = ("docket_http_request_duration_seconds_count", (("method", method), ("route", route)))
    return samples.get(key, 0.0)


def test_requests_are_counted_by_route_template_method_and_status(api):
    first, second = push(api, a_case(new_id("MET"))), push(api, a_case(new_id("MET")))
    missing = new_id("NOSUCH")
    _, before = scrape(api)
    with api.client("read-admin") as c:
        assert c.get(f"/cases/{first}").status_code == 200
        assert c.get(f"/cases/{second}").status_code == 200
        assert c.get(f"/cases/{missing}").status_code == 404
        assert c.get(f"/no-such-route/{missing}").status_code == 404
    with api.client() as anonymous:
        assert anonymous.get(f"/cases/{first}").status_code == 401
    response, after = scrape(api)

    def delta(route, status):
        return (requests_of(after, route, "GET", status)
                - requests_of(before, route, "GET", status))

    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert (delta(CASE_ROUTE, 200), delta(CASE_ROUTE, 404), delta(CASE_ROUTE, 401)) == (2, 1, 1)
    assert delta("unmatched", 404) == 1
    assert timed(after, CASE_ROUTE, "GET") - timed(before, CASE_ROUTE, "GET") == 4
    assert requests_of(after, "/api/v1/cases", "POST", 200) >= 2
    labels = {value for _, pairs in after for _, value in pairs}
    assert not any(case_id in value for value in labels for case_id in (first, second, missing))


def test_an_answer_from_before_the_route_counts_under_the_route(api):
    """A retried POST answered from the idempotency store never reaches the route, and is
    still counted under its template."""
    case = a_case(new_id("RETRY"))
    _, before = scrape(api)
    with api.client("intake-admin", **{"Idempotency-Key": new_id("KEY")}) as c:
        first, retry = c.post("/cases", json=case), c.post("/cases", json=case)
    assert (first.status_code, retry.status_code) == (200, 200)
    assert retry.headers.get("Idempotent-Replayed") == "true"
    _, after = scrape(api)
    assert (requests_of(after, "/api/v1/cases", "POST", 200)
            - requests_of(before, "/api/v1/cases", "POST", 200)) == 2


def test_an_openmetrics_scraper_gets_openmetrics(api):
    r = httpx.get(f"{api.url}/metrics", headers={
        "Accept": "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/openmetrics-text")
    assert r.text.rstrip().endswith("# EOF") and "docket_cases" in r.text


def approve(api, case_id: str) -> None:
    with api.client("all-admin") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        assert c.post(f"/cases/{case_id}/actions/approve",
                      json={"expected_version": 2}).status_code == 200


def test_the_gauges_say_what_the_database_says(api, monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    down = Receiver(behaviour=lambda rec: (500, {}, b"down")).start()
    endpoint = ep.create_endpoint(api.db, down.url, actor="svc", workflow="onboarding")
    try:
        for _ in range(2):
            push(api, a_case(new_id("GAUGE"), collection_completed=False))
        for _ in range(2):  # approved: a webhook to a receiver that fails, given up once drained
            approve(api, push(api, a_case(new_id("GAUGE"))))
        drain(api.db)
        approve(api, push(api, a_case(new_id("GAUGE"))))  # and one still waiting
        _, samples = scrape(api)
        by_status, backlog = database_says(api)
    finally:
        down.stop()
        ep.disable_endpoint(api.db, endpoint.endpoint.id, actor="svc")  # fails what waits
    cases = {dict(labels)["status"]: value for (name, labels), value in samples.items()
             if name == "docket_cases"}
    deliveries = {(dict(labels)["channel"], dict(labels)["state"]): value
                  for (name, labels), value in samples.items() if name == "docket_deliveries"}
    assert by_status["collection_flow"] >= 2 and by_status["approved"] >= 3
    assert backlog[("webhook", "pending")] >= 1 and backlog[("webhook", "failed")] >= 2
    assert {k: v for k, v in cases.items() if v} == by_status
    assert {k: v for k, v in deliveries.items() if v} == backlog
    assert set(deliveries) == {(ch, st) for ch in ("webhook", "email", "sms", "crm")
                               for st in ("pending", "failed")}
    assert samples[("docket_metrics_database_up", ())] == 1


def database_says(api) -> tuple[dict[str, int], dict[tuple[str, str], int]]:
    """Cases per status and deliveries pending/failed per channel, counted row by row."""
    with api.db.read() as s:
        by_status = dict(s.execute(select(Case.case_status, func.count())
                                   .group_by(Case.case_status)).all())
        backlog = {(channel, state): n for channel, state, n in s.execute(
            select(Delivery.channel, Delivery.state, func.count())
            .where(Delivery.state.in_(("pending", "failed")))
            .group_by(Delivery.channel, Delivery.state))}
    return by_status, backlog
