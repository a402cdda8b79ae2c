"""The dispatcher's database work, in batches: claim (lease) due deliveries, write back the
results of their attempts, push a target's deliveries past a circuit breaker's cool-down.

Each dispatcher thread that writes keeps one connection for its run (`Link`): no pool
check-out (and, on PostgreSQL, no ping) per transaction.

Claiming picks the due rows (at most `limit`, at most a quota per target, oldest first: a
window function over up to 4 × `limit` candidates) and leases them. On PostgreSQL that is one
statement in autocommit, one round trip: the candidates `FOR UPDATE SKIP LOCKED`, the
`UPDATE ... RETURNING` of the lease, joined to the job data (payload, endpoint URL and
secrets, the stored allow-list). On SQLite (one writer at a time) a cheap look on the read
engine first, then under the write lock (BEGIN IMMEDIATE) the pick, the conditional
`UPDATE ... WHERE lease expired` and the jobs read back by the claim token.

Recording (`record_batch`): one transaction per batch of results. The outbox rows are locked
in id order and the deliveries read (in id order, locked, one statement on PostgreSQL); only
those still leased by the claim token that sent them are settled (an attempt whose lease ran
out is logged, marked so, and changes nothing else). Then one executemany UPDATE of the
deliveries, one INSERT of the attempts, one of the audit events, one UPDATE settling the
outbox rows from their deliveries.
"""
from __future__ import annotations

import random
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from core.access.actors import SYSTEM_ACTOR
from core.notifications import channels
from core.notifications.retry import next_delay
from core.notifications.safe_http import EXCERPT_BYTES
from core.notifications.settle import fail_pending_for_endpoint, not_leased
from core.store import audit
from core.store.db import Database
from core.store.models import (
    Delivery,
    DeliveryAttempt,
    OutboxMessage,
    StoredSetting,
    WebhookEndpoint,
    utcnow,
)

STATE_OF = {"delivered": "delivered", "retry": "pending", "failed": "failed",
            "skipped": "skipped"}
D, OB, E = Delivery.__table__, OutboxMessage.__table__, WebhookEndpoint.__table__
ALLOWLIST_KEY = "outbound.allowlist"


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


@dataclass
class Batch:
    """What one claim leased, and the allow-list stored when it did (None: none stored)."""
    claimed: list[Claimed]
    stored_allowlist: str | None = None


class Link:
    """One write-engine connection kept by one thread for its run. A transaction that fails
    drops it (the next one checks out another); `lock`, if given, is held around each
    transaction (a dispatcher's threads take turns for SQLite's write lock instead of
    sleeping in its busy handler)."""

    def __init__(self, db: Database, *, autocommit: bool = False,
                 lock: threading.Lock | None = None):
        self.db, self.autocommit, self.lock = db, autocommit, lock
        self._conn = None

    @contextmanager
    def transaction(self):
        if self.lock is not None:
            with self.lock:
                with self._transaction() as conn:
                    yield conn
        else:
            with self._transaction() as conn:
                yield conn

    @contextmanager
    def _transaction(self):
        if self._conn is None:
            conn = self.db.write_engine.connect()
            if self.autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        try:
            with self._conn.begin():
                yield self._conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a broken connection: the pool discards it
                pass


def due(now, exclude: list[str]):
    """The due, unleased deliveries (id, target), oldest first."""
    stmt = (select(Delivery.id, Delivery.target)
            .where(Delivery.state == "pending", Delivery.next_attempt_at <= now, not_leased(now))
            .order_by(Delivery.next_attempt_at, Delivery.id))
    if exclude:
        stmt = stmt.where(Delivery.target.not_in(exclude))
    return stmt


def _due_now(has_exclude: bool):
    """`due` with bound parameters (`now`, `exclude`): built once, compiled once."""
    now = bindparam("now", type_=DateTime)
    stmt = (select(D.c.id, D.c.target)
            .where(D.c.state == "pending", D.c.next_attempt_at <= now,
                   or_(D.c.lease_until.is_(None), D.c.lease_until < now))
            .order_by(D.c.next_attempt_at, D.c.id))
    if has_exclude:
        stmt = stmt.where(D.c.target.not_in(bindparam("exclude", expanding=True)))
    return stmt


def _chosen(candidates, n_quotas: int):
    """The ids to lease among `candidates` (a CTE with an `id` column): oldest first, at most
    `lim`, at most the quota of each target (`qt<i>` -> `qn<i>`, else `dq`)."""
    quota = (case(*[(D.c.target == bindparam(f"qt{i}", type_=String),
                     bindparam(f"qn{i}", type_=Integer)) for i in range(n_quotas)],
                  else_=bindparam("dq", type_=Integer))
             if n_quotas else bindparam("dq", type_=Integer))
    ranked = (select(D.c.id, D.c.next_attempt_at,
                     func.row_number().over(partition_by=D.c.target,
                                            order_by=(D.c.next_attempt_at, D.c.id)).label("rn"),
                     quota.label("quota"))
              .join(candidates, candidates.c.id == D.c.id)).cte("ranked")
    return (select(ranked.c.id).where(ranked.c.rn <= ranked.c.quota)
            .order_by(ranked.c.next_attempt_at, ranked.c.id).limit(bindparam("lim")))


def _still_due():
    # re-checked by the UPDATE itself: a stale look never leases a delivery just retried
    now = bindparam("now", type_=DateTime)
    return and_(D.c.state == "pending", D.c.next_attempt_at <= now,
                or_(D.c.lease_until.is_(None), D.c.lease_until < now))


_JOB_COLUMNS = ("id", "message_id", "case_id", "channel", "event_type", "target", "endpoint_id",
                "outbox_id", "next_attempt_at")


def _jobs_select(leased):
    """The job data of the leased rows (`leased`: D or a CTE of its columns)."""
    stored = (select(StoredSetting.value).where(StoredSetting.key == ALLOWLIST_KEY)
              .scalar_subquery())
    return (select(*(leased.c[c] for c in _JOB_COLUMNS), OB.c.payload, E.c.url, E.c.secrets,
                   E.c.enabled, E.c.disabled_reason, stored.label("stored_allowlist"))
            .select_from(leased)
            .join(OB, OB.c.id == leased.c.outbox_id)
            .outerjoin(E, E.c.id == leased.c.endpoint_id)
            .order_by(leased.c.next_attempt_at, leased.c.id))


def _claim_statements(sqlite: bool, candidates, n_quotas: int) -> tuple:
    """PostgreSQL: (the one statement,); SQLite: (pick, lease, read back)."""
    chosen = _chosen(candidates, n_quotas)
    lease = {"lease_until": bindparam("until", type_=DateTime),
             "leased_by": bindparam("token", type_=String)}
    if sqlite:
        ids = bindparam("ids", expanding=True)
        return (chosen, update(D).where(D.c.id.in_(ids), _still_due()).values(lease),
                _jobs_select(D).where(D.c.id.in_(ids), D.c.leased_by == bindparam("token")))
    leased = (update(D).where(D.c.id.in_(chosen), _still_due()).values(lease)
              .returning(*(D.c[c] for c in _JOB_COLUMNS)).cte("leased"))
    return (_jobs_select(leased),)


@lru_cache(maxsize=256)
def _standard_claim(sqlite: bool, has_exclude: bool, n_quotas: int) -> tuple:
    """The claim statements of the standard pick, built once per shape (building them in
    SQLAlchemy costs more CPU than running them)."""
    candidates = _due_now(has_exclude).limit(bindparam("lookahead"))
    if not sqlite:
        candidates = candidates.with_for_update(skip_locked=True)
    return (_due_now(has_exclude).limit(1),
            *_claim_statements(sqlite, candidates.cte("cand"), n_quotas))


def claim_batch(link: Link, token: str, *, limit: int, lease_seconds: float,
                exclude: list[str], quotas: dict[str, int], default_quota: int,
                due: Callable | None = None) -> Batch:
    """Lease up to `limit` due deliveries (at most `quotas.get(target, default_quota)` per
    target) and return them ready to send. `due(now, exclude)`: another pick of the
    candidates (tests); None: the standard one (`due` above)."""
    if limit <= 0:
        return Batch([])
    db = link.db
    now = utcnow()
    params = {"now": now, "until": now + timedelta(seconds=lease_seconds), "token": token,
              "lim": limit, "lookahead": limit * 4, "dq": default_quota}
    for i, (target, n) in enumerate(sorted(quotas.items())):
        params[f"qt{i}"], params[f"qn{i}"] = target, n
    if exclude:
        params["exclude"] = list(exclude)
    if due is None:
        look, *statements = _standard_claim(db.is_sqlite, bool(exclude), len(quotas))
    else:
        candidates = due(now, exclude).limit(bindparam("lookahead"))
        if not db.is_sqlite:
            candidates = candidates.with_for_update(skip_locked=True)
        look = due(now, exclude).limit(1)
        statements = _claim_statements(db.is_sqlite, candidates.cte("cand"), len(quotas))
    if db.is_sqlite:
        with db.read_engine.connect() as c:  # a cheap look: no write lock when nothing is due
            if c.execute(look, params).first() is None:
                return Batch([])
        pick, lease, read_back = statements
        with link.transaction() as conn:
            params["ids"] = [r[0] for r in conn.execute(pick, params)]
            if not params["ids"]:
                return Batch([])
            conn.execute(lease, params)
            rows = conn.execute(read_back, params).all()
    else:
        with link.transaction() as conn:  # autocommit: one statement, one round trip
            rows = conn.execute(statements[0], params).all()
    out = []
    for r in rows:
        job = channels.Job(r.id, r.message_id, r.case_id, r.channel, r.event_type, r.target,
                           dict(r.payload), r.endpoint_id)
        if r.endpoint_id is not None and r.url is not None:
            job.endpoint_url, job.endpoint_secrets = r.url, list(r.secrets or [])
            job.endpoint_enabled, job.endpoint_disabled_reason = bool(r.enabled), r.disabled_reason
        out.append(Claimed(job, r.outbox_id, token))
    return Batch(out, rows[0].stored_allowlist if rows else None)


def any_due(db: Database, exclude: list[str], pick: Callable | None = None) -> bool:
    """Whether any delivery is due and unleased (locked by a claim or not); `pick`: as
    `due` (None: `due`)."""
    with db.read_engine.connect() as c:
        return c.execute((pick or due)(utcnow(), exclude).limit(1)).first() is not None


def defer_target(link: Link, target: str, until: datetime) -> int:
    """A target's circuit opened: its waiting, unleased deliveries wait until `until`
    (not an attempt)."""
    now = utcnow()
    with link.transaction() as conn:
        result = conn.execute(update(D).where(D.c.target == target, D.c.state == "pending",
                                              D.c.next_attempt_at < until, not_leased(now))
                              .values(next_attempt_at=until))
        return result.rowcount or 0


@dataclass
class Settings:
    schedule: tuple[float, ...]
    disable_after_days: float
    worker_id: str
    rng: random.Random


@lru_cache(maxsize=2)
def _record_statements(sqlite: bool) -> dict:
    """The statements of `record_batch`, built once (expanding `ids`, `oids`, `eids`)."""
    ids, oids = bindparam("ids", expanding=True), bindparam("oids", expanding=True)
    held = (select(D.c.id, D.c.attempts, D.c.leased_by, D.c.next_attempt_at)
            .where(D.c.id.in_(ids)).order_by(D.c.id))
    if not sqlite:
        # the outbox rows locked first, in id order (serialises settling one outbox row's
        # deliveries across workers), then the deliveries: one statement, one round trip
        locked = (select(OB.c.id).where(OB.c.id.in_(oids)).order_by(OB.c.id)
                  .with_for_update().cte("locked_outbox"))
        held = (held.where(select(func.count()).select_from(locked).scalar_subquery() >= 0)
                .with_for_update(of=D))
    # the outbox rows' states from their deliveries (as settle.settle_outbox: pending while
    # any is pending, else failed, else delivered, else skipped), one UPDATE for the batch
    rank = case((D.c.state == "pending", 4), (D.c.state == "failed", 3),
                (D.c.state == "delivered", 2), else_=1)
    agg = (select(D.c.outbox_id.label("oid"), func.max(rank).label("r"))
           .where(D.c.outbox_id.in_(oids)).group_by(D.c.outbox_id).subquery())
    state = case((agg.c.r == 4, "pending"), (agg.c.r == 3, "failed"),
                 (agg.c.r == 2, "delivered"), else_="skipped")
    delivered_now = and_(agg.c.r == 2, OB.c.delivered_at.is_(None))
    settle = (update(OB).where(OB.c.id == agg.c.oid, or_(OB.c.state != state, delivered_now))
              .values(state=state, delivered_at=case(
                  (delivered_now, bindparam("now", type_=DateTime)), else_=OB.c.delivered_at)))
    return {"held": held, "settle": settle,
            "deliveries": update(D).where(D.c.id == bindparam("b_id")),
            "attempts": insert(DeliveryAttempt.__table__),
            "endpoints": select(E.c.id, E.c.enabled, E.c.failing_since)
            .where(E.c.id.in_(bindparam("eids", expanding=True)))}


def record_batch(link: Link, results: list[Result], cfg: Settings) -> dict[int, str]:
    """Write back a batch of results in one transaction; returns {delivery id: kind} (`lost`
    where the lease had passed to another worker, `deferred` for a breaker's release)."""
    if not results:
        return {}
    db = link.db
    now = utcnow()
    kinds: dict[int, str] = {}
    results = sorted(results, key=lambda r: r.claimed.job.delivery_id)
    ids = [r.claimed.job.delivery_id for r in results]
    outbox_ids = sorted({r.claimed.outbox_id for r in results})
    endpoint_ids = sorted({r.claimed.job.endpoint_id for r in results
                           if r.outcome is not None and r.claimed.job.endpoint_id is not None})
    sql = _record_statements(db.is_sqlite)
    with link.transaction() as conn:
        held = {r.id: r for r in conn.execute(sql["held"], {"ids": ids, "oids": outbox_ids})}
        health = _Health(conn, sql["endpoints"], endpoint_ids, now, cfg.disable_after_days)
        updates, attempts, events = [], [], []
        for r in results:
            job, token = r.claimed.job, r.claimed.token
            row = held.get(job.delivery_id)
            lost = row is None or row.leased_by != token
            if r.outcome is None:  # released unsent: the breaker's cool-down
                kinds[job.delivery_id] = "lost" if lost else "deferred"
                if not lost:
                    updates.append({"b_id": job.delivery_id, "lease_until": None,
                                    "leased_by": None,
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
            updates.append({"b_id": job.delivery_id, "state": state, "attempts": number,
                            "lease_until": None, "leased_by": None,
                            "last_status_code": outcome.status_code,
                            "last_error": None if kind == "delivered" else error,
                            "finished_at": None if state == "pending" else now,
                            "next_attempt_at": next_at or row.next_attempt_at})
            if job.endpoint_id is not None:
                health.note(job.endpoint_id, kind, outcome)
            if state != "pending":
                events.append({"case_id": job.case_id, "actor": SYSTEM_ACTOR,
                               "kind": f"notification.{kind}", "after": {
                                   "channel": job.channel, "target": job.target,
                                   "message_id": job.message_id, "event_type": job.event_type,
                                   "attempts": number, "status_code": outcome.status_code,
                                   "error": error}})
        health.write()  # endpoint changes first, then the bulk statements
        for keys in {tuple(sorted(u)) for u in updates}:  # one executemany per shape
            same = [u for u in updates if tuple(sorted(u)) == keys]
            conn.execute(sql["deliveries"], same)
        if attempts:
            conn.execute(sql["attempts"], attempts)
        if health.events or events:
            with Session(bind=conn) as s:  # joins the connection's transaction
                audit.record_many(s, health.events + events)
        conn.execute(sql["settle"], {"oids": outbox_ids, "now": now})
    for endpoint_id, reason in health.disabled.items():
        fail_pending_for_endpoint(db, endpoint_id, reason)
    return kinds


class _Health:
    """The endpoints of a batch: failing since when, disabled (410, or failing for days)."""

    def __init__(self, conn, read, endpoint_ids: list[int], now, disable_after_days: float):
        self.conn, self.now, self.days = conn, now, disable_after_days
        self.rows: dict[int, dict] = {}
        if endpoint_ids:
            self.rows = {r.id: {"enabled": r.enabled, "failing_since": r.failing_since}
                         for r in conn.execute(read, {"eids": endpoint_ids})}
        self.changed: dict[int, dict] = {}
        self.disabled: dict[int, str] = {}
        self.events: list[dict] = []

    def _set(self, endpoint_id: int, **values) -> None:
        self.rows[endpoint_id].update(values)
        self.changed.setdefault(endpoint_id, {}).update(values)

    def note(self, endpoint_id: int, kind: str, outcome) -> None:
        e = self.rows.get(endpoint_id)
        if e is None:
            return
        if kind == "delivered":
            if e["failing_since"] is not None:
                self._set(endpoint_id, failing_since=None)
            return
        if kind not in ("retry", "failed"):
            return
        reason = outcome.disable_endpoint
        if reason is None:
            since = e["failing_since"]
            if since is None:
                self._set(endpoint_id, failing_since=self.now)
            elif self.now - since >= timedelta(days=self.days):
                reason = (f"failing continuously since {since:%Y-%m-%d %H:%M} UTC "
                          f"(more than {self.days:g} days)")
        if reason is None or not e["enabled"]:
            return
        self._set(endpoint_id, enabled=False, disabled_reason=reason)
        self.disabled[endpoint_id] = reason
        self.events.append({"case_id": None, "actor": SYSTEM_ACTOR, "kind": "endpoint.disabled",
                            "after": {"endpoint": endpoint_id, "reason": reason}})

    def write(self) -> None:
        for endpoint_id, values in self.changed.items():
            self.conn.execute(update(E).where(E.c.id == endpoint_id).values(**values))
