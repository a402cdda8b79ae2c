"""A case's audit events as sentences: the timeline the preview, `python -m core show` and the
API can show ("reviewer changed Occupation from “trader” to “banker”", "admin approved the
case: in order", "Webhook “case rejected” to hooks.example.com skipped: endpoint disabled").

`WRITERS` holds one sentence writer per kind of event `core` records against a case
(tests/cases/test_history.py reads core's source and fails for a kind without one); `describe`
writes one event, `case_history` a case's whole timeline with its blocks and webhook
endpoints named. The raw event (kind, before, after) stays on each entry for a "details" view.

Sentences are plain text on one line (control characters and line breaks become spaces, long
values are shortened). Case data in them — field names and values, reasons, notes, file
names — comes from applicants and stays verbatim: a screen must show a sentence as text
(ui/text.py `esc`, st.text), never as Markdown or HTML.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from sqlalchemy import select

from core.cases.read import CaseDetail
from core.cases.retention_state import RETENTION_WRITERS
from core.cases.status import CaseStatus
from core.store.db import Database
from core.store.models import WebhookEndpoint

MAX_VALUE_CHARS = 80       # a value quoted in a sentence; the full value stays in the event
APPLICANT, SYSTEM = "applicant", "system"

Event = Mapping[str, Any]      # {"at", "actor", "kind", "before", "after"} (CaseDetail.timeline)
Names = Mapping[str, str]      # "document:ID" / "kyc:ID" / "endpoint:ID" -> display name
Writer = Callable[[str, dict, dict, Names], str]  # (actor, before, after, names) -> sentence

EVENT_WORDS = {  # notification event types, as a reviewer would say them
    "case.approved": "case approved",
    "case.rejected": "case rejected",
    "case.revision_requested": "re-uploads requested",
    "kyc.reupload_requested": "KYC re-upload requested",
}
CHANNEL_WORDS = {"webhook": "Webhook", "email": "Email", "sms": "SMS", "crm": "CRM call"}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    kind: str
    sentence: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# --- words ------------------------------------------------------------------------------------

def _line(value: Any) -> str:
    """Text on one line: control characters (terminal escapes too) and breaks become spaces."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return " ".join(text.split())


def _short(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _value(value: Any) -> str:
    """A field value as the sentence quotes it: text in quotes, numbers and true/false bare."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str)
    return f"“{_short(_line(value))}”"


def _text(value: Any, limit: int = MAX_VALUE_CHARS * 2) -> str:
    return _short(_line(value if value is not None else ""), limit)


def _words(code: Any) -> str:
    """A code as words: "registration_number" -> "Registration number"."""
    text = _line(str(code or "").replace("_", " "))
    return text[:1].upper() + text[1:] if text else "(unnamed)"


def _who(actor: str) -> str:
    return {APPLICANT: "The applicant", SYSTEM: "The system"}.get(actor, _line(actor) or "someone")


def _status(value: Any) -> str:
    try:
        return CaseStatus(value).label
    except ValueError:
        return _words(value)


def _block(ref: Any, names: Names, document_type: Any = None) -> str:
    ref = str(ref or "")
    if ref in names:
        return names[ref]
    if document_type and document_type != "kyc":
        return _words(document_type)
    kind, _, number = ref.partition(":")
    return f"{'KYC block' if kind == 'kyc' else kind or 'block'} {number}".strip()


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _reason(reason: Any) -> str:
    return f": {_text(reason)}" if reason not in (None, "") else ""


def _reported(actor: str) -> str:
    return "" if actor in (SYSTEM, APPLICANT) else f" (reported by {_line(actor)})"


# --- the writers, one per kind ------------------------------------------------------------------

def _imported(actor, before, after, names):
    parts = [_count(after[k], *words) for k, words in
             (("documents", ("document",)), ("ubos", ("UBO",)),
              ("processes", ("process", "processes")))
             if isinstance(after.get(k), int) and after[k]]
    workflow = f" into the {_text(after['workflow'])} workflow" if after.get("workflow") else ""
    return (f"{_who(actor)} imported the case{workflow}"
            + (f" ({', '.join(parts)})" if parts else ""))


def _status_changed(actor, before, after, names):
    return f"Status changed from {_status(before.get('status'))} to {_status(after.get('status'))}"


def _decided(verb: str) -> Writer:
    def write(actor, before, after, names):
        given = [a for a in after.get("approvals") or [] if isinstance(a, dict)]
        first = next((a for a in given if a.get("step") == 1), None)
        second = (f" (approval 2 of 2; approval 1 by {_line(first.get('approver'))})"
                  if first else "")
        return f"{_who(actor)} {verb} the case{second}{_reason(after.get('reason'))}"
    return write


def _approval_given(actor, before, after, names):
    rule = f" — four-eyes rule: {_text(after['rule'])}" if after.get("rule") else ""
    return (f"{_who(actor)} gave approval {after.get('step', 1)} of {after.get('of', 2)}; "
            f"waiting for a second approver{rule}{_reason(after.get('reason'))}")


def _approval_withdrawn(actor, before, after, names):
    return (f"Approval 1 of 2 by {_line(before.get('approver'))} withdrawn: "
            f"{_text(after.get('because'))}")


def _revision_requested(actor, before, after, names):
    blocks = after.get("blocks") or []
    listed = ", ".join(_block(b.get("block"), names, b.get("document_type"))
                       + (f" ({_text(b['reason'])})" if b.get("reason") else "")
                       for b in blocks if isinstance(b, dict))
    return (f"{_who(actor)} asked the applicant to re-upload {_count(len(blocks), 'block')}"
            + (f": {listed}" if listed else ""))


def _assigned(actor, before, after, names):
    old, new = before.get("assignee"), after.get("assignee")
    if new is None:
        return f"{_who(actor)} unassigned the case" + (f" (it was {_line(old)}’s)" if old else "")
    if old is None:
        return (f"{_who(actor)} took the case" if new == actor
                else f"{_who(actor)} assigned the case to {_line(new)}")
    return f"{_who(actor)} reassigned the case from {_line(old)} to {_line(new)}"


def _tagged(actor, before, after, names):
    return f"{_who(actor)} tagged the case {_line(after.get('tag'))}"


def _untagged(actor, before, after, names):
    return f"{_who(actor)} removed the tag {_line(after.get('tag'))}"


def _note(actor, before, after, names):
    return f"{_who(actor)} added a note: {_value(after.get('body'))}"


def _changed(what: str, old: Any, new: Any, actor: str) -> str:
    if old is None or old == "":
        return f"{_who(actor)} set {what} to {_value(new)}"
    if new is None or new == "":
        return f"{_who(actor)} cleared {what} (was {_value(old)})"
    return f"{_who(actor)} changed {what} from {_value(old)} to {_value(new)}"


def _user_data_edited(actor, before, after, names):
    return _changed(_words(after.get("field")), before.get("value"), after.get("value"), actor)


def _document_edited(actor, before, after, names):
    what = f"{_words(after.get('field'))} of {_block(after.get('block'), names)}"
    return _changed(what, before.get("value"), after.get("value"), actor)


def _block_approved(actor, before, after, names):
    return f"{_who(actor)} approved {_block(after.get('block'), names)}"


def _reupload_requested(actor, before, after, names):
    block = _block(after.get("block"), names)
    if str(after.get("block", "")).startswith("kyc:"):
        return f"{_who(actor)} sent {block} a new KYC flow{_reason(after.get('reason'))}"
    return f"{_who(actor)} marked {block} “Re-upload needed”{_reason(after.get('reason'))}"


def _reupload_undone(actor, before, after, names):
    return f"{_who(actor)} undid the re-upload request for {_block(after.get('block'), names)}"


def _notification(info: dict, names: Names) -> str:
    channel = str(info.get("channel") or "")
    what = CHANNEL_WORDS.get(channel, _words(channel))
    event_type = info.get("event_type")
    if event_type:
        what += f" “{EVENT_WORDS.get(event_type, _words(event_type))}”"
    target = str(info.get("target") or "")
    if target.startswith("endpoint:"):
        what += f" to {names.get(target) or 'endpoint ' + target.partition(':')[2]}"
    return what


def _queued(actor, before, after, names):
    return f"{_notification(after, names)} queued for delivery"


def _delivered(actor, before, after, names):
    attempts = after.get("attempts")
    return f"{_notification(after, names)} delivered" + (
        f" (attempt {attempts})" if isinstance(attempts, int) else "")


def _skipped(actor, before, after, names):
    return f"{_notification(after, names)} skipped{_reason(after.get('error'))}"


def _failed(actor, before, after, names):
    attempts = after.get("attempts")
    tries = f" after {_count(attempts, 'attempt')}" if isinstance(attempts, int) else ""
    return f"{_notification(after, names)} failed{tries}{_reason(after.get('error'))}"


def _replayed(actor, before, after, names):
    what = _notification(after, names)
    return f"{_who(actor)} sent the {what[:1].lower() + what[1:]} again"


def _collection_completed(actor, before, after, names):
    return f"The applicant completed the collection flow{_reported(actor)}"


def _process(actor, before, after, names):
    name, state = _text(after.get("process")), after.get("state")
    verb = {"pending": "started again" if before.get("state") else "started",
            "completed": "completed", "failed": "failed"}.get(state, _text(state))
    return f"Process {name} {verb}{_reason(after.get('detail'))}{_reported(actor)}"


def _person(ref: Any, names: Names) -> str:
    name = _block(ref, names)
    return name[len("KYC of "):] if name.startswith("KYC of ") else name


def _kyc_sent(actor, before, after, names):
    return f"KYC flow sent to {_person(after.get('block'), names)}{_reported(actor)}"


def _kyc_completed(actor, before, after, names):
    result = after.get("result")
    summary = ""
    if isinstance(result, dict) and result:
        summary = ": " + _short(", ".join(f"{_line(k)} {_line(v)}" for k, v in
                                          list(result.items())[:4]), MAX_VALUE_CHARS)
    return f"KYC result for {_person(after.get('block'), names)} came in{summary}{_reported(actor)}"


def _document_uploaded(actor, before, after, names):
    version = f" as version {after['version']}" if after.get("version") is not None else ""
    link = ", through the re-upload link" if after.get("via") == "re-upload link" else ""
    return (f"{_who(actor)} uploaded {_text(after.get('filename') or 'a file')}{version} of "
            f"{_block(after.get('block'), names)}{link}")


def _kyc_resubmitted(actor, before, after, names):
    document = _block(after.get("identity_document"), names, after.get("document_type"))
    version = f", version {after['version']}" if after.get("version") is not None else ""
    return (f"{_who(actor)} submitted a new identity document ({document}{version}) for "
            f"{_block(after.get('block'), names)}; its KYC check starts again")


def _link_used(actor, before, after, names):
    blocks = [_block(b, names) for b in after.get("blocks") or []]
    return (f"{_who(actor)} used the re-upload link for {_count(len(blocks), 'block')}"
            + (f": {', '.join(blocks)}" if blocks else ""))


def _subject(key: Any, names: Names) -> str:
    key = str(key or "")
    if key.startswith("ubo:"):
        return _person(f"kyc:{key[len('ubo:'):]}", names)
    return "the entity" if key == "entity" else _text(key) or "a subject"


def _hit(after: dict, names: Names) -> str:
    return (f"hit {_value(after.get('entry_id'))} ({_text(after.get('dataset'))}) of "
            f"{_subject(after.get('subject'), names)}")


def _disposition(value: Any) -> str:
    return _words(value).lower() if value else "open"


def _screening_recorded(actor, before, after, names):
    counts = [f"{after[k]} {word}" for k, word in
              (("new", "new"), ("carried", "decided before"), ("reopened", "re-opened"),
               ("updated", "updated"), ("returned", "back"), ("gone", "no longer returned"))
              if isinstance(after.get(k), int) and after[k]]
    return (f"Screening by {_text(after.get('source'))} of "
            f"{_subject(after.get('subject'), names)}: {', '.join(counts) or 'no change'}"
            f"{_reported(actor)}")


def _hit_carried(actor, before, after, names):
    return (f"{_hit(after, names)} carries the decision taken before on the same entry: "
            f"{_disposition(after.get('disposition'))} by {_text(after.get('disposed_by'))}"
            f"{_reason(after.get('reason'))}")


def _hit_reopened(actor, before, after, names):
    return (f"{_hit(after, names)} re-opened ({_text(after.get('because'))}); it was "
            f"{_disposition(before.get('disposition'))}{_reason(before.get('reason'))}")


def _hit_dispositioned(actor, before, after, names):
    return (f"{_who(actor)} marked {_hit(after, names)} "
            f"{_disposition(after.get('disposition'))}{_reason(after.get('reason'))}")


def _hit_signed_off(actor, before, after, names):
    return f"{_who(actor)} signed off the true match {_hit(after, names)}"


def _review_opened(actor, before, after, names):
    return (f"New screening hits after approval: review {_value(after.get('review_case'))} "
            f"opened in Ongoing monitoring{_reported(actor)}")


def _subject_edited(actor, before, after, names):
    what = f"{_words(after.get('field'))} of {_subject(after.get('subject'), names)}"
    return (f"{_changed(what, before.get('value'), after.get('value'), actor)}; the case is "
            "screened again")


def _viewed(actor, before, after, names):  # the access log (core/records/access_log.py)
    return f"{_who(actor)} opened the case"


def _downloaded(actor, before, after, names):
    version = f" version {after['version']}" if after.get("version") is not None else ""
    return (f"{_who(actor)} downloaded {_text(after.get('filename') or 'a file')}{version} of "
            f"{_block(after.get('block'), names)}")


def _case_exported(actor, before, after, names):
    return (f"{_who(actor)} exported the case file ({_text(after.get('profile'))}) for "
            f"{_text(after.get('recipient'))}")


WRITERS: dict[str, Writer] = {
    "case.imported": _imported,
    "case.status_changed": _status_changed,
    "case.approved": _decided("approved"),
    "case.rejected": _decided("rejected"),
    "case.approval_given": _approval_given,
    "case.approval_withdrawn": _approval_withdrawn,
    "case.revision_requested": _revision_requested,
    "case.assigned": _assigned,
    "case.tagged": _tagged,
    "case.untagged": _untagged,
    "note.added": _note,
    "user_data.edited": _user_data_edited,
    "document.edited": _document_edited,
    "block.approved": _block_approved,
    "block.reupload_requested": _reupload_requested,
    "block.reupload_request_undone": _reupload_undone,
    "notification.queued": _queued,
    "notification.delivered": _delivered,
    "notification.skipped": _skipped,
    "notification.failed": _failed,
    "notification.replayed": _replayed,
    "collection.completed": _collection_completed,
    "process.started": _process,
    "process.completed": _process,
    "process.failed": _process,
    "kyc.sent": _kyc_sent,
    "kyc.completed": _kyc_completed,
    "document.uploaded": _document_uploaded,
    "kyc.resubmitted": _kyc_resubmitted,
    "reupload.link_used": _link_used,
    "screening.recorded": _screening_recorded,
    "screening.hit_carried": _hit_carried,
    "screening.hit_reopened": _hit_reopened,
    "screening.hit_dispositioned": _hit_dispositioned,
    "screening.hit_signed_off": _hit_signed_off,
    "screening.review_opened": _review_opened,
    "subject.edited": _subject_edited,
    "case.viewed": _viewed,
    "document.downloaded": _downloaded,
    "case.exported": _case_exported,
    **RETENTION_WRITERS,  # relationship ended, legal holds, erasure (core/records/retention*.py)
}


def describe(event: Event, names: Names | None = None) -> str:
    """One event as a sentence (an unknown kind: "actor: kind in words")."""
    actor = str(event.get("actor") or "")
    kind = str(event.get("kind") or "")
    before = event.get("before") if isinstance(event.get("before"), dict) else {}
    after = event.get("after") if isinstance(event.get("after"), dict) else {}
    writer = WRITERS.get(kind)
    if writer is None:
        return f"{_line(actor) or 'someone'}: {_line(kind.replace('.', ' ').replace('_', ' '))}"
    return writer(actor, before, after, names or {})


def history(events: Iterable[Event], names: Names | None = None) -> list[HistoryEntry]:
    return [HistoryEntry(e["at"], e["actor"], e["kind"], describe(e, names), e.get("before"),
                         e.get("after")) for e in events]


# --- names from the case and the endpoints ------------------------------------------------------

def block_names(detail: CaseDetail) -> dict[str, str]:
    """Each block of the case by its ref: documents by their label, UBOs as "KYC of NAME"."""
    names = {}
    for kyc in detail.kyc_blocks:
        names[kyc.ref] = f"KYC of {_text(kyc.full_name)}"
        names.update({d.ref: d.label for d in kyc.documents})
    names.update({d.ref: d.label for d in detail.documents})
    return names


def endpoint_names(db: Database, events: Iterable[Event]) -> dict[str, str]:
    """The webhook endpoints the events name, by "endpoint:ID": their description, else the
    host of their URL (never the path or query, which may carry a token)."""
    ids = set()
    for e in events:
        target = str((e.get("after") or {}).get("target") or "")
        if target.startswith("endpoint:") and target[len("endpoint:"):].isdigit():
            ids.add(int(target[len("endpoint:"):]))
    if not ids:
        return {}
    with db.read() as s:
        rows = s.execute(select(WebhookEndpoint.id, WebhookEndpoint.description,
                                WebhookEndpoint.url).where(WebhookEndpoint.id.in_(ids))).all()
    return {f"endpoint:{i}": _text(description) or urlsplit(url).hostname or f"endpoint {i}"
            for i, description, url in rows}


def case_history(db: Database, detail: CaseDetail) -> list[HistoryEntry]:
    """The case's timeline (newest first, as `case_detail` read it) as sentences."""
    names = {**block_names(detail), **endpoint_names(db, detail.timeline)}
    return history(detail.timeline, names)
