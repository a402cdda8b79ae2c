"""From outbox rows to deliveries: one per matching webhook endpoint, one for email/SMS/CRM.

Runs inside the decision's own transaction (`core.notifications.outbox.enqueue`), so the decision, its
outbox rows and their deliveries commit together; `expand_pending` catches up outbox rows
written without deliveries (older rows, other writers). A webhook with no matching endpoint
gets one `skipped` delivery saying so, so every notification is visible on the Deliveries page.
"""
from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core.store.db import Database
from core.store.models import Delivery, OutboxMessage, WebhookEndpoint, utcnow

CHANNELS = ("webhook", "email", "sms", "crm")


def _skipped(row: OutboxMessage, target: str, reason: str) -> Delivery:
    now = utcnow()
    row.state, row.last_error = "skipped", reason
    return Delivery(outbox_id=row.id, message_id=row.message_id, case_id=row.case_id,
                    channel=row.channel, event_type=row.event_type, target=target,
                    state="skipped", last_error=reason, next_attempt_at=now, created_at=now,
                    finished_at=now)


def matching_endpoints(session: Session, workflow: str, event_type: str) -> list[WebhookEndpoint]:
    rows = session.scalars(select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))
                           .order_by(WebhookEndpoint.id))
    return [e for e in rows
            if (e.workflow is None or e.workflow == workflow)
            and (not e.event_types or event_type in e.event_types)]


def expand(session: Session, rows: list[OutboxMessage]) -> list[Delivery]:
    session.flush()
    made = []
    for row in rows:
        now = utcnow()
        if row.channel == "webhook":
            workflow = ((row.payload.get("data") or {}).get("case") or {}).get("workflow", "")
            endpoints = matching_endpoints(session, workflow, row.event_type)
            if not endpoints:
                made.append(_skipped(row, "webhook", f"no enabled webhook endpoint for workflow "
                                                     f"{workflow!r} and event {row.event_type}"))
                continue
            targets = [(f"endpoint:{e.id}", e.id) for e in endpoints]
        elif row.channel in CHANNELS:
            targets = [(row.channel, None)]
        else:
            made.append(_skipped(row, row.channel[:32], f"unknown channel {row.channel!r}"))
            continue
        for target, endpoint_id in targets:
            made.append(Delivery(outbox_id=row.id, message_id=row.message_id,
                                 case_id=row.case_id, channel=row.channel,
                                 event_type=row.event_type, target=target,
                                 endpoint_id=endpoint_id, state="pending", attempts=0,
                                 next_attempt_at=row.next_attempt_at or now, created_at=now))
    session.add_all(made)
    session.flush()
    return made


def expand_pending(db: Database, limit: int = 500) -> int:
    """Deliveries for pending outbox rows that have none yet; returns how many rows."""
    stmt = (select(OutboxMessage).where(
        OutboxMessage.state == "pending",
        ~exists().where(Delivery.outbox_id == OutboxMessage.id))
        .order_by(OutboxMessage.id).limit(limit))
    with db.read() as s:
        if s.scalar(select(stmt.subquery().c.id).limit(1)) is None:
            return 0
    with db.unit_of_work() as s:
        if not db.is_sqlite:
            stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
        rows = list(s.scalars(stmt))
        expand(s, rows)
        return len(rows)
