"""Settling deliveries: an outbox row's state from its deliveries, and failing a disabled
endpoint's waiting deliveries.

Shared by the dispatcher (after each attempt), the endpoints (on disable) and the deliveries
admin (on replay), so none of them imports another for it.
"""
from __future__ import annotations

from sqlalchemy import or_, select

from core.access.actors import SYSTEM_ACTOR
from core.store import audit
from core.store.db import Database
from core.store.models import Delivery, OutboxMessage, utcnow


def not_leased(now):
    return or_(Delivery.lease_until.is_(None), Delivery.lease_until < now)


def settle_outbox(session, outbox_id: int) -> None:
    """The outbox row's state from its deliveries: pending while any is pending."""
    states = list(session.scalars(select(Delivery.state).where(Delivery.outbox_id == outbox_id)))
    row = session.get(OutboxMessage, outbox_id)
    if row is None or not states:
        return
    if "pending" in states:
        row.state = "pending"
    elif "failed" in states:
        row.state = "failed"
    elif "delivered" in states:
        row.state, row.delivered_at = "delivered", row.delivered_at or utcnow()
    else:
        row.state = "skipped"


def lock_outbox(db: Database, session, outbox_id: int) -> None:
    if not db.is_sqlite:  # serialises settling of one outbox row's deliveries
        session.execute(select(OutboxMessage.id).where(OutboxMessage.id == outbox_id)
                        .with_for_update())


def audit_final(session, d_case: str, kind: str, info: dict) -> None:
    audit.record(session, case_id=d_case, actor=SYSTEM_ACTOR, kind=f"notification.{kind}",
                 after=info)


def fail_pending_for_endpoint(db: Database, endpoint_id: int, reason: str) -> int:
    """A disabled endpoint's waiting deliveries fail now (replayable once it is re-enabled)."""
    now = utcnow()
    stmt = select(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                  Delivery.state == "pending", not_leased(now))
    if not db.is_sqlite:
        stmt = stmt.with_for_update(skip_locked=True)
    with db.unit_of_work() as s:
        rows = list(s.scalars(stmt))
        for d in rows:
            d.state, d.finished_at = "failed", now
            d.last_error = f"endpoint disabled: {reason}"
            audit_final(s, d.case_id, "failed", {
                "channel": d.channel, "target": d.target, "message_id": d.message_id,
                "event_type": d.event_type, "attempts": d.attempts, "error": d.last_error})
        outbox_ids = sorted({d.outbox_id for d in rows})
    for oid in outbox_ids:
        with db.unit_of_work() as s:
            lock_outbox(db, s, oid)
            settle_outbox(s, oid)
    return len(rows)
