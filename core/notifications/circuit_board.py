"""Every worker's circuit breakers, through the database: each dispatcher writes a row when one
of its circuits opens and deletes it when the circuit closes or the worker stops, so the
Deliveries page shows the circuits of separate `python -m core worker` processes, not only of
the app's own embedded worker (whose breakers live in the app's process: `breaker.circuits`).

The rows are a report, written on the dispatcher's writer connection at the rare moments a
circuit changes; each worker still decides from its own breakers (docs/NOTIFICATIONS.md).
A row whose worker stopped reporting (a crash) is shown while its cool-down runs and for
STALE_AFTER after, then ignored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from core.notifications.breaker import CLOSED, HALF_OPEN, OPEN, Circuit, circuits
from core.store.base import utcnow
from core.store.circuit_models import DeliveryCircuit
from core.store.db import Database

STALE_AFTER = timedelta(minutes=10)
_T = DeliveryCircuit.__table__


@dataclass(frozen=True)
class SharedCircuit:
    """A circuit as one worker last reported it."""
    target: str
    state: str                  # open | half-open (closed circuits have no row)
    failures: int
    open_until: datetime | None  # naive UTC
    opened: int
    worker_id: str
    updated_at: datetime


def _utc(epoch: float | None) -> datetime | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).replace(tzinfo=None)


def publish(conn: Connection, worker_id: str, circuits: list[Circuit]) -> None:
    """Writes what `worker_id` knows of these circuits (its `Breakers.changed()`): an open or
    half-open one is (re)written, a closed one deleted."""
    if not circuits:
        return
    targets = [c.target for c in circuits]
    conn.execute(delete(_T).where(_T.c.worker_id == worker_id, _T.c.target.in_(targets)))
    now = utcnow()
    rows = [{"target": c.target, "worker_id": worker_id, "state": OPEN, "failures": c.failures,
             "open_until": _utc(c.open_until), "opened": c.opened, "updated_at": now}
            for c in circuits if c.state != CLOSED]
    if rows:
        conn.execute(insert(_T), rows)


def forget(conn: Connection, worker_id: str) -> None:
    """A worker stops: its circuits are no longer anyone's."""
    conn.execute(delete(_T).where(_T.c.worker_id == worker_id))


def shared_circuits(db: Database, now: datetime | None = None) -> dict[str, SharedCircuit]:
    """The circuits the workers reported, by target; where several workers report one target,
    the worst state wins (open before half-open, then the most failures)."""
    now = now or utcnow()
    with db.read() as s:
        rows = s.execute(select(_T)).all()
    rank = {HALF_OPEN: 0, OPEN: 1}
    out: dict[str, SharedCircuit] = {}
    for r in rows:
        if r.open_until is not None and r.open_until > now:
            state = OPEN
        elif now - max(r.updated_at, r.open_until or r.updated_at) <= STALE_AFTER:
            state = HALF_OPEN  # cool-down over: the worker's next claim sends a probe
        else:
            continue  # the worker stopped reporting long ago
        c = SharedCircuit(r.target, state, r.failures, r.open_until, r.opened, r.worker_id,
                          r.updated_at)
        seen = out.get(c.target)
        if seen is None or (rank[c.state], c.failures) > (rank[seen.state], seen.failures):
            out[c.target] = c
    return out


def circuits_to_show(db: Database, now: datetime | None = None) -> dict[str, SharedCircuit]:
    """What the Deliveries page shows: every worker's reported circuits, and this process's own
    dispatcher's (the embedded worker) even if its last report did not reach the database."""
    out = shared_circuits(db, now)
    rank = {HALF_OPEN: 0, OPEN: 1}
    for target, c in circuits(db.url).items():
        if c.state == CLOSED:
            continue
        mine = SharedCircuit(target, c.state, c.failures, _utc(c.open_until), c.opened,
                             "this app server", now or utcnow())
        seen = out.get(target)
        if seen is None or (rank[mine.state], mine.failures) > (rank[seen.state], seen.failures):
            out[target] = mine
    return out


def describe(c: SharedCircuit | None) -> str:
    """The Deliveries page's "Circuit" cell."""
    if c is None:
        return "closed"
    until = (f" until {c.open_until:%H:%M:%S} UTC"
             if c.state == OPEN and c.open_until is not None else "")
    return f"{c.state}{until} ({c.failures} failures in a row; worker {c.worker_id})"
