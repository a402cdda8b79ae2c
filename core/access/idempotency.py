"""Idempotent API requests: a request sent again with the same `Idempotency-Key` gets the
first answer back and changes nothing.

A key belongs to one API key and names one request (method, path and a SHA-256 hash of its
body). `begin` claims it by inserting an `in_progress` record in a transaction of its own:
the unique constraint (API key, Idempotency-Key) makes the second of two concurrent requests
lose, whatever the database. The loser does not wait: while the first is still being
answered it is refused (`StillInProgress`, 409 over HTTP); once the first is answered it gets
that answer back. `settle` keeps the answer (2xx, and 4xx except 401 and 429) or, for
anything else (a 5xx, a crash), forgets the claim so that a retry runs again.

Records live for 24 hours (`TTL`): an expired one is ignored and replaced, and expired
records are purged now and then as requests come in. A claim left `in_progress` by a process
that died is taken over by a retry after `STALE_AFTER`.
"""
from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.errors import DocketError, InvalidInput
from core.store.db import Database
from core.store.models import IdempotencyRecord, utcnow

TTL = timedelta(hours=24)
STALE_AFTER = timedelta(minutes=10)  # an in_progress claim this old was left by a dead process
PURGE_EVERY_S = 600.0                # each process purges expired records at most this often
MAX_KEY_LENGTH = 200
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,200}")  # printable ASCII
IN_PROGRESS = "in_progress"
DONE = "done"
MAX_PATH = 500  # the column's width


class StillInProgress(DocketError):
    """A request with this Idempotency-Key is being answered right now (try again shortly)."""


@dataclass(frozen=True)
class Answer:
    """A stored answer: replayed as it was."""
    status: int
    body: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Claim:
    """This request goes ahead; `settle` it when answered. `claimed_at` tells this claim from
    a later takeover of the same record."""
    record_id: int
    claimed_at: datetime


def is_valid_key(key: str | None) -> bool:
    """1 to 200 printable ASCII characters, not only spaces."""
    return bool(key and key.strip() and KEY_PATTERN.fullmatch(key))


def request_hash(body: bytes, query: bytes = b"") -> str:
    """SHA-256 of the body (and of the query string, when there is one), in hex."""
    digest = hashlib.sha256(body)
    if query:
        digest.update(b"?" + query)
    return digest.hexdigest()


def storable(status: int) -> bool:
    """Which answers are kept: successes and the client's own mistakes. Not a 401 (the key may
    be fixed), a 429 (the limit passes) or a 5xx (a retry may succeed)."""
    return 200 <= status < 300 or (400 <= status < 500 and status not in (401, 429))


def _of_key(api_key_id: int, key: str):
    return (IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.idempotency_key == key)


def _claim(db: Database, api_key_id: int, key: str, method: str, path: str, body_hash: str,
           now: datetime) -> Claim:
    """Insert the in_progress record (replacing an expired one); IntegrityError if taken."""
    with db.unit_of_work() as s:
        s.execute(delete(IdempotencyRecord)
                  .where(*_of_key(api_key_id, key), IdempotencyRecord.expires_at <= now)
                  .execution_options(synchronize_session=False))
        record = IdempotencyRecord(api_key_id=api_key_id, idempotency_key=key, method=method,
                                   path=path, request_hash=body_hash, state=IN_PROGRESS,
                                   created_at=now, expires_at=now + TTL)
        s.add(record)
        s.flush()
        return Claim(record.id, now)


def _take_over(db: Database, record: IdempotencyRecord, now: datetime) -> Claim | None:
    """A stale in_progress claim, made ours unless another retry took it first."""
    with db.unit_of_work() as s:
        taken = s.execute(update(IdempotencyRecord)
                          .where(IdempotencyRecord.id == record.id,
                                 IdempotencyRecord.state == IN_PROGRESS,
                                 IdempotencyRecord.created_at == record.created_at)
                          .values(created_at=now, expires_at=now + TTL)
                          .execution_options(synchronize_session=False)).rowcount
    return Claim(record.id, now) if taken == 1 else None


def begin(db: Database, *, api_key_id: int, key: str, method: str, path: str,
          body_hash: str, now: datetime | None = None) -> Claim | Answer:
    """Claim `key` for this request, or the stored answer to replay. Raises InvalidInput when
    the key was used for another request (other method, path or body) and StillInProgress
    while the first request with it is being answered."""
    if not is_valid_key(key):
        raise InvalidInput("the request is not valid", [
            f"Idempotency-Key: must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"])
    now = now or utcnow()
    method, path = method.upper(), path[:MAX_PATH]
    purge_now_and_then(db, now)
    for _ in range(3):  # a claim released between our insert and our read: try again
        try:
            return _claim(db, api_key_id, key, method, path, body_hash, now)
        except IntegrityError:
            pass
        with db.read() as s:
            record = s.scalar(select(IdempotencyRecord).where(*_of_key(api_key_id, key)))
        if record is None or record.expires_at <= now:
            continue
        if (record.method, record.path) != (method, path):
            raise InvalidInput("the request is not valid", [
                f"Idempotency-Key: was first used for {record.method} {record.path}; "
                "a key names one request, use a new key for a new request"])
        if record.request_hash != body_hash:
            raise InvalidInput("the request is not valid", [
                "Idempotency-Key: was first used with a different request body; "
                "use a new key for a new request"])
        if record.state == DONE:
            return Answer(record.response_status or 200, record.response_body or "",
                          dict(record.response_headers or {}))
        if record.created_at <= now - STALE_AFTER:
            taken = _take_over(db, record, now)
            if taken is not None:
                return taken
    raise StillInProgress("a request with this Idempotency-Key is still being processed; "
                          "retry shortly to get its answer")


def settle(db: Database, claim: Claim, answer: Answer | None) -> bool:
    """Keep `answer` for retries if it is storable; else (None: no answer) forget the claim
    so that a retry runs again. Returns whether the answer was kept (not when the claim was
    taken over meanwhile: the request that took it answers for the key)."""
    mine = (IdempotencyRecord.id == claim.record_id, IdempotencyRecord.state == IN_PROGRESS,
            IdempotencyRecord.created_at == claim.claimed_at)
    with db.unit_of_work() as s:
        if answer is not None and storable(answer.status):
            return s.execute(update(IdempotencyRecord).where(*mine)
                             .values(state=DONE, response_status=answer.status,
                                     response_body=answer.body,
                                     response_headers=dict(answer.headers))
                             .execution_options(synchronize_session=False)).rowcount == 1
        s.execute(delete(IdempotencyRecord).where(*mine)
                  .execution_options(synchronize_session=False))
        return False


def purge_expired(db: Database, now: datetime | None = None) -> int:
    """Delete expired records; returns how many."""
    with db.unit_of_work() as s:
        return s.execute(delete(IdempotencyRecord)
                         .where(IdempotencyRecord.expires_at <= (now or utcnow()))
                         .execution_options(synchronize_session=False)).rowcount


_purge_lock = threading.Lock()
_next_purge = [0.0]  # time.monotonic() of the next purge in this process


def purge_now_and_then(db: Database, now: datetime | None = None) -> int:
    """`purge_expired`, at most once every PURGE_EVERY_S seconds in this process."""
    with _purge_lock:
        if time.monotonic() < _next_purge[0]:
            return 0
        _next_purge[0] = time.monotonic() + PURGE_EVERY_S
    return purge_expired(db, now)
