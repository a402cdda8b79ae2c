"""Append-only audit events: every change to a case is recorded here, in its transaction."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.store.models import AuditEvent, utcnow


def record(session: Session, *, case_id: str | None, actor: str, kind: str,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None) -> None:
    session.add(AuditEvent(case_id=case_id, actor=actor, kind=kind, before=before, after=after,
                           at=utcnow()))


def case_timeline(session: Session, case_id: str, limit: int = 500) -> list[AuditEvent]:
    stmt = (select(AuditEvent).where(AuditEvent.case_id == case_id)
            .order_by(AuditEvent.id.desc()).limit(limit))
    return list(session.scalars(stmt))
