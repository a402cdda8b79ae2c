"""Reads a loaded case's facts and keeps its stored status equal to the derived one."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy.orm import Session

from core.cases.status import (
    BlockKind,
    BlockStatus,
    CaseFacts,
    CaseStatus,
    block_status_of,
    derive_case_status,
)
from core.store import audit
from core.store.models import Case, utcnow


def facts_from(*, decision: str | None, collection_completed: bool,
               document_block_statuses: Iterable[str | None],
               kyc_blocks: Iterable[tuple[str | None, str]],
               process_states: Iterable[str]) -> CaseFacts:
    """The facts the status rules read: stored block statuses, (block status, KYC state) per
    UBO, and process states. Shared by loaded cases and the demo generator's templates."""
    kyc_blocks = list(kyc_blocks)
    doc_statuses = [block_status_of(BlockKind.DOCUMENT, s) for s in document_block_statuses]
    kyc_statuses = [block_status_of(BlockKind.KYC, s, state) for s, state in kyc_blocks]
    blocks = doc_statuses + kyc_statuses
    return CaseFacts(
        decision=decision,
        collection_completed=bool(collection_completed),
        pending_reupload_blocks=sum(s is BlockStatus.PENDING_REUPLOAD for s in blocks),
        pending_processes=sum(state == "pending" for state in process_states),
        kyc_sent_not_completed=sum(state == "sent" for _, state in kyc_blocks),
        reupload_needed_blocks=sum(s is BlockStatus.REUPLOAD_NEEDED for s in blocks),
        unapproved_blocks=sum(s is not BlockStatus.APPROVED for s in blocks),
    )


def facts_of(case: Case) -> CaseFacts:
    return facts_from(decision=case.decision, collection_completed=case.collection_completed,
                      document_block_statuses=[d.block_status for d in case.documents],
                      kyc_blocks=[(u.block_status, u.kyc_state) for u in case.ubos],
                      process_states=[p.state for p in case.processes])


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
