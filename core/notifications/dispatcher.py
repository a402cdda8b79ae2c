"""The dispatcher: claims due deliveries in batches, sends them from a pool of threads,
writes the results back in batches, retries or settles.

Several dispatchers may run at once (`python -m core worker`, the app's background thread).
A claim is a lease, taken for a batch of due deliveries (`leases.py`: on PostgreSQL one
statement, `FOR UPDATE SKIP LOCKED` and `UPDATE ... RETURNING`; on SQLite a conditional
`UPDATE ... WHERE lease expired` under the write lock). Sending happens outside any
transaction, on `concurrency` threads, while the coordinating thread claims the next batch
and a writer thread writes the results of the last ones (one transaction per batch, on a
connection of its own, so writing never waits for claiming nor the reverse); a result is
written back only by the lease holder (`WHERE leased_by = <claim token>`), so a worker whose
lease ran out cannot overwrite a newer claim. A worker killed mid-delivery leaves a lease
that expires; the delivery is then retried with the same webhook-id.

Fairness: within one dispatcher a target (endpoint, SMTP, SMS, CRM) gets at most half the
threads and half the claimed-but-unsent slots, and each target has a circuit breaker
(`breaker.py`, DOCKET_BREAKER_FAILURES / DOCKET_BREAKER_COOLDOWN_SECONDS): after consecutive
failures its deliveries wait out a cool-down unclaimed, so a slow or dead endpoint never
holds up the others. HTTP connections are kept alive per checked (host, port, address)
(`safe_http.ConnectionPools`).
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

from core import config, settings_store
from core.embedded import EmbeddedThreads
from core.errors import InvalidInput
from core.notifications import channels, circuit_board, leases, safe_http
from core.notifications.breaker import Breakers
from core.notifications.fanout import expand_pending
from core.notifications.retry import DEFAULT_SCHEDULE, configured_schedule
from core.store.db import Database
from core.store.models import utcnow

log = logging.getLogger("docket.notifications")
WRITE_BATCH = 512   # results written in one transaction, at most
WRITE_WAIT = 0.05   # seconds the writer waits for a batch to fill while sends are under way


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
    allowlist: list | None = None        # None: the stored one / DOCKET_OUTBOUND_ALLOWLIST, per batch
    batch_size: int | None = None        # deliveries claimed ahead; None: 32 per thread (64+)
    breaker_failures: int = 10           # consecutive failures that open a target's circuit
    breaker_cooldown: float = 30.0       # seconds an open circuit keeps its deliveries waiting

    @classmethod
    def from_settings(cls, **overrides) -> "DispatcherConfig":
        """The worker settings from the environment, each checked: a bad value is an
        InvalidInput naming the variable (the worker and the app stop at start)."""
        base = cls(concurrency=_number("DOCKET_WORKER_CONCURRENCY", int, 1, 256),
                   schedule=configured_schedule(),
                   lease_seconds=_number("DOCKET_WORKER_LEASE_SECONDS", float, 1, 86400),
                   connect_timeout=_number("DOCKET_HTTP_CONNECT_TIMEOUT", float, 0.1, 3600),
                   read_timeout=_number("DOCKET_HTTP_READ_TIMEOUT", float, 0.1, 3600),
                   disable_after_days=_number("DOCKET_ENDPOINT_DISABLE_AFTER_DAYS", float,
                                              0.01, 3650),
                   breaker_failures=_number("DOCKET_BREAKER_FAILURES", int, 1, 10000),
                   breaker_cooldown=_number("DOCKET_BREAKER_COOLDOWN_SECONDS", float, 1, 86400))
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def target_limit(self) -> int:
        return self.per_target_limit or max(1, math.ceil(self.concurrency / 2))

    @property
    def capacity(self) -> int:
        """Deliveries claimed and not yet written back, at most."""
        return max(1, self.batch_size or max(64, 32 * self.concurrency))

    @property
    def http(self) -> channels.HttpOptions:
        return channels.HttpOptions((self.connect_timeout, self.read_timeout), self.allowlist)


def _number(env: str, kind: type, low: float, high: float):
    """A numeric setting within [low, high], else InvalidInput saying which and why."""
    text = config.setting(env).strip()
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(text)
    except ValueError:
        raise InvalidInput(f"{env} must be {what} from {low:g} to {high:g}, got {text!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise InvalidInput(f"{env} must be {what} from {low:g} to {high:g}, got {text!r}")
    return value


class Dispatcher:
    """One dispatcher process or thread group. `run_once` drains what is due now;
    `run_forever` keeps polling until its stop event is set."""

    def __init__(self, db: Database, cfg: DispatcherConfig | None = None,
                 worker_id: str | None = None):
        self.db = db
        self.config = cfg or DispatcherConfig.from_settings()
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.pools = safe_http.ConnectionPools(maxsize=self.config.target_limit)
        self.breakers = Breakers(self.config.breaker_failures, self.config.breaker_cooldown,
                                 db.url)
        self._cv = threading.Condition()
        self._queue: list[leases.Claimed] = []     # claimed, not sent yet
        self._inflight: dict[str, int] = {}        # being sent, per target
        self._held: dict[str, int] = {}            # claimed and not sent yet, per target
        self._results: list[leases.Result] = []    # sent (or released), not written back
        self._writing = 0                          # results being written now
        self._sent_since_claim = 0
        self._opened: dict[str, float] = {}        # circuits opened since the last write
        self._stopping = self._flushing = False
        self._rng = random.Random()
        self._settings = leases.Settings(self.config.schedule, self.config.disable_after_days,
                                         self.worker_id, self._rng)
        # one connection for the claims (the coordinating thread), one for the results (the
        # writer thread); on SQLite they take turns for the write lock in-process
        turns = threading.Lock() if db.is_sqlite else None
        self._claim_link = leases.Link(db, autocommit=not db.is_sqlite, lock=turns)
        self._write_link = leases.Link(db, lock=turns)
        self._allowlists: dict[tuple, list] = {}
        self._last_exclude: list[str] = []
        self.processed = 0

    @property
    def _held_cap(self) -> int:
        return max(self.config.target_limit, self.config.capacity // 2)

    # --- claim ----------------------------------------------------------------------------

    _due = None  # None: the standard pick (leases.due); a test may put another here

    def _allowlist(self, stored: str | None) -> list:
        """The allow-list the claim read (the stored one, else the environment's), parsed
        once per distinct value."""
        env = config.setting("DOCKET_OUTBOUND_ALLOWLIST")
        nets = self._allowlists.get((stored, env))
        if nets is None:
            nets = (settings_store.parse_allowlist(stored) if stored is not None else
                    settings_store.parse_allowlist(env, "DOCKET_OUTBOUND_ALLOWLIST",
                                                   allow_everything=True))
            self._allowlists = {(stored, env): nets}
        return nets

    def claim(self, limit: int = 1) -> list[leases.Claimed]:
        """Lease up to `limit` due deliveries, in one transaction."""
        with self._cv:
            held = dict(self._held)
        cap = self._held_cap
        blocked = set(self.breakers.blocked())
        exclude = sorted({t for t, n in held.items() if n >= cap} | blocked)
        quotas = {}
        for target in set(held) | set(self.breakers.targets()):
            if target in blocked:
                continue
            allowed = self.breakers.allowed(target)
            room = cap - held.get(target, 0)
            quotas[target] = room if allowed is None else min(room, allowed)
        token = f"{self.worker_id}:{uuid.uuid4().hex[:8]}"
        self._last_exclude = exclude
        batch = leases.claim_batch(self._claim_link, token, limit=limit, exclude=exclude,
                                   quotas=quotas, default_quota=cap,
                                   lease_seconds=self.config.lease_seconds, due=self._due)
        claimed = batch.claimed
        if not claimed:
            return []
        opts = self.config.http
        if opts.allowlist is None:  # read by the claim: a change applies to the next batch
            opts = replace(opts, allowlist=self._allowlist(batch.stored_allowlist))
        opts = replace(opts, pools=self.pools)
        now = time.monotonic()
        for c in claimed:
            c.opts, c.claimed_at = opts, now
            if self.breakers.allowed(c.job.target) == 1:  # half-open: this one is the probe
                c.probe = True
                self.breakers.probe_started(c.job.target)
        return claimed

    def _raced(self) -> bool:
        """After a claim that leased nothing: are there due deliveries all the same? On
        PostgreSQL another worker's claim may have held them (SKIP LOCKED) for the moment;
        `run_once` must not end on that."""
        if self.db.is_sqlite:
            return False
        return leases.any_due(self.db, self._last_exclude, self._due)

    # --- sending (the threads) ------------------------------------------------------------

    def _next(self) -> leases.Claimed | None:
        limit = self.config.target_limit
        for i, c in enumerate(self._queue):
            if self._inflight.get(c.job.target, 0) < limit:
                return self._queue.pop(i)
        return None

    def _send_loop(self) -> None:
        while True:
            with self._cv:
                while not self._stopping and (c := self._next()) is None:
                    self._cv.wait()
                if self._stopping:
                    return
                target = c.job.target
                self._inflight[target] = self._inflight.get(target, 0) + 1
            try:
                result = self._send(c)
            finally:
                with self._cv:
                    self._inflight[target] -= 1
                    self._held[target] -= 1
                    self._sent_since_claim += 1
                    self._results.append(result)
                    self._cv.notify_all()

    def _not_before(self, target: str):
        until = self.breakers.open_until(target)
        now = time.monotonic()
        if until is None or until <= now:
            return None
        return utcnow() + timedelta(seconds=until - now)

    def _send(self, c: leases.Claimed) -> leases.Result:
        target = c.job.target
        if not c.probe and self.breakers.allowed(target) == 0:  # opened since the claim
            return leases.Result(c, None, not_before=self._not_before(target))
        if time.monotonic() - c.claimed_at > self.config.lease_seconds / 2:
            return leases.Result(c, None)  # waited half its lease unsent: give it back
        started, t0 = utcnow(), time.monotonic()
        try:
            outcome = channels.send(self.db, c.job, c.opts)
        except Exception as e:  # a bug or the database: retry; the type only (no secrets)
            log.warning("delivery %s raised %s", c.job.delivery_id, type(e).__name__)
            outcome = channels.Outcome("retry", error=f"internal error: {type(e).__name__}")
        duration_ms = int((time.monotonic() - t0) * 1000)
        opened = self.breakers.record(target, outcome.kind, outcome.status_code)
        if opened is not None:
            with self._cv:
                self._opened[target] = opened
                self._cv.notify_all()
            log.warning("circuit of %s opened for %g s", target, self.config.breaker_cooldown)
        return leases.Result(c, outcome, started, duration_ms, self._not_before(target))

    # --- writing back (the writer thread) -------------------------------------------------

    def _write_loop(self) -> None:
        """Writes the results back while the coordinating thread claims: everything sent
        since the last write goes in the next transaction (up to WRITE_BATCH; while sends are
        under way it waits up to WRITE_WAIT for half a claim's worth)."""
        fill = max(1, self.config.capacity // 2)
        while True:
            with self._cv:
                while not self._results and not self._opened and not self._flushing:
                    self._cv.wait()
                if not self._results and not self._opened:
                    return  # flushing, and nothing is left
                # while sends are under way, a short wait fills the batch
                deadline = time.monotonic() + WRITE_WAIT
                while (len(self._results) < fill and not self._opened and not self._flushing
                       and sum(self._held.values())
                       and (left := deadline - time.monotonic()) > 0):
                    self._cv.wait(left)
            self._write()

    def _write(self) -> None:
        with self._cv:
            results, self._results = self._results[:WRITE_BATCH], self._results[WRITE_BATCH:]
            opened, self._opened = self._opened, {}
            for target in opened:  # claimed, not sent: released until the cool-down ends
                keep = [c for c in self._queue if c.job.target != target or c.probe]
                released = [c for c in self._queue if c not in keep]
                results += [leases.Result(c, None, not_before=self._not_before(target))
                            for c in released]
                self._held[target] = self._held.get(target, 0) - len(released)
                self._queue = keep
            self._writing = len(results)
        try:
            self._record(opened, results)
        finally:
            with self._cv:
                self._writing = 0
                self._cv.notify_all()

    def _record(self, opened: dict[str, float], results: list[leases.Result]) -> None:
        self._publish_circuits()
        for target in opened:
            until = self._not_before(target)
            if until is not None:
                try:
                    leases.defer_target(self._write_link, target, until)
                except Exception as e:
                    log.warning("deferring %s failed: %s", target, type(e).__name__)
        if not results:
            return
        for r in results:  # a circuit open now: no retry before its cool-down ends
            until = self._not_before(r.claimed.job.target)
            if until is not None and (r.not_before is None or until > r.not_before):
                r.not_before = until
        try:
            kinds = leases.record_batch(self._write_link, results, self._settings)
        except Exception as e:  # writing the results failed: the leases expire, retried
            log.warning("%d results not recorded: %s", len(results), type(e).__name__)
            kinds = {}
        with self._cv:
            self.processed += sum(1 for r in results if r.outcome is not None)
        if log.isEnabledFor(logging.INFO):
            for r in results:
                if r.outcome is not None:
                    log.info("%s %s -> %s: %s", r.claimed.job.message_id, r.claimed.job.target,
                             kinds.get(r.claimed.job.delivery_id, "not recorded"),
                             r.outcome.error or "ok")

    def _publish_circuits(self, stopping: bool = False) -> None:
        """Circuits opened or closed since the last write, for the Deliveries page of every
        app server (circuit_board); a stopping worker's rows go."""
        changed = self.breakers.changed()
        if not changed and not stopping:
            return
        try:
            with self._write_link.transaction() as conn:
                if stopping:
                    circuit_board.forget(conn, self.worker_id)
                else:
                    circuit_board.publish(conn, self.worker_id, changed)
        except Exception as e:  # a report only: the breakers work without it
            log.warning("circuits not published: %s", type(e).__name__)

    # --- the coordinating thread: claims ----------------------------------------------------

    def _coordinate(self, stop: threading.Event, once: bool) -> None:
        capacity = self.config.capacity
        refill = max(1, capacity // 4)
        idle_poll = self.config.poll_interval / min(4, max(1, self.config.concurrency))
        expanded = time.monotonic()
        found_none = -math.inf  # when a claim last found nothing due
        raced = 0
        while not stop.is_set():
            if not once and time.monotonic() - expanded >= 5.0:
                expanded = time.monotonic()
                try:
                    expand_pending(self.db)
                except Exception as e:
                    log.warning("expanding the outbox failed: %s", type(e).__name__)
            with self._cv:
                busy = sum(self._held.values())
                unwritten = len(self._results) + self._writing
                sent, queued = self._sent_since_claim, len(self._queue)
            claimed: list[leases.Claimed] = []
            # claim again once a quarter of the slots went out since the last claim, or the
            # queue ran dry; while sends are under way, no sooner than the idle poll after a
            # claim that found nothing; not while the writer is far behind
            if not busy or (capacity - busy > 0 and (sent >= refill or not queued)
                            and time.monotonic() - found_none >= idle_poll
                            and unwritten < 4 * capacity):
                with self._cv:
                    self._sent_since_claim = 0
                try:
                    claimed = self.claim(capacity - busy)
                except Exception as e:  # database unavailable: wait and try again
                    log.warning("claim failed: %s", type(e).__name__)
                    if once and not busy and not unwritten:
                        return
                    stop.wait(max(self.config.poll_interval, 1.0))
                    continue
                if not claimed:
                    found_none = time.monotonic()
                    if once and not busy and not unwritten and raced < 50 and self._raced():
                        raced += 1  # due rows locked by another worker's claim: look again
                        stop.wait(0.02)
                        continue
                    raced = 0
            with self._cv:
                if claimed:
                    self._queue += claimed
                    for c in claimed:
                        self._held[c.job.target] = self._held.get(c.job.target, 0) + 1
                    self._cv.notify_all()
                    continue
                if sum(self._held.values()) or self._results or self._writing:
                    # sends or writes under way: look again when one ends (retries falling
                    # due meanwhile included)
                    self._cv.wait(idle_poll)
                    continue
                if once:
                    return
            # idle: look again soon (as often as the four polling threads of old did)
            stop.wait(idle_poll)

    def _run(self, stop: threading.Event, once: bool) -> None:
        self._stopping = self._flushing = False
        threads = [threading.Thread(target=self._send_loop, daemon=True,
                                    name=f"docket-delivery-{i}")
                   for i in range(max(1, self.config.concurrency))]
        writer = threading.Thread(target=self._write_loop, daemon=True,
                                  name="docket-delivery-writer")
        for t in (*threads, writer):
            t.start()
        try:
            self._coordinate(stop, once)
        finally:
            with self._cv:  # claimed, unsent: give them back now
                self._results += [leases.Result(c, None) for c in self._queue]
                for c in self._queue:
                    self._held[c.job.target] -= 1
                self._queue = []
                self._stopping = True
                self._cv.notify_all()
            for t in threads:
                t.join()
            with self._cv:  # the writer writes what is left, then ends
                self._flushing = True
                self._cv.notify_all()
            writer.join()
            self._publish_circuits(stopping=True)
            self._claim_link.close()
            self._write_link.close()
            self.pools.close()  # kept alive for one run: nothing idles open in between

    def run_once(self) -> int:
        """Send everything due now (retries falling due meanwhile included); returns the
        number of attempts made."""
        before = self.processed
        expand_pending(self.db)
        self._run(threading.Event(), once=True)
        return self.processed - before

    def run_forever(self, stop: threading.Event) -> None:
        try:
            expand_pending(self.db)
        except Exception as e:
            log.warning("expanding the outbox failed: %s", type(e).__name__)
        self._run(stop, once=False)


_embedded = EmbeddedThreads("docket-dispatcher")


def start_background_dispatcher(db: Database, cfg: DispatcherConfig | None = None
                                ) -> threading.Thread | None:
    """The embedded default: one daemon dispatcher thread per process and database (calling it
    again returns the running one). None when DOCKET_EMBEDDED_WORKER is off."""
    return _embedded.start(db.url, lambda: Dispatcher(db, cfg).run_forever)


def stop_background_dispatcher(timeout: float = 15.0) -> None:
    """Stop every background dispatcher of this process (tests, shutdown)."""
    _embedded.stop_all(timeout)
