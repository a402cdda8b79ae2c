"""What goes into the examiner's case file: one case's contents, gathered with the house's own
read functions (the case as read, its timeline sentences, screening hits, four-eyes approvals,
risk factors) plus the rows only a file needs in full (every document version, every decision,
every audit event, SLA breaches, deliveries).

`gather(session, db, case_id, profile)` returns plain JSON values (text, numbers, lists, maps;
times as UTC ISO text), the one source for `case.json`, `case.html` and `case.pdf`, so the
three say the same. Two profiles:

- `examiner`: everything.
- `subject-access` (the applicant's own copy, GDPR Art. 15): leaves out what would tip them
  off (AMLD4 Art. 39): every note (notes are the reviewers' internal working notes: Docket has
  no note the applicant writes), the tag `suspicious` and its audit events, and the internal
  reasons of true-match screening hits (the disposition's reason, a sign-off). Docket has no
  "suspicious" flag of its own: the tag `suspicious` is that marker (docs/RECORDS.md).

Access events (who viewed, downloaded, exported) are not content: they change each time the file
is read and go to `access_log.json` beside it (core/records/case_file.py says why).
"""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.cases.history import block_names, endpoint_names, history
from core.cases.read import CaseDetail, case_detail
from core.records.verify import proven_from
from core.store.audit_values import opened
from core.store.db import Database
from core.store.models import (
    AuditEvent,
    Case,
    CaseApproval,
    Decision,
    Delivery,
    DocumentFile,
    FileBlob,
    Note,
    SlaBreach,
)
from core.store.screening_list_models import ScreeningList, ScreeningListVersion

FORMAT = "docket.case-file.v1"
SUSPICIOUS_TAG = "suspicious"
# Kinds of audit event that say who read a case, not what happened to it: the access log's
# (H4, core/records/access_log.py), kept out of the content so an unchanged case exports alike.
ACCESS_KINDS = frozenset({"case.viewed", "case.exported", "document.downloaded",
                          "search.performed"})
HIT_EVENTS = frozenset({"screening.hit_dispositioned", "screening.hit_carried",
                        "screening.hit_reopened", "screening.hit_signed_off"})


class Profile(StrEnum):
    EXAMINER = "examiner"
    SUBJECT_ACCESS = "subject-access"


def utc_text(value: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO text ending in Z; None stays None."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def _json(value: Any) -> Any:
    """Plain JSON values: times as UTC text, tuples as lists, maps with text keys."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    return value


def is_internal_event(kind: str, before: Any, after: Any) -> bool:
    """An audit event the subject-access profile leaves out: a note, the `suspicious` tag,
    anything about a true-match screening hit's decision."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    if kind == "note.added":
        return True
    if kind in ("case.tagged", "case.untagged"):
        return str(after.get("tag") or "").strip().lower() == SUSPICIOUS_TAG
    if kind in HIT_EVENTS:
        return kind == "screening.hit_signed_off" or "true_match" in (
            after.get("disposition"), before.get("disposition"))
    return False


def _list_versions(session: Session) -> dict[str, list[dict[str, Any]]]:
    """Each built-in list's loads by source name ("builtin:<list>"), oldest first."""
    rows = session.execute(select(ScreeningList.name, ScreeningList.title, ScreeningListVersion)
                           .join(ScreeningListVersion,
                                 ScreeningListVersion.list_id == ScreeningList.id)
                           .order_by(ScreeningListVersion.version)).all()
    out: dict[str, list[dict[str, Any]]] = {}
    for name, title, v in rows:
        out.setdefault(f"builtin:{name}", []).append(
            {"list": title, "version": v.version, "loaded_at": v.loaded_at,
             "file_sha256": v.file_sha256, "entries": v.entries})
    return out


def _list_version_of(hit: Any, versions: dict[str, list[dict[str, Any]]]) -> dict | None:
    """The load of the hit's list in force when the hit was last returned (built-in lists;
    a vendor's or the API's hits name their dataset only)."""
    loads = [v for v in versions.get(hit.source, []) if v["loaded_at"] <= hit.last_seen_at]
    return loads[-1] if loads else None


def _screening(session: Session, detail: CaseDetail, internal: bool) -> list[dict[str, Any]]:
    versions = _list_versions(session)
    subjects = []
    for subject in detail.screening:
        hits = []
        for h in subject.hits:
            true_match = h.disposition == "true_match"
            hits.append({
                "id": h.id, "source": h.source, "dataset": h.dataset, "entry_id": h.entry_id,
                "entry_name": str((h.entry or {}).get("name") or ""), "entry": h.entry,
                "score": h.score, "matched_fields": h.matched_fields,
                "first_seen_at": h.first_seen_at, "last_seen_at": h.last_seen_at,
                "gone_at": h.gone_at, "state": h.state, "state_label": h.state_label,
                "disposition": h.disposition,
                "reason": h.reason if internal or not true_match else None,
                "disposed_by": h.disposed_by, "disposed_at": h.disposed_at,
                "signed_off_by": h.signed_off_by if internal else None,
                "signed_off_at": h.signed_off_at if internal else None,
                "carried_note": h.carried_note if internal or not true_match else "",
                "list_version": _list_version_of(h, versions)})
        subjects.append({"key": subject.key, "kind": subject.kind, "name": subject.name,
                         "birth_date": subject.birth_date, "country": subject.country,
                         "hits": hits})
    return subjects


def _document_entry(session_files: dict[int, list], block, owner: str) -> dict[str, Any]:
    versions = []
    for f, content_type, size in session_files.get(block.id, []):
        versions.append({"id": f.id, "version": f.version, "filename": f.filename,
                         "content_type": content_type, "size": size,
                         "sha256": f.blob_sha256, "uploaded_at": f.uploaded_at,
                         "uploaded_by": f.uploaded_by})
    return {"id": block.id, "ref": block.ref, "label": block.label,
            "document_type": block.document_type, "owner": owner,
            "properties": block.properties, "status": block.status,
            "status_label": block.status_label, "reupload_reason": block.reupload_reason,
            "reviewed_by": block.reviewed_by, "reviewed_at": block.reviewed_at,
            "versions": versions}


def _documents(session: Session, detail: CaseDetail) -> list[dict[str, Any]]:
    blocks = [(d, detail.entity["name"]) for d in detail.documents]
    blocks += [(d, k.full_name) for k in detail.kyc_blocks for d in k.documents]
    ids = [d.id for d, _ in blocks]
    files: dict[int, list] = {}
    if ids:
        stmt = (select(DocumentFile, FileBlob.content_type, FileBlob.size)
                .join(FileBlob, FileBlob.sha256 == DocumentFile.blob_sha256)
                .where(DocumentFile.document_id.in_(ids))
                .order_by(DocumentFile.document_id, DocumentFile.version))
        for row in session.execute(stmt):
            files.setdefault(row[0].document_id, []).append(tuple(row))
    return sorted((_document_entry(files, d, owner) for d, owner in blocks),
                  key=lambda d: d["id"])


def _ubos(detail: CaseDetail) -> list[dict[str, Any]]:
    return [{"id": k.id, "ref": k.ref, "full_name": k.full_name, "email": k.email,
             "date_of_birth": k.date_of_birth, "nationality": k.nationality,
             "ownership_percent": k.ownership_percent, "kyc_state": k.kyc_state,
             "kyc_result": k.kyc_result, "status": k.status, "status_label": k.status_label,
             "reupload_reason": k.reupload_reason, "reviewed_by": k.reviewed_by,
             "reviewed_at": k.reviewed_at} for k in detail.kyc_blocks]


def _chain_columns(event: AuditEvent) -> dict[str, Any]:
    """The hash chain's columns of an event (docs/RECORDS.md, "Audit chain"): NULL only for
    an event whose transaction has not committed."""
    return {"seq": event.seq, "prev_hash": event.prev_hash, "hash": event.hash,
            "body": event.body, "case_prev_seq": event.case_prev_seq}


def audit_events(session: Session, case_id: str) -> list[AuditEvent]:
    """Every audit event of the case, oldest first (the access log's too), their before/after
    readable (opened with the case's key)."""
    return opened(session, list(session.scalars(select(AuditEvent)
                                                .where(AuditEvent.case_id == case_id)
                                                .order_by(AuditEvent.id))))


def _event_record(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "actor": e.actor, "kind": e.kind, "before": e.before,
            "after": e.after, "via": e.via, **_chain_columns(e)}


def _status_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"at": e["at"], "actor": e["actor"],
             "from": (e["before"] or {}).get("status"), "to": (e["after"] or {}).get("status")}
            for e in events if e["kind"] == "case.status_changed"]


def _sla(session: Session, case_id: str, due_at: datetime | None) -> dict[str, Any]:
    breaches = session.scalars(select(SlaBreach).where(SlaBreach.case_id == case_id)
                               .order_by(SlaBreach.id))
    return {"due_at": due_at,
            "breaches": [{"status": b.case_status, "assignee": b.assignee, "due_at": b.due_at,
                          "left_at": b.left_at} for b in breaches]}


def _deliveries(session: Session, case_id: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Notification outcomes; a webhook endpoint by its name or host (never its URL's path
    or query, which may carry a token); no error texts (an integrations admin's to read)."""
    rows = session.scalars(select(Delivery).where(Delivery.case_id == case_id)
                           .order_by(Delivery.id))
    return [{"channel": d.channel, "event_type": d.event_type,
             "target": names.get(d.target, d.target), "state": d.state, "attempts": d.attempts,
             "last_status_code": d.last_status_code, "created_at": d.created_at,
             "finished_at": d.finished_at} for d in rows]


def gather(session: Session, db: Database, case_id: str, profile: Profile) -> dict[str, Any]:
    """The case file's contents for `profile` (plain JSON values, see the module docstring).
    `session` reads the rows the case's read functions do not give in full; `db` serves those
    functions (they open their own read)."""
    internal = profile is Profile.EXAMINER
    detail = case_detail(db, case_id, None, with_timeline=False)
    rows = audit_events(session, case_id)
    events = [_event_record(e) for e in rows if e.kind not in ACCESS_KINDS
              and (internal or not is_internal_event(e.kind, e.before, e.after))]
    names = {**block_names(detail), **endpoint_names(db, events)}
    timeline = [{"at": h.at, "actor": h.actor, "kind": h.kind, "sentence": h.sentence}
                for h in history(events, names)]
    approvals = session.scalars(select(CaseApproval).where(CaseApproval.case_id == case_id)
                                .order_by(CaseApproval.id))
    decisions = session.scalars(select(Decision).where(Decision.case_id == case_id)
                                .order_by(Decision.id))
    notes = session.scalars(select(Note).where(Note.case_id == case_id).order_by(Note.id))
    tags = [t for t in detail.tags if internal or str(t).strip().lower() != SUSPICIOUS_TAG]
    omitted = [] if internal else [
        "internal notes (every note: notes are the reviewers' working notes)",
        f"the tag “{SUSPICIOUS_TAG}” and its audit events",
        "internal reasons and sign-offs of true-match screening hits, and their audit events"]
    contents = {
        "format": FORMAT, "profile": profile.value,
        "case": {"id": detail.id, "workflow": detail.workflow, "status": detail.status,
                 "status_label": detail.status_label, "assignee": detail.assignee,
                 "created_at": detail.created_at, "updated_at": detail.updated_at,
                 "version": detail.version, "tags": tags,
                 "blocks_shown": detail.blocks_shown},
        "decision": {"decision": detail.decision, "reason": detail.decision_reason,
                     "decided_by": detail.decided_by, "decided_at": detail.decided_at,
                     "approvals_needed": detail.approvals_needed,
                     "four_eyes_rule": detail.four_eyes_rule,
                     "approvals": [{"step": a.step, "approver": a.approver, "at": a.at,
                                    "reason": a.reason, "rule": a.rule,
                                    "withdrawn_at": a.withdrawn_at,
                                    "withdrawn_because": a.withdrawn_because}
                                   for a in approvals]},
        "actions": [{"action": d.action, "reason": d.reason, "actor": d.actor, "at": d.at}
                    for d in decisions],
        "risk": {"points": detail.risk_points, "level": detail.risk_level,
                 "factors": detail.risk_factors},
        "entity": detail.entity, "user_data": detail.user_data,
        "registry_data": detail.registry_data, "enriched_data": detail.enriched_data,
        "processes": detail.processes, "ubos": _ubos(detail),
        "documents": _documents(session, detail),
        "screening": _screening(session, detail, internal),
        "status_history": _status_history(events),
        "sla": _sla(session, case_id, _due_at(session, case_id)),
        "deliveries": _deliveries(session, case_id, names),
        "notes": [{"author": n.author, "body": n.body, "at": n.created_at} for n in notes]
        if internal else [],
        "timeline": timeline,
        "audit_events": events,
        "audit_proven_from": proven_from(session.connection()),
        "omitted": omitted,
    }
    return _json(contents)


def _due_at(session: Session, case_id: str) -> datetime | None:
    return session.scalar(select(Case.due_at).where(Case.id == case_id))
