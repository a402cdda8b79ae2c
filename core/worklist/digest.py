"""The daily overdue digest: one email per assignee listing their overdue cases, and one per
lead listing the team's, through the outbox (`core.notifications.outbox.enqueue_staff_email`;
the worker sends them like any email, or the demo mailbox keeps them).

Idempotent per UTC day: each email's message id is made of the day and the recipient, so a
second run the same day (cron retried, two hosts) enqueues nothing new. Run it from cron
with `python -m core digest` (docs/WORKLIST.md).

Leads: the team's digest goes to team leads and admins (`LEAD_ROLES`, `lead_usernames`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access.roles import Role
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.notifications.email import valid_address
from core.notifications.outbox import enqueue_staff_email
from core.store.db import Database
from core.store.models import Case, Entity, User, utcnow
from core.worklist.overdue import time_left

EVENT_TYPE = "sla.overdue_digest"
LEAD_ROLES = (Role.LEAD, Role.ADMIN)  # the hook: who gets the team's digest
MAX_LISTED = 50  # cases listed in one email; the rest are counted


@dataclass
class DigestResult:
    day: date
    # recipients, by username; a lead's team digest as "NAME (team)"
    enqueued: list[str] = field(default_factory=list)      # emailed now
    already_sent: list[str] = field(default_factory=list)  # emailed earlier the same day
    no_email: list[str] = field(default_factory=list)      # no valid address on the account
    overdue: int = 0


def lead_usernames(session: Session) -> list[str]:
    """Who receives the team's digest: active users of `LEAD_ROLES`."""
    return list(session.scalars(select(User.username).where(
        User.role.in_([r.value for r in LEAD_ROLES]), User.disabled.is_(False))
        .order_by(User.username)))


def message_id(day: date, username: str, role: str) -> str:
    digest = hashlib.sha256(f"{role}\x00{username}".encode()).hexdigest()[:24]
    return f"digest_{day:%Y%m%d}_{digest}"


def _listed(session: Session, now: datetime, assignee: str | None, anyone: bool) -> list[dict]:
    stmt = (select(Case.id, Entity.name, Case.workflow, Case.case_status, Case.due_at,
                   Case.assignee).join(Entity, Entity.id == Case.entity_id)
            .where(Case.due_at < now).order_by(Case.due_at, Case.id).limit(MAX_LISTED))
    if not anyone:
        stmt = stmt.where(Case.assignee == assignee)
    return [{"id": i, "entity": name, "workflow": wf,
             "status": CASE_STATUS_LABELS[CaseStatus(status)],
             "due_at": f"{due:%Y-%m-%d %H:%M} UTC",
             "overdue": time_left(due, now).removeprefix("overdue "), "assignee": who}
            for i, name, wf, status, due, who in session.execute(stmt)]


def send_overdue_digest(db: Database, *, now: datetime | None = None) -> DigestResult:
    """Enqueues today's digests (see the module); returns who was emailed."""
    now = now or utcnow()
    result = DigestResult(now.date())
    for attempt in (1, 2):  # a concurrent run of the same day: the retry finds its rows
        try:
            with db.unit_of_work() as s:
                result = DigestResult(now.date())
                _enqueue_all(s, now, result)
            return result
        except IntegrityError:
            if attempt == 2:
                raise
    return result


def _enqueue_all(s: Session, now: datetime, result: DigestResult) -> None:
    per_assignee = dict(s.execute(select(Case.assignee, func.count()).where(Case.due_at < now)
                                  .group_by(Case.assignee)).all())
    result.overdue = sum(per_assignee.values())
    if not result.overdue:
        return
    users = {u.username: u for u in s.scalars(select(User).where(User.disabled.is_(False)))}
    by_assignee = [{"assignee": a, "count": int(n)}
                   for a, n in sorted(per_assignee.items(), key=lambda x: (-x[1], x[0] or ""))]
    sends = [(users[a], "assignee", int(n)) for a, n in per_assignee.items()
             if a is not None and a in users]
    sends += [(users[name], "lead", result.overdue) for name in lead_usernames(s)]
    for user, role, total in sorted(sends, key=lambda x: (x[0].username, x[1])):
        who = user.username + (" (team)" if role == "lead" else "")
        address = valid_address(user.email)
        if address is None:
            result.no_email.append(who)
            continue
        cases = _listed(s, now, user.username, anyone=role == "lead")
        digest = {"day": f"{now:%Y-%m-%d}", "role": role, "total": total, "cases": cases,
                  "more": max(0, total - len(cases)),
                  "by_assignee": by_assignee if role == "lead" else []}
        row = enqueue_staff_email(
            s, message_id=message_id(now.date(), user.username, role), event_type=EVENT_TYPE,
            recipient={"username": user.username, "name": user.name or user.username,
                       "email": address}, data={"digest": digest})
        (result.enqueued if row is not None else result.already_sent).append(who)
