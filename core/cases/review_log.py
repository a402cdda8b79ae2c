"""What the audit log says about a review, read back: a block's review before a re-upload
request (so Undo restores it exactly), and the events since a reviewer opened the case (the
sentences for them are `core.cases.history`'s).

Everything comes from the audit log (`core.store.audit`): no extra table or column. A case
event's before/after are read through `core.store.audit_values.opened` (they are stored sealed
under the case's key).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.status import BlockStatus
from core.store.audit_values import opened
from core.store.models import AuditEvent

# The access log's kinds (core/records/access_log.py writes them): who looked, not what changed.
# They are in the same chain but never in a case's history, its "changed since you opened it"
# or its timeline; leads and admins read them in "Who looked at this case".
ACCESS_KINDS = frozenset({"case.viewed", "document.downloaded", "case.exported",
                          "search.performed"})


def case_history_events(session: Session, case_id: str, limit: int = 500) -> list[AuditEvent]:
    """The case's newest `limit` audit events that are its history (no access-log events),
    newest first, their before/after readable."""
    return opened(session, list(session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id,
                                 AuditEvent.kind.not_in(ACCESS_KINDS))
        .order_by(AuditEvent.id.desc()).limit(limit))))

REQUESTED = "block.reupload_requested"
APPROVED = "block.approved"
MAX_CHANGES = 20


@dataclass(frozen=True)
class BlockReview:
    """A block's review state: what Undo puts back."""
    status: str | None          # the stored block status (None: awaiting review)
    reviewed_by: str | None
    reviewed_at: datetime | None
    reupload_reason: str | None = None


def review_record(status: BlockStatus, reviewed_by: str | None, reviewed_at: datetime | None,
                  reupload_reason: str | None) -> dict[str, Any]:
    """The review state to keep in a re-upload request's `before` (JSON)."""
    return {"status": status.value, "reviewed_by": reviewed_by,
            "reviewed_at": reviewed_at.isoformat() if reviewed_at else None,
            "reupload_reason": reupload_reason}


def _stored(status: str | None) -> str | None:
    return None if status in (None, BlockStatus.AWAITING_REVIEW.value) else status


def review_before_request(session: Session, case_id: str, block: str) -> BlockReview:
    """The block's review as it was when its latest re-upload request was made.

    A request records the review it replaced (`review_record`). A request recorded before that
    (no `reviewed_by` key) keeps only the status: the approval then comes from the block's
    latest `block.approved` event before the request (its actor and time)."""
    events = opened(session, list(session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id,
                                 AuditEvent.kind.in_((REQUESTED, APPROVED)))
        .order_by(AuditEvent.id.desc()))))
    request = None
    for event in events:
        if (event.after or {}).get("block") != block:
            continue
        if request is None:
            if event.kind != REQUESTED:
                break  # approved after the last request: nothing to undo from the log
            request = event.before or {}
            if "reviewed_by" in request:
                at = request.get("reviewed_at")
                return BlockReview(_stored(request.get("status")), request.get("reviewed_by"),
                                   datetime.fromisoformat(at) if at else None,
                                   request.get("reupload_reason"))
            if request.get("status") != BlockStatus.APPROVED.value:
                break
        elif event.kind == APPROVED:
            return BlockReview(BlockStatus.APPROVED.value, event.actor, event.at)
    if request is not None and request.get("status") == BlockStatus.APPROVED.value:
        return BlockReview(BlockStatus.APPROVED.value, None, None)
    return BlockReview(None, None, None)


# --- what changed since a reviewer opened the case ------------------------------------------

def last_event_id(session: Session, case_id: str) -> int:
    """The newest audit event of the case (0 when none): where "since you opened it" starts."""
    return int(session.scalar(select(func.max(AuditEvent.id))
                              .where(AuditEvent.case_id == case_id)) or 0)


def events_since(session: Session, case_id: str, after_event_id: int,
                 limit: int = MAX_CHANGES) -> list[dict[str, Any]]:
    """The case's audit events after `after_event_id`, oldest first, as the timeline holds
    them ({"at", "actor", "kind", "before", "after"}); notifications queued by a decision are
    left out (the decision is listed)."""
    events = opened(session, list(session.scalars(
        select(AuditEvent).where(AuditEvent.case_id == case_id, AuditEvent.id > after_event_id,
                                 AuditEvent.kind.not_like("notification.%"),
                                 AuditEvent.kind.not_in(ACCESS_KINDS))
        .order_by(AuditEvent.id).limit(limit))))
    return [{"at": e.at, "actor": e.actor, "kind": e.kind, "before": e.before, "after": e.after}
            for e in events]
