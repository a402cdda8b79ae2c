"""Erasure at the end of retention, and the retention run (`python -m core retention run`;
docs/RECORDS.md, "Retention, legal hold and erasure").

`erase_case` removes a case's personal data from every table in one unit of work, destroys
the case's subject key (its audit commitments can no longer be checked against any value, and
its events' sealed before/after can no longer be opened, in this database or any copy of it),
clears its audit events' values (sealed and readable) and appends `subject.erased` (counts
only). The case row stays as a tombstone: id, workflow, status, decision, dates, tags, who
decided. `run_retention` lists what is due (a dry run by default) and, with `apply`, erases
every due case without a hold in force, each in its own transaction.

What a byte search could still find after that is outside the rows: SQLite keeps freed bytes
in free pages (erasure turns on `secure_delete`, which zeroes them, and the run optimises the
full-text index and truncates the WAL; a VACUUM rewrites the file), PostgreSQL keeps dead row
versions until VACUUM; backups keep everything until they expire (docs/DEPLOY.md).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, insert, null, or_, select, text, update
from sqlalchemy.orm import Session

from core.cases.actions import load_case
from core.cases.state import touch
from core.errors import ActionNotAllowed, DocketError
from core.records.retention import (
    RetentionPlan,
    holds_of,
    plan_in,
    refusal,
    require_retention_admin,
)
from core.store import audit
from core.store.audit_chain_models import AuditEvent, AuditSubjectKey
from core.store.audit_chain_pg import forget_subject_key
from core.store.db import Database
from core.store.models import (
    CapturedEmail,
    Case,
    CaseApproval,
    CaseKey,
    Decision,
    Delivery,
    DeliveryAttempt,
    Document,
    DocumentFile,
    Entity,
    FileBlob,
    HookMessage,
    IdempotencyRecord,
    Note,
    OutboxMessage,
    Process,
    ReuploadToken,
    ScreeningHit,
    Ubo,
    utcnow,
)
from core.store.retention_models import ErasureRequest, LegalHold
from core.store.screening_list_models import ScreeningJob
from core.store.screening_state_models import CaseScreeningState
from core.store.worklist_models import ExportLink, SavedFilter

ERASED = "[erased]"  # the tombstone entity's name, shown in the case list


def _count(result) -> int:
    return max(0, int(result.rowcount or 0))


def _erase_entity(s: Session, case: Case) -> dict[str, int]:
    """The case gets a tombstone entity (kind and country kept: the counters' grain); the old
    one is deleted when no other case points to it, else it stays for those cases."""
    old = case.entity
    tomb = Entity(kind=old.kind, name=ERASED, email="", phone="", country=old.country,
                  registration_number="")
    s.add(tomb)
    s.flush()
    case.entity = tomb
    s.flush()  # a trigger copies the tombstone's name onto the case (migration 0011)
    s.expire(case, ["entity_name"])
    others = int(s.scalar(select(func.count()).select_from(Case)
                          .where(Case.entity_id == old.id)) or 0)
    if others:
        return {"entity_kept_for_other_cases": 1}
    s.execute(delete(Entity).where(Entity.id == old.id))
    return {"entity": 1}


def _erase_documents(s: Session, case_id: str) -> dict[str, int]:
    doc_ids = select(Document.id).where(Document.case_id == case_id)
    shas = set(s.scalars(select(DocumentFile.blob_sha256)
                         .where(DocumentFile.document_id.in_(doc_ids))))
    files = _count(s.execute(delete(DocumentFile).where(DocumentFile.document_id.in_(doc_ids))))
    documents = _count(s.execute(delete(Document).where(Document.case_id == case_id)))
    ubos = _count(s.execute(delete(Ubo).where(Ubo.case_id == case_id)))
    blobs = kept = 0
    for sha in sorted(shas):  # a file another case (or document) also holds stays for it
        if s.scalar(select(exists().where(DocumentFile.blob_sha256 == sha))):
            kept += 1
        else:
            blobs += _count(s.execute(delete(FileBlob).where(FileBlob.sha256 == sha)))
    return {"documents": documents, "document_files": files, "file_blobs": blobs,
            "file_blobs_shared_kept": kept, "ubos": ubos}


def _identifiers(case: Case) -> set[str]:
    """What a search for this case's subject would have typed: names, emails, registration
    number, the case id (casefolded; at least 3 characters)."""
    values = {case.id, case.entity.name, case.entity.email, case.entity.registration_number}
    values |= {u.full_name for u in case.ubos} | {u.email for u in case.ubos}
    return {" ".join(v.split()).casefold() for v in values if v and len(v.strip()) >= 3}


def _forget_searches(s: Session, identifiers: set[str]) -> int:
    """Searches stored in filters (a live CSV link, a saved filter: a few rows each) that
    name the subject: the link goes, the saved filter loses its search text."""
    def names_subject(filters: Any) -> bool:
        search = " ".join(str((filters or {}).get("search") or "").split()).casefold()
        return bool(search) and any(search in v or v in search for v in identifiers)
    links = [t for t, f in s.execute(select(ExportLink.token_hash, ExportLink.filters))
             if names_subject(f)]
    if links:
        s.execute(delete(ExportLink).where(ExportLink.token_hash.in_(links)))
    saved = [(i, f) for i, f in s.execute(select(SavedFilter.id, SavedFilter.filters))
             if names_subject(f)]
    for filter_id, filters in saved:
        s.execute(update(SavedFilter).where(SavedFilter.id == filter_id)
                  .values(filters={**filters, "search": ""}))
    return len(links) + len(saved)


def _erase_records(s: Session, case_id: str, now: datetime) -> dict[str, int]:
    """Notes, processes' details, reasons, screening snapshots, related-case keys, outbox
    payloads and delivery responses, the demo mailbox, tokens, vendor callback details."""
    counts = {"notes": _count(s.execute(delete(Note).where(Note.case_id == case_id)))}
    s.execute(update(Process).where(Process.case_id == case_id).values(detail=""))
    counts["decision_reasons"] = _count(s.execute(
        update(Decision).where(Decision.case_id == case_id, Decision.reason.is_not(None))
        .values(reason=None)))
    s.execute(update(CaseApproval).where(CaseApproval.case_id == case_id).values(reason=None))
    hits = list(s.scalars(select(ScreeningHit.id).where(ScreeningHit.case_id == case_id)))
    for hit_id in hits:  # the decision stays (who, when, which list entry); not what matched
        s.execute(update(ScreeningHit).where(ScreeningHit.id == hit_id).values(
            subject_name=ERASED, entry={}, matched_fields=[], reason=None,
            match_hash=hashlib.sha256(f"erased:{hit_id}".encode()).hexdigest()))
    counts["screening_hits"] = len(hits)
    s.execute(delete(CaseScreeningState).where(CaseScreeningState.case_id == case_id))
    s.execute(delete(ScreeningJob).where(ScreeningJob.case_id == case_id))
    counts["case_keys"] = _count(s.execute(delete(CaseKey).where(CaseKey.case_id == case_id)))
    counts["outbox_payloads"] = _count(s.execute(
        update(OutboxMessage).where(OutboxMessage.case_id == case_id)
        .values(payload={"erased": True}, last_error=None)))
    deliveries = select(Delivery.id).where(Delivery.case_id == case_id)
    s.execute(update(Delivery).where(Delivery.case_id == case_id).values(last_error=None))
    counts["delivery_attempts"] = _count(s.execute(
        update(DeliveryAttempt).where(DeliveryAttempt.delivery_id.in_(deliveries))
        .values(response_excerpt="", error=None)))
    counts["captured_emails"] = _count(s.execute(
        delete(CapturedEmail).where(CapturedEmail.case_id == case_id)))
    s.execute(delete(ReuploadToken).where(ReuploadToken.case_id == case_id))
    s.execute(update(HookMessage).where(HookMessage.case_id == case_id).values(detail=""))
    # API answers kept for retries (24 h) that name the case; dead ones go anyway
    s.execute(delete(IdempotencyRecord).where(or_(
        IdempotencyRecord.expires_at < now,
        IdempotencyRecord.response_body.contains(case_id, autoescape=True))))
    # used or expired CSV links go (their stored filter may hold a searched name)
    s.execute(delete(ExportLink).where(or_(ExportLink.used_at.is_not(None),
                                           ExportLink.expires_at < now)))
    s.execute(update(LegalHold).where(LegalHold.case_id == case_id)
              .values(reason="", release_reason=None))
    counts["erasure_requests"] = _count(s.execute(
        update(ErasureRequest).where(ErasureRequest.case_id == case_id)
        .values(reason="", carried_out_at=now)))
    return counts


def _erase_audit_values(s: Session, case_id: str, now: datetime) -> int:
    """Destroys the case's subject key (created destroyed if the case never had one, so its
    later events stay in clear) and clears its events' values: the sealed ones (unreadable
    without the key anyway) and any readable before/after."""
    keys = AuditSubjectKey.__table__
    if s.execute(update(keys).where(keys.c.case_id == case_id)
                 .values(key=None, destroyed_at=now)).rowcount == 0:
        s.execute(insert(keys).values(case_id=case_id, key=None, created_at=now,
                                      destroyed_at=now))
    forget_subject_key(s, case_id)  # this transaction's later events of the case: in clear
    events = AuditEvent.__table__
    return _count(s.execute(update(events).where(
        events.c.case_id == case_id, events.c.seq.is_not(None),
        or_(events.c.before.is_not(None), events.c.after.is_not(None),
            events.c.sealed_values.is_not(None)))
        .values(before=null(), after=null(), sealed_values=null())))


def erase_in(s: Session, case: Case, actor: str, now: datetime) -> dict[str, int]:
    """Erases the case's personal data in the caller's unit of work (checks done by the
    caller); returns what was erased, as counts."""
    if s.get_bind().dialect.name == "sqlite":
        s.execute(text("PRAGMA secure_delete = ON"))  # freed bytes are zeroed, not left
    touch(case)
    identifiers = _identifiers(case)
    counts = _erase_entity(s, case)
    counts.update(_erase_documents(s, case.id))
    counts.update(_erase_records(s, case.id, now))
    counts["stored_searches"] = _forget_searches(s, identifiers)
    case.user_data, case.registry_data, case.enriched_data = {}, {}, None
    case.decision_reason, case.risk_factors, case.erased_at = None, None, now
    s.flush()
    s.expire(case, ["documents", "ubos", "processes"])
    counts["audit_values_cleared"] = _erase_audit_values(s, case.id, now)
    audit.record(s, case_id=case.id, actor=actor, kind="subject.erased",
                 after={"erased": {k: v for k, v in sorted(counts.items()) if v}})
    return counts


def erase_case(db: Database, case_id: str, *, actor: str = "system",
               now: datetime | None = None) -> dict[str, int]:
    """Erases one case now, if it may be (retention over, no hold in force, not erased yet):
    else ActionNotAllowed saying why, and nothing changes."""
    now = now or utcnow()
    with db.unit_of_work() as s:
        require_retention_admin(s, actor)
        case = load_case(s, case_id, for_update=True)
        why = refusal(case, holds_of(s, [case_id], now).get(case_id, []), now)
        if why:
            raise ActionNotAllowed(f"not erased: {why}")
        return erase_in(s, case, actor, now)


def compact_after_erasure(db: Database) -> None:
    """SQLite: merges the full-text index (its deleted terms otherwise stay in old segments
    until a merge) and truncates the WAL (which holds old page images until a checkpoint)."""
    if not db.is_sqlite:
        return
    with db.write_engine.begin() as conn:
        conn.execute(text("PRAGMA secure_delete = ON"))
        for table in ("entity_search", "case_entity_search"):  # per entity, per case (0023)
            conn.execute(text(f"INSERT INTO {table}({table}) VALUES('optimize')"))
    raw = db.write_engine.raw_connection()  # outside a transaction, which BEGIN would open
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


@dataclass
class RunReport:
    plan: RetentionPlan
    applied: bool = False
    erased: dict[str, dict[str, int]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        p = self.plan
        return {"at": p.at.strftime("%Y-%m-%dT%H:%M:%SZ"), "applied": self.applied,
                "due": [r.as_dict() for r in p.due], "held": [r.as_dict() for r in p.held],
                "not_over": [r.as_dict() for r in p.not_over], "kept": p.kept,
                "erased": self.erased, "refused": self.refused}


def run_retention(db: Database, *, apply: bool = False, actor: str = "system",
                  case_id: str | None = None, now: datetime | None = None) -> RunReport:
    """The dry run (what would be erased, what is skipped and why) or, with `apply`, the
    erasure of every due case without a hold, each in its own transaction. `case_id`: that
    one case only; with `apply` a case that may not be erased is refused (ActionNotAllowed,
    nothing changes)."""
    now = now or utcnow()
    with db.read() as s:
        require_retention_admin(s, actor)
        plan = plan_in(s, now)
        if case_id is not None:
            case = load_case(s, case_id)
            why = refusal(case, holds_of(s, [case_id], now).get(case_id, []), now)
            keep = [r for r in plan.due if r.case_id == case_id]
            if apply and why:
                raise ActionNotAllowed(f"not erased: {why}")
            plan.due, plan.held = keep, [r for r in plan.held if r.case_id == case_id]
            plan.not_over = [r for r in plan.not_over if r.case_id == case_id]
    report = RunReport(plan, applied=apply)
    if not apply:
        return report
    for row in plan.due:
        try:
            report.erased[row.case_id] = erase_case(db, row.case_id, actor=actor, now=now)
        except DocketError as e:  # a hold placed meanwhile, say: skipped, said why
            report.refused[row.case_id] = str(e)
    if report.erased:
        compact_after_erasure(db)
    return report
