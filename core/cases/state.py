"""Reads a loaded case's facts and keeps its stored status equal to the derived one."""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from core.cases.approvals import withdraw_if_changed
from core.cases.risk import refresh_risk
from core.cases.sla_clock import restart_clock
from core.cases.status import (
    REVIEWED_BLOCK_STATUSES,
    Availability,
    BlockKind,
    BlockStatus,
    CaseAction,
    CaseFacts,
    CaseStatus,
    HitDisposition,
    block_status_of,
    case_action_availability,
    derive_case_status,
)
from core.store import audit
from core.store.models import Case, ScreeningHit, utcnow


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


def screening_counts(session: Session | None, case: Case) -> tuple[int, int]:
    """(open hits, true matches awaiting a lead's sign-off) of a case's screening hits that
    are not gone, read from `screening_hits` (core/screening/ writes them). Read only when
    the case's counter `open_hits` (their sum) says there are some."""
    if session is None or not case.open_hits:
        return 0, 0
    rows = session.execute(
        select(ScreeningHit.disposition, ScreeningHit.signed_off_by.is_(None), func.count())
        .where(ScreeningHit.case_id == case.id, ScreeningHit.gone_at.is_(None))
        .group_by(ScreeningHit.disposition, ScreeningHit.signed_off_by.is_(None))).all()
    open_hits = sum(n for disposition, _, n in rows
                    if disposition in (None, HitDisposition.NEEDS_INFORMATION.value))
    unsigned = sum(n for disposition, unsigned, n in rows
                   if disposition == HitDisposition.TRUE_MATCH.value and unsigned)
    return open_hits, unsigned


def facts_of(case: Case) -> CaseFacts:
    facts = facts_from(decision=case.decision, collection_completed=case.collection_completed,
                       document_block_statuses=[d.block_status for d in case.documents],
                       kyc_blocks=[(u.block_status, u.kyc_state) for u in case.ubos],
                       process_states=[p.state for p in case.processes])
    open_hits, unsigned = screening_counts(object_session(case), case)
    if open_hits or unsigned:
        facts = replace(facts, open_hits=open_hits, unsigned_true_matches=unsigned)
    return facts


def document_label(document_type: str, document_types: dict[str, str]) -> str:
    """A document block's name: the workflow's label for its type, else one made from it."""
    return document_types.get(document_type, document_type.replace("_", " ").capitalize())


def unreviewed_blocks(case: Case, document_types: dict[str, str]) -> list[tuple[str, BlockStatus]]:
    """(name, status) of every document and KYC block nobody has reviewed yet (neither
    approved nor sent back), in the order the preview shows them."""
    owners = {u.id: u.full_name for u in case.ubos}
    found = []
    for d in sorted(case.documents, key=lambda d: (d.ubo_id is not None, d.id)):
        status = block_status_of(BlockKind.DOCUMENT, d.block_status)
        if status not in REVIEWED_BLOCK_STATUSES:
            name = document_label(d.document_type, document_types)
            found.append((f"{name} of {owners[d.ubo_id]}" if d.ubo_id in owners else name,
                          status))
    for u in case.ubos:
        status = block_status_of(BlockKind.KYC, u.block_status, u.kyc_state)
        if status not in REVIEWED_BLOCK_STATUSES:
            found.append((f"KYC · {u.full_name}", status))
    return found


def case_action_verdict(case: Case, action: CaseAction, definition: dict[str, Any]) -> Availability:
    """The status rules' answer for `action` on a loaded case, with its workflow's approval
    rule; a refusal for blocks not yet reviewed names them."""
    return case_action_availability(
        CaseStatus(case.case_status), action, facts_of(case),
        bool(definition.get("approve_needs_all_blocks_approved")),
        [name for name, _ in unreviewed_blocks(case, definition.get("document_types") or {})],
        bool(definition.get("screening_blocks_approval")))


def refresh_status(session: Session, case: Case, actor: str) -> CaseStatus:
    """Recompute the status after a change; record a status change event if it moved. A
    first approval given on facts the change altered is withdrawn (core/cases/approvals.py)."""
    session.flush()
    withdraw_if_changed(session, case, actor)
    new = derive_case_status(facts_of(case))
    old = case.case_status
    refresh_risk(session, case, old)  # the risk score first: a new status's SLA reads it
    now = utcnow()
    if old != new.value:
        case.case_status = new.value
        case.status_changed_at = now
        restart_clock(session, case, old, now)  # due_at of the new status (the SLA)
        audit.record(session, case_id=case.id, actor=actor, kind="case.status_changed",
                     before={"status": old}, after={"status": new.value})
    return new


def touch(case: Case) -> None:
    """Every change to a case bumps its version once (stale actors then get CaseChanged)."""
    case.version = case.version + 1
    case.updated_at = utcnow()
