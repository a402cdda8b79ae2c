"""The dispatcher's database work, in batches: claim (lease) due deliveries, write back the
results of their attempts, push a target's deliveries past a circuit breaker's cool-down.

Claiming: on PostgreSQL the due rows are picked with `SELECT ... FOR UPDATE SKIP LOCKED` and
leased in that transaction; on SQLite (one writer at a time, BEGIN IMMEDIATE) the pick and
the conditional `UPDATE ... WHERE lease expired` run under the write lock. Either way the
jobs are read back by the claim token in the same transaction: one transaction per batch.

Recording: one transaction per batch of results. The outbox rows are locked in id order, the
deliveries read (in id order) and only those still leased by the claim token that sent them
are settled (an attempt whose lease ran out is logged, marked so, and changes nothing else).
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from core.access.actors import SYSTEM_ACTOR
from core.notifications import channels
from core.notifications.retry import next_delay
from core.notifications.safe_http import EXCERPT_BYTES
from core.notifications.settle import fail_pending_for_endpoint, not_leased
from core.store import audit
from core.store.db import Database
from core.store.models import Delivery, DeliveryAttempt, OutboxMessage, WebhookEndpoint, utcnow

STATE_OF = {"delivered": "delivered", "retry": "pending", "failed": "failed",
            "skipped": "skipped"}


@dataclass(eq=False)
class Claimed:
    job: channels.Job
    outbox_id: int
    token: str
    opts: channels.HttpOptions | None = None  # set by the dispatcher
    claimed_at: float = 0.0                   # time.monotonic() of the claim
    probe: bool = False                       # a half-open circuit's probe


@dataclass
class Result:
    claimed: Claimed
    outcome: channels.Outcome | None   # None: not sent (deferred by the circuit breaker)
    started: datetime | None = None
    duration_ms: int = 0
    not_before: datetime | None = None  # the next attempt no earlier than this (breaker)


def due(now, exclude: list[str]):
    """The due, unleased deliveries (id, target), oldest first."""
    stmt = (select(Delivery.id, Delivery.target)
            .where(Delivery.state == "pending", Delivery.next_attempt_at <= now, not_leased(now))
            .order_by(Delivery.next_attempt_at, Delivery.id))
    if exclude:
        stmt = stmt.where(Delivery.target.not_in(exclude))
    return stmt


def claim_batch(db: Database, token: str, *, limit: int, lease_seconds: float,
                exclude: list[str], quota: Callable[[str], int],
                due: Callable = due) -> list[Claimed]:
    """Lease up to `limit` due deliveries (at most `quota(target)` per target, read once per
    target) and return them ready to send."""
    if limit <= 0:
        return []
    now = utcnow()
    with db.read() as s:  # a cheap look first: no write transaction when nothing is due
        if s.execute(due(now, exclude).limit(1)).first() is None:
            return []
    until = now + timedelta(seconds=lease_seconds)
    with db.unit_of_work() as s:
        stmt = due(now, exclude).limit(limit * 4)
        if not db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True)
        left: dict[str, int] = {}
        chosen: list[int] = []
        for row in s.execute(stmt):
            delivery_id, target = row[0], (row[1] if len(row) > 1 else "")
            if target not in left:
                left[target] = quota(target)
            if left[target] > 0:
                left[target] -= 1
                chosen.append(delivery_id)
                if len(chosen) >= limit:
                    break
        if not chosen:
            return []
        s.execute(update(Delivery)
                  .where(Delivery.id.in_(chosen), Delivery.state == "pending",
                         Delivery.next_attempt_at <= now,  # still due: not just retried
                         not_leased(now))
                  .values(lease_until=until, leased_by=token)
                  .execution_options(synchronize_session=False))
        rows = s.execute(
            select(Delivery.id, Delivery.message_id, Delivery.case_id, Delivery.channel,
                   Delivery.event_type, Delivery.target, Delivery.endpoint_id,
                   Delivery.outbox_id, OutboxMessage.payload, WebhookEndpoint.url,
                   WebhookEndpoint.secrets, WebhookEndpoint.enabled,
                   WebhookEndpoint.disabled_reason)
            .join(OutboxMessage, OutboxMessage.id == Delivery.outbox_id)
            .outerjoin(WebhookEndpoint, WebhookEndpoint.id == Delivery.endpoint_id)
            .where(Delivery.id.in_(chosen), Delivery.leased_by == token)
            .order_by(Delivery.next_attempt_at, Delivery.id)).all()
    out = []
    for r in rows:
        job = channels.Job(r.id, r.message_id, r.case_id, r.channel, r.event_type, r.target,
                           dict(r.payload), r.endpoint_id)
        if r.endpoint_id is not None and r.url is not None:
            job.endpoint_url, job.endpoint_secrets = r.url, list(r.secrets or [])
            job.endpoint_enabled, job.endpoint_disabled_reason = bool(r.enabled), r.disabled_reason
        out.append(Claimed(job, r.outbox_id, token))
    return out


def defer_target(db: Database, target: str, until: datetime) -> int:
    """A target's circuit opened: its waiting, unleased deliveries wait until `until`
    (not an attempt)."""
    now = utcnow()
    with db.unit_of_work() as s:
        result = s.execute(update(Delivery)
                           .where(Delivery.target == target, Delivery.state == "pending",
                                  Delivery.next_attempt_at < until, not_leased(now))
                           .values(next_attempt_at=until)
                           .execution_options(synchronize_session=False))
        return result.rowcount or 0


@dataclass
class Settings:
    schedule: tuple[float, ...]
    disable_after_days: float
    worker_id: str
    rng: random.Random


def _settle(s, outbox_ids: list[int]) -> None:
    """The outbox rows' states from their deliveries (as settle.settle_outbox, batched)."""
    states: dict[int, set[str]] = {}
    for oid, state in s.execute(select(Delivery.outbox_id, Delivery.state)
                                .where(Delivery.outbox_id.in_(outbox_ids))):
        states.setdefault(oid, set()).add(state)
    for row in s.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids))):
        st = states.get(row.id)
        if not st:
            continue
        if "pending" in st:
            row.state = "pending"
        elif "failed" in st:
            row.state = "failed"
        elif "delivered" in st:
            row.state, row.delivered_at = "delivered", row.delivered_at or utcnow()
        else:
            row.state = "skipped"


def record_batch(db: Database, results: list[Result], cfg: Settings) -> dict[int, str]:
    """Write back a batch of results in one transaction; returns {delivery id: kind} (`lost`
    where the lease had passed to another worker, `deferred` for a breaker's release)."""
    if not results:
        return {}
    now = utcnow()
    kinds: dict[int, str] = {}
    disabled: dict[int, str] = {}
    results = sorted(results, key=lambda r: r.claimed.job.delivery_id)
    ids = [r.claimed.job.delivery_id for r in results]
    outbox_ids = sorted({r.claimed.outbox_id for r in results})
    with db.unit_of_work() as s:
        if not db.is_sqlite:  # serialises settling of one outbox row's deliveries
            s.execute(select(OutboxMessage.id).where(OutboxMessage.id.in_(outbox_ids))
                      .order_by(OutboxMessage.id).with_for_update())
        current = select(Delivery.id, Delivery.attempts, Delivery.leased_by,
                         Delivery.next_attempt_at).where(Delivery.id.in_(ids)).order_by(Delivery.id)
        if not db.is_sqlite:
            current = current.with_for_update()
        held = {r.id: r for r in s.execute(current)}
        updates, attempts, events = [], [], []
        endpoints: dict[int, WebhookEndpoint | None] = {}
        for r in results:
            job, token = r.claimed.job, r.claimed.token
            row = held.get(job.delivery_id)
            lost = row is None or row.leased_by != token
            if r.outcome is None:  # released unsent: the breaker's cool-down
                kinds[job.delivery_id] = "lost" if lost else "deferred"
                if not lost:
                    updates.append({"id": job.delivery_id, "lease_until": None, "leased_by": None,
                                    "next_attempt_at": max(r.not_before or now, row.next_attempt_at)})
                continue
            outcome = r.outcome
            number = (row.attempts if row is not None else 0) + 1
            kind, error, next_at = outcome.kind, outcome.error, None
            if kind == "retry":
                delay = next_delay(number, cfg.schedule, outcome.retry_after, cfg.rng)
                if delay is None:
                    kind, error = "failed", f"{error}; gave up after {number} attempts"
                else:
                    next_at = now + timedelta(seconds=delay)
                    if r.not_before is not None and r.not_before > next_at:
                        next_at = r.not_before
            state = STATE_OF[kind]
            if row is None:  # the delivery is gone: nothing to log the attempt against
                kinds[job.delivery_id] = "lost"
                continue
            attempts.append({
                "delivery_id": job.delivery_id, "number": number, "started_at": r.started,
                "duration_ms": r.duration_ms, "status_code": outcome.status_code,
                "response_excerpt": (outcome.excerpt or "")[:EXCERPT_BYTES],
                "error": ((error or "") + " (lease expired before the attempt ended; "
                          "another worker owns the delivery)") if lost else error,
                "outcome": kind, "next_attempt_at": next_at, "worker": cfg.worker_id[:100]})
            if lost:
                kinds[job.delivery_id] = "lost"
                continue
            kinds[job.delivery_id] = kind
            updates.append({"id": job.delivery_id, "state": state, "attempts": number,
                            "lease_until": None, "leased_by": None,
                            "last_status_code": outcome.status_code,
                            "last_error": None if kind == "delivered" else error,
                            "finished_at": None if state == "pending" else now,
                            "next_attempt_at": next_at or row.next_attempt_at})
            if job.endpoint_id is not None:
                if job.endpoint_id not in endpoints:  # held here: the session's map is weak
                    endpoints[job.endpoint_id] = s.get(WebhookEndpoint, job.endpoint_id)
                reason = _endpoint_health(s, endpoints[job.endpoint_id], kind, outcome, now,
                                          cfg.disable_after_days)
                if reason:
                    disabled[job.endpoint_id] = reason
            if state != "pending":
                events.append({"case_id": job.case_id, "actor": SYSTEM_ACTOR,
                               "kind": f"notification.{kind}", "after": {
                                   "channel": job.channel, "target": job.target,
                                   "message_id": job.message_id, "event_type": job.event_type,
                                   "attempts": number, "status_code": outcome.status_code,
                                   "error": error}})
        s.flush()  # endpoint changes first, then the bulk statements
        for keys in {tuple(sorted(u)) for u in updates}:  # one executemany per shape
            same = [u for u in updates if tuple(sorted(u)) == keys]
            s.execute(update(Delivery), same)
        if attempts:
            s.execute(insert(DeliveryAttempt), attempts)
        audit.record_many(s, events)
        _settle(s, outbox_ids)
    for endpoint_id, reason in disabled.items():
        fail_pending_for_endpoint(db, endpoint_id, reason)
    return kinds


def _endpoint_health(s, e: WebhookEndpoint | None, kind: str, outcome, now,
                     disable_after_days: float) -> str | None:
    if e is None:
        return None
    if kind == "delivered":
        if e.failing_since is not None:
            e.failing_since = None
        return None
    if kind not in ("retry", "failed"):
        return None
    reason = outcome.disable_endpoint
    if reason is None:
        if e.failing_since is None:
            e.failing_since = now
        elif now - e.failing_since >= timedelta(days=disable_after_days):
            reason = (f"failing continuously since {e.failing_since:%Y-%m-%d %H:%M} UTC "
                      f"(more than {disable_after_days:g} days)")
    if reason is None or not e.enabled:
        return None
    e.enabled, e.disabled_reason = False, reason
    audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind="endpoint.disabled",
                 after={"endpoint": e.id, "reason": reason})
    return reason
