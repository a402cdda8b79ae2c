"""The FastAPI application mounted at /api/v1 beside the dashboard (see streamlit_app.py)."""
from __future__ import annotations

from fastapi import FastAPI

from api import idempotency, metrics, problems, rate_limit
from api.routes import actions, cases, deliveries, documents, events, hooks, screening, views

API_PREFIX = "/api/v1"
DESCRIPTION = """Docket's HTTP API: push cases, report outside events and screening hits, read
cases and views, and take case actions as the user an API key acts for. Errors are RFC 9457
problems (`application/problem+json`). Keys: `python -m core keys add NAME --scopes ... --as-user ...`.
Guide with examples: docs/API.md."""


def create_api() -> FastAPI:
    # No interactive docs page: FastAPI's loads its assets from a CDN, and Docket must work
    # with no internet. The OpenAPI document is the contract: /api/v1/openapi.json.
    app = FastAPI(title="Docket API", version="1", description=DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                  servers=[{"url": API_PREFIX}])
    problems.install(app)
    rate_limit.limiter()  # a bad DOCKET_API_RATE_LIMIT stops the start, not the first request
    idempotency.install(app)  # Idempotency-Key on every POST
    for module in (cases, actions, events, screening, views, documents, deliveries):
        app.include_router(module.router)
    app.include_router(hooks.router)  # vendor callbacks: no API key, the signature is the auth
    metrics.install(app)  # requests by route template, status; latency
    return app
