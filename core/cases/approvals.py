"""Four-eyes approval: a case matching its workflow's four-eyes rule needs two approvers.

- The first Approve (by the case's assignee, as any Approve) records "approval 1 of 2" in
  `case_approvals` with an audit event; the case stays in Manual review, nothing is decided,
  no notification is queued; the version goes up as with every command.
- The second Approve is the decision: by a different person with the right to decide
  (another reviewer, a lead or an admin), who need not be the assignee — a second approver
  reviews a colleague's case without taking it over. The same person cannot approve twice.
  Only this final approval writes the decision, its outbox rows (webhook, email) and
  `case.approved`.
- While a first approval waits, Reject is open to the same people (the first approver too):
  a Reject by either is final and withdraws the first approval.
- A first approval holds for the case as it was approved: a digest of what the approver saw
  (data, blocks and their statuses, files, KYC, processes) is kept with it, and any change
  to it — a block action, an edit, an outside event, a re-upload — withdraws the approval
  (`case.approval_withdrawn`); the case then needs two approvals again. Notes and
  (re)assignment do not change it.

Whether a case needs two approvers is asked at each Approve (the rule may have been edited
since): with no rule matching, an Approve is final as before (a waiting first approval is
then simply followed by the decision).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.cases.status import HitDisposition
from core.store import audit
from core.store.models import Case, CaseApproval, DocumentFile, ScreeningHit, utcnow
from core.workflows.four_eyes import four_eyes_reason

APPROVALS_NEEDED = 2  # under the four-eyes rule


@dataclass(frozen=True)
class ApprovalInfo:
    """One approval given, as the preview and the API show it."""
    step: int
    of: int
    approver: str
    at: datetime
    reason: str | None


@dataclass(frozen=True)
class FourEyes:
    """A case's four-eyes state: how many approvals it needs now and why, the approvals that
    count, and the first one while it waits for its second approver."""
    needed: int                 # 1, or 2 under the four-eyes rule
    rule: str                   # why two ("risk score 85 is at least 70"); "" for one
    approvals: list[ApprovalInfo]
    first: CaseApproval | None  # the pending approval 1 of 2 (None once decided)

    @property
    def awaiting_second(self) -> bool:
        return self.needed == APPROVALS_NEEDED and self.first is not None

    @property
    def first_approver(self) -> str | None:
        return self.first.approver if self.awaiting_second else None


def true_matches_of(session: Session, case: Case) -> int:
    """The case's screening hits dispositioned true match and not gone (core/screening/)."""
    return int(session.scalar(
        select(func.count()).select_from(ScreeningHit)
        .where(ScreeningHit.case_id == case.id, ScreeningHit.gone_at.is_(None),
               ScreeningHit.disposition == HitDisposition.TRUE_MATCH.value)) or 0)


def rule_for(session: Session, case: Case, definition: dict[str, Any]) -> str:
    """Why the workflow's four-eyes rule asks a second approver for this case ("" if not)."""
    entity = case.entity
    rule = definition.get("four_eyes")
    asks_true_match = isinstance(rule, dict) and bool(rule.get("true_match"))
    return four_eyes_reason(rule, risk_score=case.risk_score,
                            country=getattr(entity, "country", None),
                            entity_type=getattr(entity, "kind", None),
                            true_matches=true_matches_of(session, case) if asks_true_match
                            else 0, risk_level=case.risk_level)


def _counting(session: Session, case_id: str) -> list[CaseApproval]:
    return list(session.scalars(
        select(CaseApproval).where(CaseApproval.case_id == case_id,
                                   CaseApproval.withdrawn_at.is_(None))
        .order_by(CaseApproval.id)))


def _pending(case: Case, rows: list[CaseApproval]) -> CaseApproval | None:
    if case.decision is not None:
        return None
    return next((r for r in rows if r.step == 1), None)


def four_eyes_of(session: Session, case: Case, definition: dict[str, Any]) -> FourEyes:
    rule = rule_for(session, case, definition)
    rows = _counting(session, case.id)
    infos = [ApprovalInfo(r.step, APPROVALS_NEEDED, r.approver, r.at, r.reason) for r in rows]
    return FourEyes(APPROVALS_NEEDED if rule else 1, rule, infos, _pending(case, rows))


def facts_digest(session: Session, case: Case) -> str:
    """A digest of what an approver approved: entity, data, every block with its status and
    current file version, UBOs and their KYC, processes, screening hits and their decisions."""
    doc_ids = [d.id for d in case.documents]
    versions = dict(session.execute(
        select(DocumentFile.document_id, func.max(DocumentFile.version))
        .where(DocumentFile.document_id.in_(doc_ids)).group_by(DocumentFile.document_id)
    ).all()) if doc_ids else {}
    e = case.entity
    seen = {
        "entity": [e.kind, e.name, e.email, e.phone, e.country, e.registration_number],
        "case": [case.collection_completed, case.risk_score, case.user_data,
                 case.registry_data, case.enriched_data],
        "documents": [[d.id, d.ubo_id, d.document_type, d.properties, d.block_status,
                       d.reupload_reason, versions.get(d.id)] for d in case.documents],
        "ubos": [[u.id, u.full_name, u.email, u.date_of_birth, u.nationality,
                  u.ownership_percent, u.kyc_state, u.kyc_result, u.block_status,
                  u.reupload_reason] for u in case.ubos],
        "processes": [[p.name, p.state, p.detail] for p in case.processes],
    }
    hits = session.execute(
        select(ScreeningHit.id, ScreeningHit.match_hash, ScreeningHit.disposition,
               ScreeningHit.reason, ScreeningHit.signed_off_by, ScreeningHit.gone_at.is_(None))
        .where(ScreeningHit.case_id == case.id).order_by(ScreeningHit.id)).all()
    if hits:  # a case without screening hits keeps the digest it had before they existed
        seen["screening_hits"] = [list(h) for h in hits]
    text = json.dumps(seen, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _as_event(row: CaseApproval) -> dict[str, Any]:
    return {"step": row.step, "of": APPROVALS_NEEDED, "approver": row.approver,
            "at": row.at.isoformat() + "Z"}


def record_first(session: Session, case: Case, actor: str, reason: str | None,
                 rule: str) -> CaseApproval:
    """Approval 1 of 2: kept with the digest of what was approved, audited; nothing else."""
    session.flush()
    row = CaseApproval(case_id=case.id, step=1, approver=actor, at=utcnow(), reason=reason,
                       rule=rule[:300], facts_digest=facts_digest(session, case))
    session.add(row)
    session.flush()
    audit.record(session, case_id=case.id, actor=actor, kind="case.approval_given",
                 after={"step": 1, "of": APPROVALS_NEEDED, "reason": reason, "rule": rule})
    return row


def record_final(session: Session, case: Case, actor: str, reason: str | None,
                 first: CaseApproval) -> list[dict[str, Any]]:
    """Approval 2 of 2, beside the decision; returns both approvals for the decision's event
    and its notification."""
    row = CaseApproval(case_id=case.id, step=2, approver=actor, at=utcnow(), reason=reason,
                       rule=first.rule, facts_digest=facts_digest(session, case))
    session.add(row)
    session.flush()
    return [_as_event(first), _as_event(row)]


def withdraw(session: Session, case: Case, actor: str, because: str) -> bool:
    """Withdraws a waiting first approval (audited); False when none waits."""
    first = next((r for r in _counting(session, case.id) if r.step == 1), None)
    if first is None or any(r.step == 2 for r in _counting(session, case.id)):
        return False
    first.withdrawn_at, first.withdrawn_because = utcnow(), because[:300]
    audit.record(session, case_id=case.id, actor=actor, kind="case.approval_withdrawn",
                 before={"step": 1, "approver": first.approver, "at": first.at.isoformat() + "Z"},
                 after={"because": because})
    return True


def withdraw_if_changed(session: Session, case: Case, actor: str) -> None:
    """After any change to an undecided case: a first approval given on facts that are no
    longer the case's is withdrawn (`core.cases.state.refresh_status` calls this)."""
    if case.decision is not None:
        return
    first = _pending(case, _counting(session, case.id))
    if first is not None and first.facts_digest != facts_digest(session, case):
        withdraw(session, case, actor, "the case changed after the first approval")
