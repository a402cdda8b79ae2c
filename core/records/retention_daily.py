"""The worker's daily retention review: `retention run`'s dry run, once a day, its counts kept
as one chained audit event (`retention.reviewed`) and one log line — never an erasure
(`--apply` stays an admin's act: the CLI or the Retention page). docs/RECORDS.md, "The run".

Apart from core/records/retention.py because this is the worker's loop (when it is due, the
thread), not a command an admin gives. The counts come from COUNT queries, not from the dry
run's listed rows (which stop at LISTED), so a day with a million cases due says so; the
event holds counts and the date only, no case id or personal data.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.orm import Session

from core.access.actors import SYSTEM_ACTOR
from core.cases.retention_state import restricted_clause
from core.records.retention import hold_in_force
from core.store import audit
from core.store.audit_chain_format import utc_text
from core.store.audit_chain_models import AuditEvent
from core.store.db import Database
from core.store.models import Case, utcnow
from core.store.retention_models import LegalHold

log = logging.getLogger("docket.records")

REVIEWED = "retention.reviewed"
DAILY = timedelta(days=1)
# pg_advisory_xact_lock's key: two workers finding a review due at once write one of them
REVIEW_LOCK_KEY = 0x646F636B7274  # "dockrt"


@dataclass(frozen=True)
class RetentionReview:
    """What the dry run found at `at`: cases `due` for erasure (no hold in force), `held`
    (due, but a legal hold is in force), `deferred` (erasure requested, retention not over),
    `kept` (within retention), `erased` (tombstones)."""
    at: datetime
    due: int
    held: int
    deferred: int
    kept: int
    erased: int

    def as_dict(self) -> dict:
        return {"at": utc_text(self.at), "due": self.due, "held": self.held,
                "deferred": self.deferred, "kept": self.kept, "erased": self.erased}

    def line(self) -> str:
        return (f"retention dry run: {self.due:,} case(s) due for erasure, {self.held:,} held, "
                f"{self.deferred:,} erasure request(s) deferred; nothing erased")


def review_counts(s: Session, now: datetime) -> RetentionReview:
    """The dry run's counts as the transaction on `s` sees them (`retention_plan`'s lists,
    counted in SQL)."""
    live = Case.erased_at.is_(None)
    held = exists().where(LegalHold.case_id == Case.id, hold_in_force(now))

    def count(*where) -> int:
        return int(s.scalar(select(func.count()).select_from(Case).where(*where)) or 0)

    ended = count(Case.retention_until <= now, live)
    held_n = count(Case.retention_until <= now, live, held)
    return RetentionReview(
        at=now, due=ended - held_n, held=held_n,
        deferred=count(restricted_clause(), or_(Case.retention_until.is_(None),
                                                Case.retention_until > now)),
        kept=count(Case.retention_until > now, live),
        erased=count(Case.erased_at.is_not(None)))


def _last_review_at(s: Session) -> datetime | None:
    return s.scalar(select(func.max(AuditEvent.at)).where(AuditEvent.kind == REVIEWED))


def last_review(db: Database) -> RetentionReview | None:
    """The newest daily review's counts (the Retention page shows them), None before any."""
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == REVIEWED)
                          .order_by(AuditEvent.id.desc()).limit(1)).first()
    if event is None or not isinstance(event.after, dict):
        return None
    counts = event.after
    return RetentionReview(event.at, *(int(counts.get(k) or 0) for k in
                                       ("due", "held", "deferred", "kept", "erased")))


def review_if_due(db: Database, now: datetime | None = None) -> RetentionReview | None:
    """The daily review: when the last `retention.reviewed` event is 24 hours old or more (or
    there is none), the dry run's counts recorded as one such event (actor "system", no case);
    None when not due. `now`: naive UTC (default: the clock). Erases nothing."""
    now = now or utcnow()
    with db.unit_of_work() as s:  # SQLite: BEGIN IMMEDIATE serialises two workers already
        if not db.is_sqlite:
            s.execute(text(f"SELECT pg_advisory_xact_lock({REVIEW_LOCK_KEY})"))
        last = _last_review_at(s)
        if last is not None and now - last < DAILY:
            return None
        review = review_counts(s, now)
        audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind=REVIEWED,
                     after=review.as_dict())
    return review


def run_daily_reviews(db: Database, stop: threading.Event, check_every: float = 3600.0) -> None:
    """The worker's thread: `review_if_due` now and then every `check_every` seconds until
    `stop` is set (a review at start if the last is a day old, then daily). A failure is
    logged and tried again at the next check."""
    while not stop.is_set():
        try:
            review = review_if_due(db)
            if review is not None:
                log.info(review.line())
        except Exception:  # the worker keeps delivering; the next check tries again
            log.exception("retention dry run failed")
        stop.wait(check_every)
