"""The operations routes and the contract: /healthz, /readyz, and the OpenAPI document."""
from __future__ import annotations

import httpx


def test_health_and_readiness(api):
    assert httpx.get(f"{api.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api.url}/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "ok" and body["schema"] == body["schema_head"]


def test_the_openapi_document_is_the_contract(api):
    doc = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {
        "/cases", "/cases/{case_id}", "/cases/{case_id}/actions/{action}",
        "/cases/{case_id}/events", "/cases/{case_id}/screening", "/cases/{case_id}/documents",
        "/views", "/deliveries", "/deliveries/{delivery_id}/replay", "/hooks/{source}"}
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            assert "401" in op["responses"] and "422" in op["responses"], (method, path)
            # every operation needs a key, except the vendor callbacks (signed instead)
            assert bool(op.get("security")) == (path != "/hooks/{source}"), (method, path)


def test_no_docs_page_that_needs_the_internet(api):
    for path in ("/api/v1/docs", "/api/v1/redoc"):
        r = httpx.get(f"{api.url}{path}")
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_the_dashboard_is_still_served_beside_the_api(api):
    page = httpx.get(api.url)
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert httpx.get(f"{api.url}/_stcore/health").status_code == 200
