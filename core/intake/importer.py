"""Intake: how cases enter Docket and how outside steps advance them.

- The JSON import (`import_cases`): the whole file is checked first and every problem is
  listed (case index, field, reason); a file with any problem writes nothing. A good file is
  written in one unit of work, each case with its audit event and its derived status.
- Events (`EVENTS`, `apply_event`): the collection flow finished, a process started or ended,
  a UBO's KYC flow was sent or came back, a document was (re-)uploaded. Each one locks the
  case, is refused on a final case, bumps the case version, is audited and recomputes the
  status.

The file format is documented in docs/INTAKE.md; examples/cases.json is a complete example.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import config
from core.cases.actions import load_case
from core.cases.state import facts_of, refresh_status, touch
from core.cases.status import FINAL_STATUSES, BlockStatus, CaseStatus, derive_case_status
from core.errors import ActionNotAllowed, InvalidInput, NotFound
from core.intake.documents import add_file_version, check_upload, store_blob, upload_limit
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Document, DocumentFile, Entity, Process, Ubo, Workflow, utcnow

# --- limits of the import format (docs/INTAKE.md lists them) ------------------------------
MAX_CASES_PER_FILE = 10_000
MAX_STRING_CHARS = 10_000          # any string anywhere, except file contents
MAX_KEY_CHARS = 100
MAX_NESTING_DEPTH = 5              # registry_data, enriched_data, KYC results
MAX_DATA_CHARS = 200_000           # one of those objects, as JSON text
MAX_FIELDS = 500                   # keys of user_data / document properties
MAX_TAGS = 50
MAX_TAG_CHARS = 50
MAX_DOCUMENTS = 100                # per case, and per UBO
MAX_UBOS = 50
MAX_PROCESSES = 50
MAX_NAME_CHARS = 300
MAX_EMAIL_CHARS = 254
MAX_PHONE_CHARS = 40
MAX_REGISTRATION_CHARS = 64
MAX_PROCESS_NAME_CHARS = 64
MAX_DOCUMENT_TYPE_CHARS = 64
MAX_ACTOR_CHARS = 64
FORMAT_VERSION = 1

CASE_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DOCUMENT_TYPE_PATTERN = re.compile(r"[a-z0-9_]{1,64}")
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

ENTITY_TYPES = ("business", "person")
PROCESS_STATES = ("pending", "completed", "failed")
KYC_STATES = ("not_sent", "sent", "completed")

TOP_LEVEL_FIELDS = {"format_version", "description", "cases"}
CASE_FIELDS = {"id", "workflow", "entity", "collection_completed", "created_at", "risk_score",
               "tags", "user_data", "registry_data", "enriched_data", "processes", "documents",
               "ubos"}
ENTITY_FIELDS = {"type", "name", "email", "phone", "country", "registration_number"}
PROCESS_FIELDS = {"name", "state", "detail"}
DOCUMENT_FIELDS = {"type", "properties", "file"}
FILE_FIELDS = {"filename", "content_base64"}
UBO_FIELDS = {"full_name", "email", "date_of_birth", "nationality", "ownership_percent", "kyc",
              "documents"}
KYC_FIELDS = {"state", "result"}

REFUSED = "the import file was refused; nothing was imported"


class _RefusedConstant(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _RefusedConstant(f"{name} is not a number JSON allows")


def _unstorable(text: str) -> str | None:
    """Why a string cannot be stored (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid character (a lone UTF-16 surrogate)"
    return None


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)


# --- reading the file ---------------------------------------------------------------------

def parse_import(source: bytes | str | dict) -> Any:
    """The JSON value of an import file; InvalidInput (size, encoding, syntax) otherwise."""
    limit = config.max_import_bytes()
    if isinstance(source, str):
        size = len(source.encode("utf-8", "surrogatepass"))
        text = source
    elif isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
        size = len(raw)
        if size > limit:
            raise InvalidInput(REFUSED, [f"the file is {size:,} bytes; the limit is {limit:,} "
                                         "bytes (DOCKET_MAX_IMPORT_BYTES)"])
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(REFUSED, [f"the file is not UTF-8 text (bad byte at offset "
                                         f"{exc.start})"]) from None
    else:
        return source  # already parsed: the checks report a wrong shape
    if size > limit:
        raise InvalidInput(REFUSED, [f"the file is {size:,} bytes; the limit is {limit:,} bytes "
                                     "(DOCKET_MAX_IMPORT_BYTES)"])
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise InvalidInput(REFUSED, [f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                                     f"{exc.msg}"]) from None
    except _RefusedConstant as exc:
        raise InvalidInput(REFUSED, [f"malformed JSON: {exc}"]) from None
    except RecursionError:
        raise InvalidInput(REFUSED, ["malformed JSON: nested too deeply"]) from None


# --- checking it --------------------------------------------------------------------------

@dataclass
class _PlannedDocument:
    document_type: str
    properties: dict[str, Any]
    filename: str | None = None
    content: bytes | None = None
    content_type: str | None = None


@dataclass
class _PlannedUbo:
    values: dict[str, Any]
    documents: list[_PlannedDocument] = field(default_factory=list)


@dataclass
class _PlannedCase:
    """A checked case, ready to write (file contents decoded)."""
    index: int
    case_id: str | None
    workflow: str
    entity: dict[str, Any]
    values: dict[str, Any]
    processes: list[dict[str, Any]]
    documents: list[_PlannedDocument]
    ubos: list[_PlannedUbo]


class _Checker:
    """Walks the import, collecting every problem as "path: reason"."""

    def __init__(self, known_workflows: set[str] | None, upload_limit: int | None = None):
        self.known_workflows = known_workflows
        self.upload_limit = upload_limit  # None: DOCKET_MAX_UPLOAD_BYTES
        self.problems: list[str] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append(f"{path}: {reason}")

    # generic pieces ---------------------------------------------------------------------
    def obj(self, value: Any, path: str, allowed: set[str] | None = None) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be an object, got {_type_name(value)}")
            return None
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    shown = key if isinstance(key, str) and len(key) <= 60 else "(a long key)"
                    self.problem(f"{path}.{shown}",
                                 f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def items(self, value: Any, path: str, limit: int) -> list | None:
        if not isinstance(value, list):
            self.problem(path, f"must be a list, got {_type_name(value)}")
            return None
        if len(value) > limit:
            self.problem(path, f"has {len(value):,} entries; at most {limit:,}")
            return None
        return value

    def text(self, value: Any, path: str, max_chars: int, *, min_chars: int = 0,
             pattern: re.Pattern | None = None, expected: str = "") -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"must be text, got {_type_name(value)}")
            return None
        if len(value) > max_chars:
            self.problem(path, f"is {len(value):,} characters long; at most {max_chars:,}")
            return None
        if _unstorable(value):
            self.problem(path, _unstorable(value))
            return None
        if len(value.strip()) < min_chars:
            self.problem(path, "must not be empty" if min_chars == 1 else
                         f"must be at least {min_chars} characters")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(path, expected or f"must match {pattern.pattern}")
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            short_text = isinstance(value, str) and len(value) <= 40
            shown = repr(value) if short_text else _type_name(value)
            self.problem(path, f"must be one of {', '.join(choices)}; got {shown}")
            return None
        return value

    def flat_fields(self, value: Any, path: str) -> dict[str, Any] | None:
        """An object of scalars: keys 1..100 characters, text values within the string limit."""
        value = self.obj(value, path)
        if value is None:
            return None
        if len(value) > MAX_FIELDS:
            self.problem(path, f"has {len(value):,} fields; at most {MAX_FIELDS}")
            return None
        ok = True
        for key, item in value.items():
            if (not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_CHARS
                    or _unstorable(key)):
                self.problem(path, f"field names must be 1 to {MAX_KEY_CHARS} characters, "
                                   "without NUL")
                ok = False
                continue
            where = f"{path}.{key}"
            if isinstance(item, float) and not math.isfinite(item):
                self.problem(where, "must be a finite number")
                ok = False
            elif isinstance(item, str):
                ok = self.text(item, where, MAX_STRING_CHARS) is not None and ok
            elif not (item is None or isinstance(item, (bool, int, float))):
                self.problem(where, "must be text, a number, true/false or null (no objects or "
                                    f"lists), got {_type_name(item)}")
                ok = False
        return value if ok else None

    def nested_data(self, value: Any, path: str) -> dict[str, Any] | None:
        """A free-form JSON object (registry data, enrichment, KYC result), bounded."""
        value = self.obj(value, path)
        if value is None:
            return None
        before = len(self.problems)
        self._walk(value, path, 1)
        if len(self.problems) > before:
            return None
        size = len(json.dumps(value, ensure_ascii=False))
        if size > MAX_DATA_CHARS:
            self.problem(path, f"is {size:,} characters as JSON; at most {MAX_DATA_CHARS:,}")
            return None
        return value

    def _walk(self, value: Any, path: str, depth: int) -> None:
        if isinstance(value, (dict, list)) and depth > MAX_NESTING_DEPTH:
            self.problem(path, f"is nested deeper than {MAX_NESTING_DEPTH} levels")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or _unstorable(key):
                    self.problem(path, f"keys must be text of at most {MAX_KEY_CHARS} "
                                       "characters, without NUL")
                    continue
                self._walk(item, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._walk(item, f"{path}[{i}]", depth + 1)
        elif isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                self.problem(path, f"is {len(value):,} characters long; "
                                   f"at most {MAX_STRING_CHARS:,}")
            elif _unstorable(value):
                self.problem(path, _unstorable(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                self.problem(path, "must be a finite number")
        elif not (value is None or isinstance(value, (bool, int))):
            self.problem(path, f"is not a JSON value ({type(value).__name__})")

    def email(self, value: Any, path: str) -> str | None:
        return self.text(value, path, MAX_EMAIL_CHARS, pattern=EMAIL_PATTERN,
                         expected="must be an email address like name@example.com") \
            if value != "" else ""

    def country(self, value: Any, path: str) -> str | None:
        return self.text(value, path, 2, pattern=COUNTRY_PATTERN,
                         expected="must be a 2-letter ISO code in capitals, e.g. GB")

    # the format -------------------------------------------------------------------------
    def top_level(self, data: Any) -> list[_PlannedCase]:
        if not isinstance(data, dict):
            self.problem("top level", f'must be an object with a "cases" list, '
                                      f"got {_type_name(data)}")
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
        cases = self.items(data["cases"], "cases", MAX_CASES_PER_FILE)
        if cases is None:
            return []
        if not cases:
            self.problem("cases", "is empty; a file must hold at least one case")
            return []
        planned = [self.case(value, i) for i, value in enumerate(cases)]
        self._check_unique_ids(planned)
        return [p for p in planned if p is not None]

    def _check_unique_ids(self, planned: list[_PlannedCase | None]) -> None:
        first_index: dict[str, int] = {}
        for p in planned:
            if p is None or p.case_id is None:
                continue
            if p.case_id in first_index:
                self.problem(f"cases[{p.index}].id", f"{p.case_id!r} is also the id of "
                                                     f"cases[{first_index[p.case_id]}]")
            else:
                first_index[p.case_id] = p.index

    def case(self, value: Any, index: int) -> _PlannedCase | None:
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
                             f"must be true or false, got {_type_name(completed)}")
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
            return _PlannedCase(index, case_id, "", {}, {}, [], [], []) if case_id else None
        return _PlannedCase(index, case_id, workflow, entity, values, processes, documents, ubos)

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

    def documents(self, value: Any, path: str) -> list[_PlannedDocument]:
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
            planned = _PlannedDocument(document_type, properties or {})
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
                         f"must be base64 text, got {_type_name(encoded)}")
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

    def ubos(self, value: Any, path: str) -> list[_PlannedUbo]:
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
            result.append(_PlannedUbo(values, documents))
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


def _existing_case_ids(session: Session, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found.update(session.scalars(select(Case.id).where(Case.id.in_(chunk))))
    return found


def _check(data: Any, session: Session | None) -> tuple[list[str], list[_PlannedCase]]:
    checker = _Checker(_known_workflows(session) if session is not None else None,
                       upload_limit(session) if session is not None else None)
    planned = checker.top_level(data)
    if session is not None:
        given = [p.case_id for p in planned if p.case_id]
        existing = _existing_case_ids(session, given)
        reported: set[str] = set()
        for p in planned:
            if p.case_id in existing and p.case_id not in reported:
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
        return _check(data, None)[0]
    with db.read() as session:
        return _check(data, session)[0]


# --- writing it ---------------------------------------------------------------------------

def _new_case_ids(session: Session, count: int, taken: set[str]) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        batch = {f"C-{secrets.token_hex(5).upper()}" for _ in range(count - len(ids))}
        batch -= taken
        batch -= _existing_case_ids(session, sorted(batch))
        ids.extend(sorted(batch))
        taken |= batch
    return ids


def _new_document(session: Session, plan: _PlannedDocument, now: datetime,
                  ubo_id: int | None = None) -> Document:
    """A new document block; its file (already checked) becomes version 1."""
    document = Document(document_type=plan.document_type, properties=plan.properties,
                        ubo_id=ubo_id)
    if plan.content is not None:
        sha256 = store_blob(session, plan.content, plan.content_type)
        document.files = [DocumentFile(version=1, filename=plan.filename, blob_sha256=sha256,
                                       uploaded_at=now, uploaded_by="applicant")]
    return document


def _write_case(session: Session, plan: _PlannedCase, case_id: str, actor: str) -> Case:
    now = utcnow()
    entity = Entity(**plan.entity)
    case = Case(id=case_id, workflow=plan.workflow, entity=entity,
                collection_completed=plan.values["collection_completed"],
                risk_score=plan.values["risk_score"], tags=plan.values["tags"],
                user_data=plan.values["user_data"], registry_data=plan.values["registry_data"],
                enriched_data=plan.values["enriched_data"],
                created_at=plan.values["created_at"] or now, updated_at=now,
                status_changed_at=now, version=1)
    case.processes = [Process(name=p["name"], state=p["state"], detail=p["detail"], updated_at=now)
                      for p in plan.processes]
    case.ubos = [Ubo(**u.values) for u in plan.ubos]
    case.documents = [_new_document(session, d, now) for d in plan.documents]
    # The placeholder status is read off the case in memory; refresh_status below confirms it.
    case.case_status = derive_case_status(facts_of(case)).value
    session.add(case)
    if any(u.documents for u in plan.ubos):
        session.flush()  # the UBOs' ids, for their documents
        for ubo, ubo_plan in zip(case.ubos, plan.ubos):
            case.documents.extend(_new_document(session, d, now, ubo.id)
                                  for d in ubo_plan.documents)
    audit.record(session, case_id=case.id, actor=actor, kind="case.imported",
                 after={"workflow": case.workflow, "entity": entity.name,
                        "status": case.case_status, "documents": len(case.documents),
                        "ubos": len(case.ubos), "processes": len(case.processes)})
    refresh_status(session, case, actor)
    return case


def import_cases(db: Database, source: bytes | str | dict, *, actor: str = "system",
                 on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Imports every case of the file in one unit of work and returns their ids, in file
    order. Any problem raises InvalidInput listing them all, and nothing is written.
    `on_progress(done, total)` is called after each case is written."""
    actor = _clean_actor(actor)
    data = parse_import(source)
    try:
        with db.unit_of_work() as session:
            problems, planned = _check(data, session)
            if problems:
                raise InvalidInput(REFUSED, problems)
            given = {p.case_id for p in planned if p.case_id}
            generated = iter(_new_case_ids(session, sum(p.case_id is None for p in planned),
                                           set(given)))
            ids = []
            for done, plan in enumerate(planned, start=1):
                case = _write_case(session, plan, plan.case_id or next(generated), actor)
                ids.append(case.id)
                if on_progress is not None:
                    on_progress(done, len(planned))
            return ids
    except IntegrityError:
        raise InvalidInput(REFUSED, ["a case id of the file was imported by someone else "
                                     "at the same time; check the ids and try again"]) from None


# --- events from outside ------------------------------------------------------------------

def _clean_actor(actor: Any) -> str:
    if (not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR_CHARS
            or _unstorable(actor)):
        raise InvalidInput(f"the actor must be 1 to {MAX_ACTOR_CHARS} characters")
    return actor


@contextmanager
def _case_event(db: Database, case_id: str, event: str,
                actor: str) -> Iterator[tuple[Session, Case]]:
    """One event on one case: lock it, refuse a final case, bump its version, recompute."""
    actor = _clean_actor(actor)
    with db.unit_of_work() as session:
        case = load_case(session, case_id, for_update=True)
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
            or _unstorable(name)):
        raise InvalidInput(f"a process name must be 1 to {MAX_PROCESS_NAME_CHARS} characters")
    return name


def _detail(detail: Any) -> str:
    if not isinstance(detail, str) or len(detail) > MAX_STRING_CHARS or _unstorable(detail):
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
    checker = _Checker(None)
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
