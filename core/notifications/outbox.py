"""The durable outbox: notifications are written here in the decision's own transaction.

Each row fans out into deliveries (core/notifications/fanout.py) in the same transaction.
Delivery (webhooks, email, SMS, CRM) is the worker's job (core/notifications/dispatcher.py);
nothing is sent from inside a command, so a decision and its notifications commit together
or not at all.
"""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.notifications.event_types import API_VERSION, EVENT_TYPES, case_summary
from core.notifications.fanout import expand
from core.store.models import Case, Decision, OutboxMessage, utcnow


def enqueue(session: Session, *, case: Case, decision: Decision | None, action: str,
            channels: list[str], extra: dict[str, Any] | None = None) -> list[OutboxMessage]:
    """One outbox row per channel, all in the caller's transaction."""
    now = utcnow()
    event_type = EVENT_TYPES[action]
    data: dict[str, Any] = {"case": case_summary(case)}
    if decision is not None:
        data["decision"] = {"action": decision.action, "reason": decision.reason,
                            "actor": decision.actor, "at": decision.at.isoformat() + "Z"}
    data.update(extra or {})
    payload = {"type": event_type, "api_version": API_VERSION,
               "timestamp": now.isoformat() + "Z", "data": data}
    rows = []
    for channel in channels:
        row = OutboxMessage(message_id=f"msg_{uuid.uuid4().hex}", case_id=case.id,
                            decision_id=decision.id if decision is not None else None,
                            channel=channel, event_type=event_type, payload=payload,
                            next_attempt_at=now, created_at=now)
        session.add(row)
        rows.append(row)
    expand(session, rows)  # deliveries per endpoint/channel, in this same transaction
    return rows


def enqueue_staff_email(session: Session, *, message_id: str, event_type: str,
                        recipient: dict[str, Any], data: dict[str, Any]) -> OutboxMessage | None:
    """One email to a member of staff (the overdue digest), not about one case (`case_id`
    is ""): the email channel sends it to `recipient["email"]` with the templates
    `email.<event_type>.*`. `message_id` makes it idempotent: None when a message with that
    id was enqueued already (a concurrent twin fails the unique index instead)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.message_id == message_id)):
        return None
    now = utcnow()
    payload = {"type": event_type, "api_version": API_VERSION, "timestamp": now.isoformat() + "Z",
               "data": {"recipient": recipient, **data}}
    row = OutboxMessage(message_id=message_id, case_id="", decision_id=None, channel="email",
                        event_type=event_type, payload=payload, next_attempt_at=now,
                        created_at=now)
    session.add(row)
    expand(session, [row])
    return row
