"""The screener's worker side of the queue of cases to screen (`screening_jobs`; cases are
queued by core/cases/screening_queue.py): claim a batch with a lease, finish it, count.

Claiming takes the oldest claimable jobs — never claimed, or whose lease ran out — and
leases them to the worker (`claimed_by`, `claimed_until`). PostgreSQL: one statement in
autocommit, the candidates `FOR UPDATE SKIP LOCKED` (two workers never wait for, nor get,
the same job) and the `UPDATE ... RETURNING`. SQLite (one writer at a time): a cheap look on
the read engine first, then under the write lock (BEGIN IMMEDIATE) the pick and a
conditional UPDATE (`WHERE the lease is free`), read back by the worker's lease. The same
approach as the notification dispatcher (core/notifications/leases.py).

`done` deletes the jobs the worker still holds. A job queued again while the worker held it
(core/cases/screening_queue.py) is no longer the worker's: `done` leaves it and ends its
lease, so the next claim screens the case again.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import DateTime, String, bindparam, delete, func, or_, select, update

from core.errors import InvalidInput
from core.store.db import Database
from core.store.models import utcnow
from core.store.screening_list_models import ScreeningJob

J = ScreeningJob.__table__
MAX_BATCH = 1000


def _worker(worker_id: str) -> str:
    worker_id = (worker_id or "").strip()
    if not worker_id or len(worker_id) > 100:
        raise InvalidInput("the screening worker was refused",
                           ["worker_id: 1 to 100 characters naming the worker"])
    return worker_id


def _free(now):
    return or_(J.c.claimed_until.is_(None), J.c.claimed_until < now)


def _candidates(now, limit: int, lock: bool):
    """The oldest claimable jobs: never claimed (index order: claimed_until NULL, queued_at)
    and those whose lease ran out, each branch read through `ix_screening_jobs_claim`."""
    fresh = (select(J.c.case_id, J.c.queued_at).where(J.c.claimed_until.is_(None))
             .order_by(J.c.queued_at).limit(limit))
    expired = (select(J.c.case_id, J.c.queued_at).where(J.c.claimed_until < now)
               .order_by(J.c.claimed_until).limit(limit))
    if lock:
        fresh = fresh.with_for_update(skip_locked=True)
        expired = expired.with_for_update(skip_locked=True)
    return fresh.cte("fresh"), expired.cte("expired")


def claim(db: Database, worker_id: str, limit: int = 200, lease_seconds: float = 120) -> list[str]:
    """Leases up to `limit` of the oldest claimable jobs to `worker_id` for `lease_seconds`;
    returns their case ids, oldest first."""
    worker_id = _worker(worker_id)
    limit = max(0, min(int(limit), MAX_BATCH))
    if limit == 0:
        return []
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    params = {"now": now, "until": until, "worker": worker_id}
    now_p = bindparam("now", type_=DateTime)
    lease = {"claimed_by": bindparam("worker", type_=String),
             "claimed_until": bindparam("until", type_=DateTime)}
    if db.is_sqlite:
        fresh, expired = _candidates(now_p, limit, lock=False)
        with db.read_engine.connect() as c:  # nothing to claim: no write lock taken
            if c.execute(select(J.c.case_id).where(_free(now_p)).limit(1), params).first() is None:
                return []
        both = select(fresh.c.case_id, fresh.c.queued_at).union_all(
            select(expired.c.case_id, expired.c.queued_at)).subquery()
        pick = select(both.c.case_id).order_by(both.c.queued_at).limit(limit)
        with db.write_engine.begin() as conn:
            ids = [r[0] for r in conn.execute(pick, params)]
            if not ids:
                return []
            conn.execute(update(J).where(J.c.case_id.in_(ids), _free(now_p)).values(lease),
                         params)
            rows = conn.execute(select(J.c.case_id).where(
                J.c.case_id.in_(ids), J.c.claimed_by == bindparam("worker", type_=String),
                J.c.claimed_until == bindparam("until", type_=DateTime))
                .order_by(J.c.queued_at, J.c.case_id), params).all()
        return [r[0] for r in rows]
    fresh, expired = _candidates(now_p, limit, lock=True)
    both = select(fresh.c.case_id, fresh.c.queued_at).union_all(
        select(expired.c.case_id, expired.c.queued_at)).subquery()
    chosen = select(both.c.case_id).order_by(both.c.queued_at).limit(limit)
    leased = (update(J).where(J.c.case_id.in_(chosen), _free(now_p)).values(lease)
              .returning(J.c.case_id, J.c.queued_at))
    with db.write_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        rows = conn.execute(leased, params).all()
    return [r.case_id for r in sorted(rows, key=lambda r: (r.queued_at, r.case_id))]


def done(db: Database, worker_id: str, case_ids: list[str]) -> int:
    """The worker finished these cases: deletes the jobs it still holds; a job queued again
    meanwhile stays, its lease ended so the next claim takes it. Returns how many were
    deleted."""
    worker_id = _worker(worker_id)
    ids = list(dict.fromkeys(case_ids))
    deleted = 0
    with db.unit_of_work() as s:
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            result = s.execute(delete(J).where(J.c.case_id.in_(chunk),
                                               J.c.claimed_by == worker_id))
            deleted += result.rowcount or 0
            s.execute(update(J).where(J.c.case_id.in_(chunk), J.c.claimed_by.is_(None),
                                      J.c.claimed_until.is_not(None))
                      .values(claimed_until=None))
    return deleted


def release(db: Database, worker_id: str, case_ids: list[str]) -> int:
    """The worker gives these jobs back unfinished (it is stopping): they are claimable at
    once, in their place in the queue. Returns how many were released."""
    worker_id = _worker(worker_id)
    ids = list(dict.fromkeys(case_ids))
    released = 0
    with db.unit_of_work() as s:
        for i in range(0, len(ids), 500):
            result = s.execute(update(J).where(J.c.case_id.in_(ids[i:i + 500]),
                                               J.c.claimed_by == worker_id)
                               .values(claimed_by=None, claimed_until=None))
            released += result.rowcount or 0
    return released


def pending(db: Database) -> int:
    """Cases waiting to be screened or being screened."""
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(J)) or 0)


def claimable(db: Database) -> int:
    """Cases waiting that a worker could claim now (not under a lease)."""
    now = utcnow()
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(J).where(_free(now))) or 0)

