"""Prometheus metrics at `/metrics` (server root, beside /healthz; no key — keep it off the
public internet, like /readyz).

Requests are counted by route *template* (`/api/v1/cases/{case_id}`, never the raw path, so a
client cannot grow the series without bound) × method × status, with a latency histogram per
route and method, by a middleware on the API app. Gauges are read from the database at each
scrape: deliveries pending and failed per channel, and cases per status from the counters the
sidebar uses. A registry of Docket's own, not prometheus-client's global default.
"""
from __future__ import annotations

import logging
import time
from typing import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import config
from core.notifications.deliveries import backlog_by_channel
from core.store.db import get_database
from core.worklist.query import CaseFilter, counts_by_status

log = logging.getLogger("docket.api")

UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REGISTRY = CollectorRegistry()
REQUESTS = Counter("docket_http_requests", "API requests by route template, method and status",
                   ("route", "method", "status"), registry=REGISTRY)
LATENCY = Histogram("docket_http_request_duration_seconds",
                    "API request latency in seconds, by route template and method",
                    ("route", "method"), buckets=BUCKETS, registry=REGISTRY)


def _flat(routes) -> Iterator[Route]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included routers
        if included is not None:
            yield from _flat(included.routes)
        elif isinstance(route, Route):
            yield route


def route_template(scope: Scope, outer_route: object, router: Router) -> str:
    """The path template of the route for this request (`/api/v1/cases/{case_id}`), or
    UNMATCHED when no route of the app matches its path."""
    route = scope.get("route")
    if route is outer_route:  # the app did not set it: a plain route (the OpenAPI document),
        # an answer from a middleware (an idempotent replay), or no route at all
        matches = [(r.matches(dict(scope))[0], r) for r in _flat(router.routes)]
        route = next((r for m, r in matches if m is Match.FULL),
                     next((r for m, r in matches if m is Match.PARTIAL), None))
    path = getattr(route, "path", None)
    return scope.get("root_path", "") + path if isinstance(path, str) else UNMATCHED


class RequestMetrics:
    """ASGI middleware: counts every HTTP request of the app and times it."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app, self.router = app, router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        outer_route = scope.get("route")  # the mount's, if any: not a route of this app
        status = 500  # unless a response starts: an exception escaped to the server
        started = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = route_template(scope, outer_route, self.router)
            method = scope["method"] if scope["method"] in METHODS else "other"
            REQUESTS.labels(route, method, str(status)).inc()
            LATENCY.labels(route, method).observe(time.perf_counter() - started)


class DatabaseGauges:
    """Read at scrape time: deliveries pending/failed per channel, cases per status."""

    def describe(self):
        return [GaugeMetricFamily("docket_deliveries", "", labels=("channel", "state")),
                GaugeMetricFamily("docket_cases", "", labels=("status",)),
                GaugeMetricFamily("docket_metrics_database_up", "")]

    def collect(self):
        try:
            db = get_database(config.database_url())
            backlog = backlog_by_channel(db)
            cases = counts_by_status(db, CaseFilter())
        except Exception:  # noqa: BLE001 - the request metrics are still worth serving
            log.exception("metrics: the database could not be read")
            yield GaugeMetricFamily("docket_metrics_database_up",
                                    "1 if this scrape read the database", value=0)
            return
        deliveries = GaugeMetricFamily("docket_deliveries",
                                       "Deliveries not sent yet (pending) or given up (failed), "
                                       "by channel", labels=("channel", "state"))
        for (channel, state), n in sorted(backlog.items()):
            deliveries.add_metric((channel, state), n)
        by_status = GaugeMetricFamily("docket_cases", "Cases by status (the case counters)",
                                      labels=("status",))
        for status, n in cases.items():
            by_status.add_metric((status,), n)
        yield deliveries
        yield by_status
        yield GaugeMetricFamily("docket_metrics_database_up",
                                "1 if this scrape read the database", value=1)


REGISTRY.register(DatabaseGauges())


def install(app) -> None:
    """Counts the requests of `app` (a FastAPI or Starlette app)."""
    app.add_middleware(RequestMetrics, router=app.router)


async def metrics(request: Request) -> Response:
    """The Prometheus text format (0.0.4), or OpenMetrics when the scraper's Accept asks."""
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    body = await run_in_threadpool(encode, REGISTRY)
    return Response(body, headers={"Content-Type": content_type})


ROUTES = [Route("/metrics", metrics)]
