"""Reads a loaded case's facts and keeps its stored status equal to the derived one."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.case_status import (
    BlockKind,
    BlockStatus,
    CaseFacts,
    CaseStatus,
    block_status_of,
    derive_case_status,
)
from core.models import Case, utcnow


def facts_of(case: Case) -> CaseFacts:
    doc_statuses = [block_status_of(BlockKind.DOCUMENT, d.block_status) for d in case.documents]
    kyc_statuses = [block_status_of(BlockKind.KYC, u.block_status, u.kyc_state) for u in case.ubos]
    blocks = doc_statuses + kyc_statuses
    return CaseFacts(
        decision=case.decision,
        collection_completed=bool(case.collection_completed),
        pending_reupload_blocks=sum(s is BlockStatus.PENDING_REUPLOAD for s in blocks),
        pending_processes=sum(p.state == "pending" for p in case.processes),
        kyc_sent_not_completed=sum(u.kyc_state == "sent" for u in case.ubos),
        reupload_needed_blocks=sum(s is BlockStatus.REUPLOAD_NEEDED for s in blocks),
        unapproved_blocks=sum(s is not BlockStatus.APPROVED for s in blocks),
    )


def refresh_status(session: Session, case: Case, actor: str) -> CaseStatus:
    """Recompute the status after a change; record a status change event if it moved."""
    session.flush()
    new = derive_case_status(facts_of(case))
    old = case.case_status
    now = utcnow()
    if old != new.value:
        case.case_status = new.value
        case.status_changed_at = now
        audit.record(session, case_id=case.id, actor=actor, kind="case.status_changed",
                     before={"status": old}, after={"status": new.value})
    return new


def touch(case: Case) -> None:
    """Every change to a case bumps its version once (stale actors then get CaseChanged)."""
    case.version = case.version + 1
    case.updated_at = utcnow()
