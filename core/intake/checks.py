"""The whole-file check of an import: every problem of the file, before anything is written.

A file is refused whole, so the check walks all of it and lists every problem (case index,
field, reason) rather than stopping at the first. What it returns for a good file, the planned
cases with their files already decoded, is what `importer.py` writes; `validate_import` gives
the problems alone (the admin page previews them, the CSV import translates them).
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import config
from core.errors import InvalidInput
from core.intake import format as file_format
from core.intake.documents import check_upload, upload_limit
from core.intake.format import (
    CASE_FIELDS,
    CASE_ID_PATTERN,
    DATE_PATTERN,
    DOCUMENT_FIELDS,
    DOCUMENT_TYPE_PATTERN,
    ENTITY_FIELDS,
    ENTITY_TYPES,
    FILE_FIELDS,
    FORMAT_VERSION,
    KYC_FIELDS,
    KYC_STATES,
    MAX_DOCUMENT_TYPE_CHARS,
    MAX_DOCUMENTS,
    MAX_NAME_CHARS,
    MAX_PHONE_CHARS,
    MAX_PROCESS_NAME_CHARS,
    MAX_PROCESSES,
    MAX_REGISTRATION_CHARS,
    MAX_STRING_CHARS,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_UBOS,
    PROCESS_FIELDS,
    PROCESS_STATES,
    TOP_LEVEL_FIELDS,
    UBO_FIELDS,
    parse_import,
)
from core.intake.values import ValueChecker, type_name
from core.store.db import Database
from core.store.models import Case, Workflow, utcnow


@dataclass
class PlannedDocument:
    document_type: str
    properties: dict[str, Any]
    filename: str | None = None
    content: bytes | None = None
    content_type: str | None = None


@dataclass
class PlannedUbo:
    values: dict[str, Any]
    documents: list[PlannedDocument] = field(default_factory=list)


@dataclass
class PlannedCase:
    """A checked case, ready to write (file contents decoded)."""
    index: int
    case_id: str | None
    workflow: str
    entity: dict[str, Any]
    values: dict[str, Any]
    processes: list[dict[str, Any]]
    documents: list[PlannedDocument]
    ubos: list[PlannedUbo]
    exists: bool = False  # its id is in the database already (a push retried: skip it)


class _Checker(ValueChecker):
    """Walks the import, collecting every problem as "path: reason"."""

    def __init__(self, known_workflows: set[str] | None, upload_limit: int | None = None):
        super().__init__()
        self.known_workflows = known_workflows
        self.upload_limit = upload_limit  # None: DOCKET_MAX_UPLOAD_BYTES

    def top_level(self, data: Any) -> list[PlannedCase]:
        if not isinstance(data, dict):
            self.problem("top level", f'must be an object with a "cases" list, '
                                      f"got {type_name(data)}")
            return []
        self.obj(data, "top level", TOP_LEVEL_FIELDS)
        if "format_version" in data and (data["format_version"] != FORMAT_VERSION
                                         or isinstance(data["format_version"], bool)):
            self.problem("format_version", f"must be {FORMAT_VERSION}")
        if "description" in data:
            self.text(data["description"], "description", MAX_STRING_CHARS)
        if "cases" not in data:
            self.problem("cases", "is required (a list of cases)")
            return []
        # Read from format.py at each check, so the limit has one place to change (tests lower it).
        cases = self.items(data["cases"], "cases", file_format.MAX_CASES_PER_FILE)
        if cases is None:
            return []
        if not cases:
            self.problem("cases", "is empty; a file must hold at least one case")
            return []
        planned = [self.case(value, i) for i, value in enumerate(cases)]
        self._check_unique_ids(planned)
        return [p for p in planned if p is not None]

    def _check_unique_ids(self, planned: list[PlannedCase | None]) -> None:
        first_index: dict[str, int] = {}
        for p in planned:
            if p is None or p.case_id is None:
                continue
            if p.case_id in first_index:
                self.problem(f"cases[{p.index}].id", f"{p.case_id!r} is also the id of "
                                                     f"cases[{first_index[p.case_id]}]")
            else:
                first_index[p.case_id] = p.index

    def case(self, value: Any, index: int) -> PlannedCase | None:
        path = f"cases[{index}]"
        before = len(self.problems)
        case = self.obj(value, path, CASE_FIELDS)
        if case is None:
            return None
        case_id = None
        if case.get("id") is not None:
            case_id = self.text(case["id"], f"{path}.id", 64, pattern=CASE_ID_PATTERN,
                                expected="must be 1 to 64 letters, digits, '_', '.' or '-'")
        workflow = None
        if "workflow" not in case:
            self.problem(f"{path}.workflow", "is required")
        else:
            workflow = self.text(case["workflow"], f"{path}.workflow", 64, min_chars=1)
            if (workflow is not None and self.known_workflows is not None
                    and workflow not in self.known_workflows):
                self.problem(f"{path}.workflow", f"unknown workflow {workflow!r} (known: "
                                                 f"{', '.join(sorted(self.known_workflows))})")
        entity = self.entity(case.get("entity"), f"{path}.entity") if "entity" in case else None
        if "entity" not in case:
            self.problem(f"{path}.entity", "is required")
        values: dict[str, Any] = {"collection_completed": False, "risk_score": None, "tags": [],
                                  "user_data": {}, "registry_data": {}, "enriched_data": None,
                                  "created_at": None}
        if "collection_completed" in case:
            completed = case["collection_completed"]
            if not isinstance(completed, bool):
                self.problem(f"{path}.collection_completed",
                             f"must be true or false, got {type_name(completed)}")
            values["collection_completed"] = case["collection_completed"] is True
        if case.get("created_at") is not None:
            values["created_at"] = self.timestamp(case["created_at"], f"{path}.created_at")
        if case.get("risk_score") is not None:
            score = case["risk_score"]
            if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
                self.problem(f"{path}.risk_score", "must be a whole number from 0 to 100")
            else:
                values["risk_score"] = score
        if "tags" in case:
            values["tags"] = self.tags(case["tags"], f"{path}.tags") or []
        if "user_data" in case:
            values["user_data"] = self.flat_fields(case["user_data"], f"{path}.user_data") or {}
        for name in ("registry_data", "enriched_data"):
            if case.get(name) is not None:
                values[name] = self.nested_data(case[name], f"{path}.{name}")
        processes = self.processes(case.get("processes", []), f"{path}.processes")
        documents = self.documents(case.get("documents", []), f"{path}.documents")
        ubos = self.ubos(case.get("ubos", []), f"{path}.ubos")
        if len(self.problems) > before:
            return PlannedCase(index, case_id, "", {}, {}, [], [], []) if case_id else None
        return PlannedCase(index, case_id, workflow, entity, values, processes, documents, ubos)

    def timestamp(self, value: Any, path: str) -> datetime | None:
        text = self.text(value, path, 40)
        if text is None:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            self.problem(path, "must be an ISO-8601 date-time, e.g. 2024-05-01T09:30:00Z")
            return None
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        if moment > utcnow() + timedelta(minutes=5):
            self.problem(path, "is in the future")
            return None
        return moment

    def entity(self, value: Any, path: str) -> dict[str, Any] | None:
        entity = self.obj(value, path, ENTITY_FIELDS)
        if entity is None:
            return None
        result: dict[str, Any] = {}
        for required in ("type", "name", "country"):
            if required not in entity:
                self.problem(f"{path}.{required}", "is required")
        if "type" in entity:
            result["kind"] = self.choice(entity["type"], f"{path}.type", ENTITY_TYPES)
        if "name" in entity:
            result["name"] = self.text(entity["name"], f"{path}.name", MAX_NAME_CHARS, min_chars=1)
        if "country" in entity:
            result["country"] = self.country(entity["country"], f"{path}.country")
        result["email"] = self.email(entity.get("email", ""), f"{path}.email")
        result["phone"] = self.text(entity.get("phone", ""), f"{path}.phone", MAX_PHONE_CHARS)
        result["registration_number"] = self.text(entity.get("registration_number", ""),
                                                  f"{path}.registration_number",
                                                  MAX_REGISTRATION_CHARS)
        return result

    def tags(self, value: Any, path: str) -> list[str] | None:
        tags = self.items(value, path, MAX_TAGS)
        if tags is None:
            return None
        checked = [self.text(tag, f"{path}[{i}]", MAX_TAG_CHARS, min_chars=1)
                   for i, tag in enumerate(tags)]
        return checked if None not in checked else None

    def processes(self, value: Any, path: str) -> list[dict[str, Any]]:
        entries = self.items(value, path, MAX_PROCESSES) or []
        result, seen = [], set()
        for i, entry in enumerate(entries):
            where = f"{path}[{i}]"
            process = self.obj(entry, where, PROCESS_FIELDS)
            if process is None:
                continue
            if "name" not in process:
                self.problem(f"{where}.name", "is required")
                continue
            name = self.text(process["name"], f"{where}.name", MAX_PROCESS_NAME_CHARS, min_chars=1)
            state = self.choice(process.get("state", "pending"), f"{where}.state", PROCESS_STATES)
            detail = self.text(process.get("detail", ""), f"{where}.detail", MAX_STRING_CHARS)
            if name is not None and name in seen:
                self.problem(f"{where}.name", f"process {name!r} is listed twice")
            seen.add(name)
            result.append({"name": name, "state": state, "detail": detail})
        return result

    def documents(self, value: Any, path: str) -> list[PlannedDocument]:
        entries = self.items(value, path, MAX_DOCUMENTS) or []
        result = []
        for i, entry in enumerate(entries):
            where = f"{path}[{i}]"
            document = self.obj(entry, where, DOCUMENT_FIELDS)
            if document is None:
                continue
            if "type" not in document:
                self.problem(f"{where}.type", "is required")
                continue
            document_type = self.text(document["type"], f"{where}.type", MAX_DOCUMENT_TYPE_CHARS,
                                      pattern=DOCUMENT_TYPE_PATTERN,
                                      expected="must be a document type like proof_of_address "
                                               "(lower-case letters, digits, '_')")
            properties = self.flat_fields(document.get("properties", {}), f"{where}.properties")
            planned = PlannedDocument(document_type, properties or {})
            if document.get("file") is not None:
                planned.filename, planned.content, planned.content_type = self.file(
                    document["file"], f"{where}.file")
            result.append(planned)
        return result

    def file(self, value: Any, path: str) -> tuple[str | None, bytes | None, str | None]:
        """(file name, bytes, content type) of a checked file; Nones after a problem."""
        nothing = None, None, None
        file = self.obj(value, path, FILE_FIELDS)
        if file is None:
            return nothing
        for required in ("filename", "content_base64"):
            if required not in file:
                self.problem(f"{path}.{required}", "is required")
        if "filename" not in file or "content_base64" not in file:
            return nothing
        encoded = file["content_base64"]
        if not isinstance(encoded, str):
            self.problem(f"{path}.content_base64",
                         f"must be base64 text, got {type_name(encoded)}")
            return nothing
        limit = config.max_upload_bytes() if self.upload_limit is None else self.upload_limit
        compact = "".join(encoded.split())  # line breaks of wrapped base64 are allowed
        if len(compact) > (limit + 2) // 3 * 4:
            self.problem(f"{path}.content_base64", f"the file is larger than the limit of "
                                                   f"{limit:,} bytes (DOCKET_MAX_UPLOAD_BYTES)")
            return nothing
        try:
            content = base64.b64decode(compact, validate=True)
        except (binascii.Error, ValueError):
            self.problem(f"{path}.content_base64", "is not valid base64")
            return nothing
        try:
            filename, content_type = check_upload(file["filename"], content,
                                                  limit=self.upload_limit)
        except InvalidInput as exc:
            self.problem(path, str(exc))
            return nothing
        return filename, content, content_type

    def ubos(self, value: Any, path: str) -> list[PlannedUbo]:
        entries = self.items(value, path, MAX_UBOS) or []
        result = []
        for i, entry in enumerate(entries):
            where = f"{path}[{i}]"
            ubo = self.obj(entry, where, UBO_FIELDS)
            if ubo is None:
                continue
            values: dict[str, Any] = {}
            if "full_name" not in ubo:
                self.problem(f"{where}.full_name", "is required")
            else:
                values["full_name"] = self.text(ubo["full_name"], f"{where}.full_name",
                                                MAX_NAME_CHARS, min_chars=1)
            values["email"] = self.email(ubo.get("email", ""), f"{where}.email")
            values["date_of_birth"] = self.birth_date(ubo.get("date_of_birth", ""),
                                                      f"{where}.date_of_birth")
            values["nationality"] = (self.country(ubo["nationality"], f"{where}.nationality")
                                     if ubo.get("nationality", "") != "" else "")
            share = ubo.get("ownership_percent")
            if share is not None and (isinstance(share, bool) or not isinstance(share, (int, float))
                                      or not 0 <= share <= 100):
                self.problem(f"{where}.ownership_percent", "must be a number from 0 to 100")
            values["ownership_percent"] = share
            values["kyc_state"], values["kyc_result"] = self.kyc(ubo.get("kyc", {}), f"{where}.kyc")
            documents = self.documents(ubo.get("documents", []), f"{where}.documents")
            result.append(PlannedUbo(values, documents))
        return result

    def birth_date(self, value: Any, path: str) -> str | None:
        if value == "":
            return ""
        text = self.text(value, path, 10, pattern=DATE_PATTERN,
                         expected="must be a date written YYYY-MM-DD")
        if text is None:
            return None
        try:
            born = date.fromisoformat(text)
        except ValueError:
            self.problem(path, f"{text} is not a real date")
            return None
        if born > date.today():
            self.problem(path, "is in the future")
            return None
        return text

    def kyc(self, value: Any, path: str) -> tuple[str | None, dict | None]:
        kyc = self.obj(value, path, KYC_FIELDS)
        if kyc is None:
            return None, None
        state = self.choice(kyc.get("state", "not_sent"), f"{path}.state", KYC_STATES)
        result = kyc.get("result")
        if state == "completed" and result is None:
            self.problem(f"{path}.result", 'is required when the state is "completed"')
        elif state in ("not_sent", "sent") and result is not None:
            self.problem(f"{path}.result", f'must be absent while the state is "{state}"')
        elif result is not None:
            result = self.nested_data(result, f"{path}.result")
        return state, result


def _known_workflows(session: Session) -> set[str]:
    return set(session.scalars(select(Workflow.name)))


def existing_case_ids(session: Session, ids: list[str]) -> set[str]:
    """Which of these case ids are already in the database (asked 500 at a time)."""
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(session.scalars(select(Case.id).where(Case.id.in_(chunk))))
    return found


def check_import(data: Any, session: Session | None, *,
                 skip_existing: bool = False) -> tuple[list[str], list[PlannedCase]]:
    """The problems of a parsed import and its planned cases. With `session`, workflows and
    ids are also checked against the database: an id that exists already is a problem, or,
    with `skip_existing`, marks its planned case `exists` (a retried push)."""
    checker = _Checker(_known_workflows(session) if session is not None else None,
                       upload_limit(session) if session is not None else None)
    planned = checker.top_level(data)
    if session is not None:
        given = [p.case_id for p in planned if p.case_id]
        existing = existing_case_ids(session, given)
        reported: set[str] = set()
        for p in planned:
            if p.case_id in existing and skip_existing:
                p.exists = True
            elif p.case_id in existing and p.case_id not in reported:
                reported.add(p.case_id)
                checker.problem(f"cases[{p.index}].id", f"case {p.case_id!r} already exists")
    return checker.problems, planned


def validate_import(data: Any, db: Database | None = None) -> list[str]:
    """Every problem of an import (parsed JSON, or raw bytes/text), each naming the case index
    and the field. With `db`, also checks workflows and ids against the database. [] = good."""
    if not isinstance(data, dict):
        if isinstance(data, (bytes, bytearray, str)):
            try:
                data = parse_import(data)
            except InvalidInput as exc:
                return exc.problems
    if db is None:
        return check_import(data, None)[0]
    with db.read() as session:
        return check_import(data, session)[0]
