"""What the Deliveries page and `python -m core deliveries` show and do: every notification
with its attempts, filters, endpoint health, and replays (admin).

A replay puts a delivery back in the queue with the same webhook-id (receivers deduplicate on
it) and a fresh retry schedule. `delivery_page` is the list as a named user reads it (the API):
targets and errors are an integrations admin's to see. `backlog_by_channel` feeds /metrics.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.access.actors import require_integrations_admin
from core.errors import InvalidInput, NotFound
from core.notifications.endpoints import EndpointInfo
from core.notifications.endpoints import _info as _endpoint_info
from core.notifications.fanout import CHANNELS
from core.notifications.settle import settle_outbox
from core.store import audit
from core.store.db import Database
from core.store.models import Delivery, DeliveryAttempt, WebhookEndpoint, utcnow

STATES = ("pending", "delivered", "failed", "skipped")
BACKLOG_STATES = ("pending", "failed")  # what /metrics watches: not sent yet, given up on


@dataclass(frozen=True)
class DeliveryInfo:
    id: int
    message_id: str          # the webhook-id
    case_id: str
    channel: str
    event_type: str
    target: str              # endpoint:ID | email | sms | crm | webhook (none matched)
    endpoint_id: int | None
    endpoint_url: str | None
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class AttemptInfo:
    number: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_excerpt: str
    error: str | None
    outcome: str
    next_attempt_at: datetime | None
    worker: str


@dataclass(frozen=True)
class EndpointHealth:
    endpoint: EndpointInfo
    pending: int
    delivered: int
    failed: int
    last_delivered_at: datetime | None
    last_error: str | None


def _filtered(stmt, status, endpoint_id, case_id, channel):
    if status:
        if status not in STATES:
            raise InvalidInput(f"status must be one of {', '.join(STATES)}")
        stmt = stmt.where(Delivery.state == status)
    if endpoint_id is not None:
        stmt = stmt.where(Delivery.endpoint_id == int(endpoint_id))
    if case_id:
        if "\x00" in case_id:  # PostgreSQL refuses it in a query: say so, not a 500
            raise InvalidInput("the filter is not valid",
                               ["case_id: must not contain a NUL character"])
        stmt = stmt.where(Delivery.case_id == case_id)
    if channel:
        if channel not in CHANNELS:
            raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
        stmt = stmt.where(Delivery.channel == channel)
    return stmt


def _rows(s: Session, status, endpoint_id, case_id, channel, limit, offset) -> list[DeliveryInfo]:
    stmt = _filtered(select(Delivery, WebhookEndpoint.url)
                     .outerjoin(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id),
                     status, endpoint_id, case_id, channel)
    stmt = stmt.order_by(Delivery.id.desc()).limit(max(1, min(int(limit), 10_000))).offset(max(0, int(offset)))
    return [DeliveryInfo(d.id, d.message_id, d.case_id, d.channel, d.event_type, d.target,
                         d.endpoint_id, url, d.state, d.attempts,
                         d.next_attempt_at if d.state == "pending" else None,
                         d.last_status_code, d.last_error, d.created_at, d.finished_at)
            for d, url in s.execute(stmt)]


def list_deliveries(db: Database, *, status: str | None = None, endpoint_id: int | None = None,
                    case_id: str | None = None, channel: str | None = None, limit: int = 100,
                    offset: int = 0) -> list[DeliveryInfo]:
    """Newest first. No secrets: endpoint URL and texts from the (redacted) attempt log."""
    with db.read() as s:
        return _rows(s, status, endpoint_id, case_id, channel, limit, offset)


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[DeliveryInfo]
    total: int
    page: int
    page_size: int
    total_capped: bool = False  # more than `total` match (counted up to a cap, see below)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


# The Deliveries page counts up to this many and then says "10,000+": an exact count of a
# million delivered rows costs 50-90 ms whatever the query (docs/PERFORMANCE.md); one up to
# the cap reads at most that many index entries.
COUNT_CAP = 10_000


def _capped_count(s: Session, stmt, cap: int | None) -> tuple[int, bool]:
    """COUNT(*) of the deliveries `stmt` selects; with a cap: (cap, True) beyond it."""
    if cap is None:
        return int(s.scalar(select(func.count()).select_from(stmt.subquery())) or 0), False
    n = int(s.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery())) or 0)
    return (cap, True) if n > cap else (n, False)


def delivery_page(db: Database, *, actor: str, status: str | None = None,
                  endpoint_id: int | None = None, case_id: str | None = None,
                  channel: str | None = None, page: int = 1,
                  page_size: int = 50, count_cap: int | None = None) -> DeliveryPage:
    """One page of deliveries (newest first) and the total for the filter, as `actor` reads
    them: refused (NotAllowed) unless they may manage integrations, since the list holds
    targets and errors. Count and rows come from one read. With `count_cap` the total is
    exact up to the cap, else the cap with `total_capped` (the page; the API counts all)."""
    page, page_size = max(1, int(page)), max(1, min(int(page_size), 500))
    with db.read() as s:
        require_integrations_admin(s, actor)
        rows = _rows(s, status, endpoint_id, case_id, channel, page_size,
                     (page - 1) * page_size)
        total, capped = _capped_count(
            s, _filtered(select(Delivery.id), status, endpoint_id, case_id, channel),
            count_cap)
    return DeliveryPage(rows, total, page, page_size, capped)


def backlog_by_channel(db: Database) -> dict[tuple[str, str], int]:
    """Deliveries pending and failed per (channel, state), every channel named (0 if none):
    the gauges of /metrics. Aggregate counts only, no targets."""
    with db.read() as s:
        found = {(c, st): int(n) for c, st, n in s.execute(
            select(Delivery.channel, Delivery.state, func.count())
            .where(Delivery.state.in_(BACKLOG_STATES))
            .group_by(Delivery.channel, Delivery.state))}
    return {(c, st): found.get((c, st), 0) for c in CHANNELS for st in BACKLOG_STATES}


def count_deliveries(db: Database, *, endpoint_id: int | None = None, case_id: str | None = None,
                     channel: str | None = None, cap: int | None = None) -> dict[str, int]:
    """Deliveries per state for the filter; with `cap`, each count stops at cap + 1 (the
    page shows "10,000+"), reading at most that many index entries per state."""
    if cap is not None:
        with db.read() as s:
            return {state: int(s.scalar(select(func.count()).select_from(
                _filtered(select(Delivery.id), state, endpoint_id, case_id, channel)
                .limit(cap + 1).subquery())) or 0) for state in STATES}
    stmt = _filtered(select(Delivery.state, func.count()).group_by(Delivery.state),
                     None, endpoint_id, case_id, channel)
    with db.read() as s:
        counts = dict(s.execute(stmt).all())
    return {state: int(counts.get(state, 0)) for state in STATES}


def delivery_attempts(db: Database, delivery_id: int) -> list[AttemptInfo]:
    with db.read() as s:
        if s.get(Delivery, int(delivery_id)) is None:
            raise NotFound(f"delivery {delivery_id} not found")
        rows = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == int(delivery_id))
                         .order_by(DeliveryAttempt.id))
        return [AttemptInfo(a.number, a.started_at, a.duration_ms, a.status_code,
                            a.response_excerpt, a.error, a.outcome, a.next_attempt_at, a.worker)
                for a in rows]


def _requeue(s, d: Delivery, actor: str) -> None:
    if d.endpoint_id is not None:
        e = s.get(WebhookEndpoint, d.endpoint_id)
        if e is None or not e.enabled:
            raise InvalidInput(f"delivery {d.id}: endpoint {d.endpoint_id} is disabled; "
                               "enable it first")
    now = utcnow()
    d.state, d.attempts, d.next_attempt_at = "pending", 0, now
    d.lease_until = d.leased_by = d.finished_at = None
    audit.record(s, case_id=d.case_id, actor=actor, kind="notification.replayed",
                 after={"channel": d.channel, "target": d.target, "message_id": d.message_id})
    s.flush()
    settle_outbox(s, d.outbox_id)


def replay_delivery(db: Database, delivery_id: int, *, actor: str) -> None:
    """Send a finished delivery again (admin), same webhook-id, fresh retry schedule."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        d = s.get(Delivery, int(delivery_id))
        if d is None:
            raise NotFound(f"delivery {delivery_id} not found")
        if d.state == "pending":
            raise InvalidInput(f"delivery {delivery_id} is still pending")
        if d.target == "webhook":
            raise InvalidInput(f"delivery {delivery_id} had no endpoint to go to")
        _requeue(s, d, actor)


def replay_failed(db: Database, *, actor: str, endpoint_id: int | None = None,
                  since: timedelta | None = None) -> int:
    """Replay every failed delivery (of one endpoint, optionally only recent ones); returns
    how many. Deliveries to a still-disabled endpoint are left alone."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        stmt = select(Delivery).where(Delivery.state == "failed", Delivery.target != "webhook")
        if endpoint_id is not None:
            stmt = stmt.where(Delivery.endpoint_id == int(endpoint_id))
        if since is not None:
            stmt = stmt.where(Delivery.created_at >= utcnow() - since)
        disabled = set(s.scalars(select(WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(False))))
        n = 0
        for d in s.scalars(stmt.order_by(Delivery.id)).all():
            if d.endpoint_id in disabled:
                continue
            _requeue(s, d, actor)
            n += 1
        return n


def endpoint_health(db: Database) -> list[EndpointHealth]:
    with db.read() as s:
        endpoints = list(s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
        counts: dict[tuple[int, str], int] = {
            (eid, state): n for eid, state, n in s.execute(
                select(Delivery.endpoint_id, Delivery.state, func.count())
                .where(Delivery.endpoint_id.is_not(None))
                .group_by(Delivery.endpoint_id, Delivery.state))}
        last_ok = dict(s.execute(select(Delivery.endpoint_id, func.max(Delivery.finished_at))
                                 .where(Delivery.state == "delivered",
                                        Delivery.endpoint_id.is_not(None))
                                 .group_by(Delivery.endpoint_id)).all())
        out = []
        for e in endpoints:
            last_error = s.scalar(select(Delivery.last_error)
                                  .where(Delivery.endpoint_id == e.id, Delivery.last_error.is_not(None))
                                  .order_by(Delivery.id.desc()).limit(1))
            out.append(EndpointHealth(_endpoint_info(e), counts.get((e.id, "pending"), 0),
                                      counts.get((e.id, "delivered"), 0),
                                      counts.get((e.id, "failed"), 0), last_ok.get(e.id),
                                      last_error))
        return out
