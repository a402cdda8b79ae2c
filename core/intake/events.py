"""Outside events: the steps of systems outside Docket that advance a case.

The collection flow finished, a process started or ended, a UBO's KYC flow was sent or came
back, a document was (re-)uploaded. Each event locks the case, is refused on a final case,
bumps the case version, is audited and recomputes the status. One is not about the review:
`relationship_ended` (the customer left; an approved, final case is where it usually comes)
starts the case's retention period (core/cases/retention_state.py). `EVENTS` and `apply_event` are
the one table the CLI (`python -m core event`) and other callers go through; the demo
simulator calls the functions directly. docs/INTAKE.md ("Events") documents them.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy.orm import Session

from core import config
from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.actions import load_case
from core.cases.retention_state import end_relationship
from core.cases.state import refresh_status, touch
from core.cases.status import FINAL_STATUSES, BlockStatus, CaseStatus
from core.errors import ActionNotAllowed, InvalidInput, NotFound
from core.intake.documents import add_file_version, check_upload, upload_limit
from core.intake.format import MAX_PROCESS_NAME_CHARS, MAX_STRING_CHARS
from core.intake.values import ValueChecker, clean_actor, unstorable
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Process, Ubo, utcnow

# Set by `report_event`: the user whose credentials reported the event, checked in the event's
# own transaction. Unset for the CLI operator and the simulator, who name an actor label.
_reporter: ContextVar[str | None] = ContextVar("docket_event_reporter", default=None)


@contextmanager
def _case_event(db: Database, case_id: str, event: str,
                actor: str) -> Iterator[tuple[Session, Case]]:
    """One event on one case: lock it, refuse a final case, bump its version, recompute."""
    actor = clean_actor(actor)
    with db.unit_of_work() as session:
        case = _locked_for_event(session, case_id)
        status = CaseStatus(case.case_status)
        if status in FINAL_STATUSES:
            raise ActionNotAllowed(f"event {event} refused: case {case_id} is {status.label}, "
                                   "which is final")
        touch(case)
        yield session, case
        refresh_status(session, case, actor)


def complete_collection(db: Database, case_id: str, *, actor: str = "system") -> CaseStatus:
    """The applicant finished the collection flow."""
    with _case_event(db, case_id, "collection_completed", actor) as (session, case):
        if case.collection_completed:
            raise ActionNotAllowed(f"case {case_id} has already completed the collection flow")
        case.collection_completed = True
        audit.record(session, case_id=case_id, actor=actor, kind="collection.completed",
                     before={"collection_completed": False}, after={"collection_completed": True})
    return CaseStatus(case.case_status)


def _process_name(name: Any) -> str:
    if (not isinstance(name, str) or not name.strip() or len(name) > MAX_PROCESS_NAME_CHARS
            or unstorable(name)):
        raise InvalidInput(f"a process name must be 1 to {MAX_PROCESS_NAME_CHARS} characters")
    return name


def _detail(detail: Any) -> str:
    if not isinstance(detail, str) or len(detail) > MAX_STRING_CHARS or unstorable(detail):
        raise InvalidInput(f"the detail must be text of at most {MAX_STRING_CHARS:,} characters")
    return detail


def start_process(db: Database, case_id: str, name: str, *, detail: str = "",
                  actor: str = "system") -> CaseStatus:
    """A background process (registry lookup, screening...) started, or started again."""
    name, detail = _process_name(name), _detail(detail)
    with _case_event(db, case_id, "process_started", actor) as (session, case):
        process = next((p for p in case.processes if p.name == name), None)
        before = None
        if process is None:
            process = Process(name=name)
            case.processes.append(process)
        elif process.state == "pending":
            raise ActionNotAllowed(f"process {name!r} of case {case_id} is already pending")
        else:
            before = {"process": name, "state": process.state}
        process.state, process.detail, process.updated_at = "pending", detail, utcnow()
        audit.record(session, case_id=case_id, actor=actor, kind="process.started",
                     before=before, after={"process": name, "state": "pending", "detail": detail})
    return CaseStatus(case.case_status)


def finish_process(db: Database, case_id: str, name: str, *, failed: bool = False,
                   detail: str = "", actor: str = "system") -> CaseStatus:
    """A pending process ended: completed, or failed (`failed=True`)."""
    name, detail = _process_name(name), _detail(detail)
    state = "failed" if failed else "completed"
    with _case_event(db, case_id, f"process_{state}", actor) as (session, case):
        process = next((p for p in case.processes if p.name == name), None)
        if process is None:
            known = ", ".join(p.name for p in case.processes) or "none"
            raise NotFound(f"case {case_id} has no process {name!r} (processes: {known})")
        if process.state != "pending":
            raise ActionNotAllowed(f"process {name!r} of case {case_id} is not pending "
                                   f"(it is {process.state})")
        process.state, process.detail, process.updated_at = state, detail, utcnow()
        audit.record(session, case_id=case_id, actor=actor, kind=f"process.{state}",
                     before={"process": name, "state": "pending"},
                     after={"process": name, "state": state, "detail": detail})
    return CaseStatus(case.case_status)


def _ubo_of(case: Case, ubo_id: Any) -> Ubo:
    try:
        wanted = int(ubo_id)
    except (TypeError, ValueError):
        raise InvalidInput(f"a UBO id must be a number, got {ubo_id!r}") from None
    for ubo in case.ubos:
        if ubo.id == wanted:
            return ubo
    raise NotFound(f"case {case.id} has no UBO {wanted}")


def send_kyc(db: Database, case_id: str, ubo_id: int, *, actor: str = "system") -> CaseStatus:
    """The UBO's KYC flow (ID verification) was sent to them."""
    with _case_event(db, case_id, "kyc_sent", actor) as (session, case):
        ubo = _ubo_of(case, ubo_id)
        if ubo.kyc_state != "not_sent":
            raise ActionNotAllowed(f"the KYC flow of UBO {ubo.id} ({ubo.full_name}) was already "
                                   f"sent (KYC state: {ubo.kyc_state})")
        ubo.kyc_state = "sent"
        audit.record(session, case_id=case_id, actor=actor, kind="kyc.sent",
                     before={"block": f"kyc:{ubo.id}", "kyc_state": "not_sent"},
                     after={"block": f"kyc:{ubo.id}", "kyc_state": "sent"})
    return CaseStatus(case.case_status)


def complete_kyc(db: Database, case_id: str, ubo_id: int, result: dict[str, Any], *,
                 actor: str = "system") -> CaseStatus:
    """The KYC vendor's result for a UBO came in; a block pending re-upload awaits review."""
    checker = ValueChecker()
    result = checker.nested_data(result, "result")
    if checker.problems:
        raise InvalidInput("the KYC result was refused", checker.problems)
    with _case_event(db, case_id, "kyc_completed", actor) as (session, case):
        ubo = _ubo_of(case, ubo_id)
        if ubo.kyc_state == "completed":
            raise ActionNotAllowed(f"the KYC of UBO {ubo.id} ({ubo.full_name}) is already "
                                   "completed")
        before = {"block": f"kyc:{ubo.id}", "kyc_state": ubo.kyc_state,
                  "block_status": ubo.block_status}
        ubo.kyc_state, ubo.kyc_result = "completed", result
        if ubo.block_status == BlockStatus.PENDING_REUPLOAD.value:
            ubo.block_status, ubo.reupload_reason = None, None
        audit.record(session, case_id=case_id, actor=actor, kind="kyc.completed", before=before,
                     after={"block": f"kyc:{ubo.id}", "kyc_state": "completed",
                            "block_status": ubo.block_status, "result": result})
    return CaseStatus(case.case_status)


def upload_document(db: Database, case_id: str, document_id: int, filename: str,
                    content: bytes, *, uploaded_by: str = "applicant") -> CaseStatus:
    """A file was (re-)uploaded for a document: it becomes the current version and the
    block returns to awaiting review."""
    check_upload(filename, content, limit=upload_limit(db))
    with _case_event(db, case_id, "document_uploaded", uploaded_by) as (session, case):
        try:
            wanted = int(document_id)
        except (TypeError, ValueError):
            raise InvalidInput(f"a document id must be a number, got {document_id!r}") from None
        document = next((d for d in case.documents if d.id == wanted), None)
        if document is None:
            raise NotFound(f"case {case_id} has no document {wanted}")
        before = {"block": f"document:{document.id}", "block_status": document.block_status,
                  "reupload_reason": document.reupload_reason}
        version_file = add_file_version(session, document, filename, content, uploaded_by)
        document.block_status, document.reupload_reason = None, None
        audit.record(session, case_id=case_id, actor=uploaded_by, kind="document.uploaded",
                     before=before,
                     after={"block": f"document:{document.id}", "block_status": None,
                            "version": version_file.version, "filename": version_file.filename,
                            "sha256": version_file.blob_sha256})
    return CaseStatus(case.case_status)


def _locked_for_event(session: Session, case_id: str) -> Case:
    """The case, locked for an outside event, once the reporting key's user may report one;
    an erased case takes none (its personal data is gone: an event would bring some back)."""
    reporter = _reporter.get()
    if reporter is not None:
        require_permission(session, reporter, Permission.IMPORT_CASES)
    case = load_case(session, case_id, for_update=True)
    if case.erased_at is not None:
        raise ActionNotAllowed(f"case {case_id} was erased on {case.erased_at:%Y-%m-%d} at the "
                               "end of its retention: it takes no more events")
    return case


def relationship_ended(db: Database, case_id: str, *, actor: str = "system") -> CaseStatus:
    """The business relationship ended (the customer left, the account was closed): the
    case's records are kept the workflow's `retention_years` from now, then erased. Taken on
    any case, final ones too; refused when an end is already recorded (a rejection records
    one)."""
    actor = clean_actor(actor)
    with db.unit_of_work() as session:
        case = _locked_for_event(session, case_id)
        if case.relationship_ended_at is not None:
            raise ActionNotAllowed(f"event relationship_ended refused: the relationship of case "
                                   f"{case_id} ended on {case.relationship_ended_at:%Y-%m-%d}")
        touch(case)
        end_relationship(session, case, actor)
    return CaseStatus(case.case_status)


# --- the event table (the CLI: python -m core event CASE EVENT key=value ...) --------------

@dataclass(frozen=True)
class EventType:
    """One kind of outside event: its function, a one-line help and its parameters."""
    function: Callable[..., CaseStatus]
    help: str
    params: tuple[str, ...] = ()
    fixed: dict[str, Any] = field(default_factory=dict)


EVENTS: dict[str, EventType] = {
    "collection_completed": EventType(
        complete_collection, "the applicant finished the collection flow"),
    "process_started": EventType(
        start_process, "a process started (again): name=NAME [detail=TEXT]", ("name", "detail")),
    "process_completed": EventType(
        finish_process, "a pending process completed: name=NAME [detail=TEXT]",
        ("name", "detail")),
    "process_failed": EventType(
        finish_process, "a pending process failed: name=NAME [detail=TEXT]", ("name", "detail"),
        {"failed": True}),
    "kyc_sent": EventType(
        send_kyc, "a UBO's KYC flow was sent: ubo_id=ID", ("ubo_id",)),
    "kyc_completed": EventType(
        complete_kyc, "a UBO's KYC result came in: ubo_id=ID result=JSON_OBJECT",
        ("ubo_id", "result")),
    "document_uploaded": EventType(
        upload_document, "a file was (re-)uploaded: document_id=ID path=FILE "
                         "(or filename=NAME content=BYTES)",
        ("document_id", "path", "filename", "content")),
    "relationship_ended": EventType(
        relationship_ended, "the business relationship ended: the retention period starts"),
}


def _read_upload(path: Any, limit: int | None = None) -> tuple[str, bytes]:
    file = Path(str(path))
    if not file.is_file():
        raise InvalidInput(f"no file at {str(path)!r}")
    limit = config.max_upload_bytes() if limit is None else limit
    if file.stat().st_size > limit:
        raise InvalidInput(f"the file {file.name!r} is {file.stat().st_size:,} bytes; the limit "
                           f"is {limit:,} bytes (DOCKET_MAX_UPLOAD_BYTES)")
    return file.name, file.read_bytes()


def apply_event(db: Database, case_id: str, event: str, **params: Any) -> CaseStatus:
    """Applies the named event with its parameters (text from the CLI is converted);
    returns the case's status afterwards."""
    kind = EVENTS.get(event)
    if kind is None:
        raise InvalidInput(f"unknown event {event!r}; events: {', '.join(EVENTS)}")
    actor = params.pop("actor", "system")
    unknown = sorted(set(params) - set(kind.params))
    if unknown:
        allowed = ", ".join(kind.params) or "none"
        raise InvalidInput(f"event {event} does not take {', '.join(unknown)} "
                           f"(parameters: {allowed})")
    if event == "document_uploaded":
        if "path" in params:
            name, content = _read_upload(params.pop("path"), upload_limit(db))
            params.setdefault("filename", name)
            params["content"] = content
        missing = [p for p in ("document_id", "filename", "content") if p not in params]
        if missing:
            raise InvalidInput(f"event {event} needs {', '.join(missing)} ({kind.help})")
        if isinstance(params["content"], str):
            params["content"] = params["content"].encode("utf-8")
        return upload_document(db, case_id, params["document_id"], params["filename"],
                               params["content"], uploaded_by=actor)
    required = [p for p in kind.params if p != "detail"]
    missing = [p for p in required if p not in params]
    if missing:
        raise InvalidInput(f"event {event} needs {', '.join(missing)} ({kind.help})")
    if isinstance(params.get("result"), (str, bytes)):
        try:
            params["result"] = json.loads(params["result"])
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"result must be a JSON object: {exc.msg} at line {exc.lineno}, "
                               f"column {exc.colno}") from None
    positional = [params.pop(p) for p in ("name", "ubo_id") if p in params]
    if "result" in params:
        positional.append(params.pop("result"))
    return kind.function(db, case_id, *positional, **params, **kind.fixed, actor=actor)


def report_event(db: Database, case_id: str, event: str, *, reporter: str,
                 **params: Any) -> CaseStatus:
    """An event reported with a user's credentials (the API): the user must be allowed to
    bring cases in (checked in the event's own transaction) and is the audited actor. A file
    comes as `filename` + `content`, never as a path on the server."""
    if "path" in params:
        raise InvalidInput("a reported document comes as filename and content, not a path")
    token = _reporter.set(reporter)
    try:
        return apply_event(db, case_id, event, actor=reporter, **params)
    finally:
        _reporter.reset(token)
