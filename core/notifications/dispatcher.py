"""The dispatcher: claims due deliveries, sends them, logs each attempt, retries or settles.

Several dispatchers may run at once (`python -m core worker`, the app's background thread).
A claim is a lease: on PostgreSQL the due rows are picked with `SELECT ... FOR UPDATE SKIP
LOCKED` and leased in that transaction; on SQLite (one writer at a time, BEGIN IMMEDIATE) a
conditional `UPDATE ... WHERE lease expired` whose rowcount says who won. Sending happens
outside any transaction; the result is written back only by the lease holder (`WHERE
leased_by = <claim token>`), so a worker whose lease ran out cannot overwrite a newer claim.
A worker killed mid-delivery leaves a lease that expires; the delivery is then retried with
the same webhook-id. Within one dispatcher, a target (endpoint, SMTP, SMS, CRM) gets at most
half the threads, so a slow or dead endpoint never holds up the others.
"""
from __future__ import annotations

import logging
import math
import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import select, update

from core import config
from core.access.actors import SYSTEM_ACTOR
from core.notifications import channels
from core.notifications.fanout import expand_pending
from core.notifications.retry import DEFAULT_SCHEDULE, configured_schedule, next_delay
from core.notifications.safe_http import EXCERPT_BYTES
from core.notifications.settle import (
    audit_final,
    fail_pending_for_endpoint,
    lock_outbox,
    not_leased,
    settle_outbox,
)
from core.store import audit
from core.store.db import Database
from core.store.models import Delivery, DeliveryAttempt, OutboxMessage, WebhookEndpoint, utcnow

log = logging.getLogger("docket.notifications")
_OFF = ("off", "0", "false", "no")


@dataclass(frozen=True)
class DispatcherConfig:
    concurrency: int = 4
    schedule: tuple[float, ...] = DEFAULT_SCHEDULE
    lease_seconds: float = 120.0
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    disable_after_days: float = 5.0
    per_target_limit: int | None = None  # None: half the threads (at least 1)
    poll_interval: float = 0.5
    allowlist: list | None = None        # None: DOCKET_OUTBOUND_ALLOWLIST at each request

    @classmethod
    def from_settings(cls, **overrides) -> "DispatcherConfig":
        s = config.setting
        base = cls(concurrency=int(s("DOCKET_WORKER_CONCURRENCY")),
                   schedule=configured_schedule(),
                   lease_seconds=float(s("DOCKET_WORKER_LEASE_SECONDS")),
                   connect_timeout=float(s("DOCKET_HTTP_CONNECT_TIMEOUT")),
                   read_timeout=float(s("DOCKET_HTTP_READ_TIMEOUT")),
                   disable_after_days=float(s("DOCKET_ENDPOINT_DISABLE_AFTER_DAYS")))
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def target_limit(self) -> int:
        return self.per_target_limit or max(1, math.ceil(self.concurrency / 2))

    @property
    def http(self) -> channels.HttpOptions:
        return channels.HttpOptions((self.connect_timeout, self.read_timeout), self.allowlist)


class Dispatcher:
    """One dispatcher process or thread group. `run_once` drains what is due now;
    `run_forever` keeps polling until its stop event is set."""

    def __init__(self, db: Database, cfg: DispatcherConfig | None = None,
                 worker_id: str | None = None):
        self.db = db
        self.config = cfg or DispatcherConfig.from_settings()
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._inflight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._rng = random.Random()
        self.processed = 0

    # --- claim ----------------------------------------------------------------------------

    def _due(self, now, exclude: list[str]):
        stmt = (select(Delivery.id)
                .where(Delivery.state == "pending", Delivery.next_attempt_at <= now,
                       not_leased(now))
                .order_by(Delivery.next_attempt_at, Delivery.id))
        if exclude:
            stmt = stmt.where(Delivery.target.not_in(exclude))
        return stmt

    def claim(self, limit: int = 1) -> list[tuple[int, str]]:
        """Lease up to `limit` due deliveries; returns (delivery id, claim token) pairs."""
        with self._lock:
            exclude = [t for t, n in self._inflight.items() if n >= self.config.target_limit]
        now = utcnow()
        with self.db.read() as s:  # cheap look first: no write transaction when idle
            candidates = list(s.scalars(self._due(now, exclude).limit(limit + 16)))
        if not candidates:
            return []
        token = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
        until = now + timedelta(seconds=self.config.lease_seconds)
        claimed: list[int] = []
        with self.db.unit_of_work() as s:
            if not self.db.is_sqlite:
                candidates = list(s.scalars(
                    self._due(now, exclude).limit(limit).with_for_update(skip_locked=True)))
            for delivery_id in candidates:
                if len(claimed) >= limit:
                    break
                result = s.execute(
                    update(Delivery)
                    .where(Delivery.id == delivery_id, Delivery.state == "pending",
                           Delivery.next_attempt_at <= now,  # still due: not just retried
                           not_leased(now))
                    .values(lease_until=until, leased_by=token)
                    .execution_options(synchronize_session=False))
                if result.rowcount == 1:
                    claimed.append(delivery_id)
        return [(i, token) for i in claimed]

    # --- one delivery ---------------------------------------------------------------------

    def _load(self, delivery_id: int, token: str) -> tuple[channels.Job, int] | None:
        with self.db.read() as s:
            d = s.get(Delivery, delivery_id)
            if d is None or d.leased_by != token:
                return None
            ob = s.get(OutboxMessage, d.outbox_id)
            job = channels.Job(d.id, d.message_id, d.case_id, d.channel, d.event_type,
                               d.target, dict(ob.payload), d.endpoint_id)
            if d.endpoint_id is not None:
                e = s.get(WebhookEndpoint, d.endpoint_id)
                if e is not None:
                    job.endpoint_url, job.endpoint_secrets = e.url, list(e.secrets or [])
                    job.endpoint_enabled, job.endpoint_disabled_reason = bool(e.enabled), e.disabled_reason
            return job, d.outbox_id

    def process(self, delivery_id: int, token: str) -> str:
        loaded = self._load(delivery_id, token)
        if loaded is None:
            return "lost"
        job, outbox_id = loaded
        with self._lock:
            self._inflight[job.target] = self._inflight.get(job.target, 0) + 1
        started, t0 = utcnow(), time.monotonic()
        try:
            outcome = channels.send(self.db, job, self.config.http)
        except Exception as e:  # a bug or the database: retry; the type only (no secrets)
            log.warning("delivery %s raised %s", job.delivery_id, type(e).__name__)
            outcome = channels.Outcome("retry", error=f"internal error: {type(e).__name__}")
        finally:
            with self._lock:
                self._inflight[job.target] -= 1
        duration_ms = int((time.monotonic() - t0) * 1000)
        kind = self._finish(job, outbox_id, token, outcome, started, duration_ms)
        with self._lock:
            self.processed += 1
        log.info("%s %s -> %s: %s", job.message_id, job.target, kind, outcome.error or "ok")
        return kind

    def _finish(self, job: channels.Job, outbox_id: int, token: str, outcome: channels.Outcome,
                started, duration_ms: int) -> str:
        now = utcnow()
        disabled: str | None = None
        with self.db.unit_of_work() as s:
            lock_outbox(self.db, s, outbox_id)
            attempts = s.scalar(select(Delivery.attempts).where(Delivery.id == job.delivery_id)) or 0
            number = attempts + 1
            kind, error, next_at = outcome.kind, outcome.error, None
            if kind == "retry":
                delay = next_delay(number, self.config.schedule, outcome.retry_after, self._rng)
                if delay is None:
                    kind, error = "failed", f"{error}; gave up after {number} attempts"
                else:
                    next_at = now + timedelta(seconds=delay)
            state = {"delivered": "delivered", "retry": "pending", "failed": "failed",
                     "skipped": "skipped"}[kind]
            values = {"state": state, "attempts": number, "lease_until": None, "leased_by": None,
                      "last_status_code": outcome.status_code,
                      "last_error": None if kind == "delivered" else error,
                      "finished_at": None if state == "pending" else now}
            if next_at is not None:
                values["next_attempt_at"] = next_at
            result = s.execute(update(Delivery)
                               .where(Delivery.id == job.delivery_id, Delivery.leased_by == token)
                               .values(**values).execution_options(synchronize_session=False))
            lost = result.rowcount != 1
            s.add(DeliveryAttempt(
                delivery_id=job.delivery_id, number=number, started_at=started,
                duration_ms=duration_ms, status_code=outcome.status_code,
                response_excerpt=(outcome.excerpt or "")[:EXCERPT_BYTES],
                error=((error or "") + " (lease expired before the attempt ended; "
                       "another worker owns the delivery)") if lost else error,
                outcome=kind, next_attempt_at=next_at, worker=self.worker_id[:100]))
            if lost:
                return "lost"
            if job.endpoint_id is not None:
                disabled = self._endpoint_health(s, job.endpoint_id, kind, outcome, now)
            if state != "pending":
                audit_final(s, job.case_id, kind, {
                    "channel": job.channel, "target": job.target, "message_id": job.message_id,
                    "event_type": job.event_type, "attempts": number,
                    "status_code": outcome.status_code, "error": error})
            settle_outbox(s, outbox_id)
        if disabled:
            fail_pending_for_endpoint(self.db, job.endpoint_id, disabled)
        return kind

    def _endpoint_health(self, s, endpoint_id: int, kind: str, outcome, now) -> str | None:
        e = s.get(WebhookEndpoint, endpoint_id)
        if e is None:
            return None
        if kind == "delivered":
            e.failing_since = None
            return None
        if kind not in ("retry", "failed"):
            return None
        reason = outcome.disable_endpoint
        if reason is None:
            if e.failing_since is None:
                e.failing_since = now
            elif now - e.failing_since >= timedelta(days=self.config.disable_after_days):
                reason = (f"failing continuously since {e.failing_since:%Y-%m-%d %H:%M} UTC "
                          f"(more than {self.config.disable_after_days:g} days)")
        if reason is None or not e.enabled:
            return None
        e.enabled, e.disabled_reason = False, reason
        audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind="endpoint.disabled",
                     after={"endpoint": e.id, "reason": reason})
        return reason

    # --- loops ----------------------------------------------------------------------------

    def _loop(self, stop: threading.Event, once: bool) -> None:
        while not stop.is_set():
            try:
                claimed = self.claim(1)
            except Exception as e:  # database unavailable: wait and try again
                log.warning("claim failed: %s", type(e).__name__)
                if once:
                    return
                stop.wait(max(self.config.poll_interval, 1.0))
                continue
            if not claimed:
                if once:
                    return
                stop.wait(self.config.poll_interval)
                continue
            for delivery_id, token in claimed:
                try:
                    self.process(delivery_id, token)
                except Exception as e:  # writing the result failed: the lease expires, retried
                    log.warning("delivery %s not recorded: %s", delivery_id, type(e).__name__)

    def _threads(self, stop: threading.Event, once: bool) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._loop, args=(stop, once), daemon=True,
                                    name=f"docket-delivery-{i}")
                   for i in range(max(1, self.config.concurrency))]
        for t in threads:
            t.start()
        return threads

    def run_once(self) -> int:
        """Send everything due now (retries falling due meanwhile included); returns the
        number of attempts made."""
        before = self.processed
        expand_pending(self.db)
        for t in self._threads(threading.Event(), once=True):
            t.join()
        return self.processed - before

    def run_forever(self, stop: threading.Event) -> None:
        threads = self._threads(stop, once=False)
        while not stop.is_set():
            try:
                expand_pending(self.db)
            except Exception as e:
                log.warning("expanding the outbox failed: %s", type(e).__name__)
            stop.wait(5.0)
        for t in threads:
            t.join()


_background: dict[str, tuple[threading.Thread, threading.Event]] = {}
_background_lock = threading.Lock()


def start_background_dispatcher(db: Database, cfg: DispatcherConfig | None = None
                                ) -> threading.Thread | None:
    """The embedded default: one daemon dispatcher thread per process and database (calling it
    again returns the running one). None when DOCKET_EMBEDDED_WORKER is off."""
    if config.setting("DOCKET_EMBEDDED_WORKER").strip().lower() in _OFF:
        return None
    with _background_lock:
        running = _background.get(db.url)
        if running is not None and running[0].is_alive():
            return running[0]
        stop = threading.Event()
        dispatcher = Dispatcher(db, cfg)
        thread = threading.Thread(target=dispatcher.run_forever, args=(stop,), daemon=True,
                                  name="docket-dispatcher")
        thread.start()
        _background[db.url] = (thread, stop)
        return thread


def stop_background_dispatcher(timeout: float = 15.0) -> None:
    """Stop every background dispatcher of this process (tests, shutdown)."""
    with _background_lock:
        items = list(_background.items())
        _background.clear()
    for _url, (thread, stop) in items:
        stop.set()
        thread.join(timeout)
