"""Import files of the admin page: JSON in the intake format, or CSV for the simple case.

A CSV file holds one case per row. Each row is turned into one case of the intake JSON shape
(docs/INTAKE.md), so both formats are judged by the same checks in `core.intake.checks`: a file with
any problem writes nothing, and every problem is listed — for CSV by line and column.

CSV columns (header row required; only `workflow`, `entity_type` and `name` are required;
an empty cell means "not given"):

| column | intake field |
|---|---|
| `id` | `id` |
| `workflow` | `workflow` |
| `entity_type` | `entity.type` (business or person) |
| `name`, `email`, `phone`, `country`, `registration_number` | `entity.*` |
| `collection_completed` | `collection_completed` (true/false, yes/no, 1/0) |
| `created_at` | `created_at` (ISO-8601) |
| `risk_score` | `risk_score` (whole number 0 to 100) |
| `tags` | `tags`, separated by `;` |
| `user.<field>` | `user_data.<field>` (text) |
| `process.<name>` | a process named `<name>` in state pending, completed or failed |
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from core import config
from core.access.actors import active_user
from core.access.roles import Permission, require
from core.errors import InvalidInput
from core.intake.checks import validate_import
from core.intake.format import REFUSED, parse_import
from core.intake.importer import import_cases
from core.store.db import Database

ENTITY_COLUMNS = {"entity_type": "type", "name": "name", "email": "email", "phone": "phone",
                  "country": "country", "registration_number": "registration_number"}
CASE_COLUMNS = {"id", "workflow", "collection_completed", "created_at", "risk_score", "tags"}
REQUIRED_COLUMNS = ("workflow", "entity_type", "name")
USER_PREFIX = "user."
PROCESS_PREFIX = "process."
TRUE = {"true", "yes", "y", "1"}
FALSE = {"false", "no", "n", "0"}
TAG_SEPARATOR = ";"
_PATH = re.compile(r"^cases\[(\d+)\]\.?(.*?): (.*)$", re.S)


@dataclass
class ImportFile:
    """An uploaded file read into the intake shape: `data` to import when `problems` is empty."""
    kind: str                                  # "json" | "csv"
    data: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)   # CSV: the file line of each case

    @property
    def cases(self) -> list[dict[str, Any]]:
        return list((self.data or {}).get("cases") or []) if isinstance(self.data, dict) else []


def _cell(value: str | None) -> str:
    return (value or "").strip()


def csv_to_intake(content: bytes | str) -> ImportFile:
    """The CSV as an intake document, or the problems that stop it being read at all
    (encoding, header). Row values are checked later, by `core.intake.checks`."""
    if isinstance(content, (bytes, bytearray)):
        if len(content) > config.max_import_bytes():
            return ImportFile("csv", None, [f"the file is {len(content):,} bytes; the limit is "
                                            f"{config.max_import_bytes():,} bytes "
                                            "(DOCKET_MAX_IMPORT_BYTES)"])
        try:
            text = bytes(content).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return ImportFile("csv", None, [f"the file is not UTF-8 text (bad byte at offset "
                                            f"{exc.start})"])
    else:
        text = content
    if "\x00" in text:
        return ImportFile("csv", None, ["the file contains a NUL character; is it really CSV?"])
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return ImportFile("csv", None, [f"line 1: {exc}"])
    if not header or not any(h.strip() for h in header):
        return ImportFile("csv", None, ["the file is empty; the first line must name the columns "
                                        f"({', '.join(REQUIRED_COLUMNS)} at least)"])
    columns = [h.strip() for h in header]
    problems = _header_problems(columns)
    if problems:
        return ImportFile("csv", None, problems)

    cases, lines = [], []
    try:
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue  # blank line
            if len(row) > len(columns):
                problems.append(f"line {line}: {len(row)} cells but the header names "
                                f"{len(columns)} columns")
                continue
            cases.append(_row_case(dict(zip(columns, row))))
            lines.append(line)
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    if problems:
        return ImportFile("csv", None, problems)
    if not cases:
        return ImportFile("csv", None, ["the file has a header but no case rows"])
    return ImportFile("csv", {"cases": cases}, [], lines)


def _header_problems(columns: list[str]) -> list[str]:
    problems = []
    seen = set()
    for c in columns:
        if c in seen:
            problems.append(f"line 1: column {c!r} appears twice")
        seen.add(c)
        known = (c in ENTITY_COLUMNS or c in CASE_COLUMNS
                 or (c.startswith(USER_PREFIX) and len(c) > len(USER_PREFIX))
                 or (c.startswith(PROCESS_PREFIX) and len(c) > len(PROCESS_PREFIX)))
        if not known:
            shown = c if len(c) <= 60 else c[:60] + "…"
            problems.append(f"line 1: unknown column {shown!r} (columns: id, workflow, "
                            f"{', '.join(ENTITY_COLUMNS)}, collection_completed, created_at, "
                            "risk_score, tags, user.<field>, process.<name>)")
    missing = [c for c in REQUIRED_COLUMNS if c not in seen]
    if missing:
        problems.append(f"line 1: missing column(s) {', '.join(missing)}")
    return problems


def _row_case(row: dict[str, str | None]) -> dict[str, Any]:
    case: dict[str, Any] = {}
    entity: dict[str, Any] = {}
    user_data: dict[str, Any] = {}
    processes = []
    for column, raw in row.items():
        value = _cell(raw)
        if not value:
            continue
        if column in ENTITY_COLUMNS:
            entity[ENTITY_COLUMNS[column]] = value
        elif column == "collection_completed":
            lowered = value.lower()
            case[column] = True if lowered in TRUE else False if lowered in FALSE else value
        elif column == "risk_score":
            case[column] = int(value) if re.fullmatch(r"-?\d{1,9}", value) else value
        elif column == "tags":
            case[column] = [t.strip() for t in value.split(TAG_SEPARATOR) if t.strip()]
        elif column.startswith(USER_PREFIX):
            user_data[column[len(USER_PREFIX):]] = value
        elif column.startswith(PROCESS_PREFIX):
            processes.append({"name": column[len(PROCESS_PREFIX):], "state": value.lower()})
        else:
            case[column] = value
    case["entity"] = entity
    if user_data:
        case["user_data"] = user_data
    if processes:
        case["processes"] = processes
    return case


def _csv_column(path: str) -> str:
    """The CSV column an intake field path came from."""
    if path.startswith("entity."):
        key = path.split(".", 1)[1]
        return next((c for c, k in ENTITY_COLUMNS.items() if k == key), key)
    if path == "entity":
        return "entity_type, name"
    if path.startswith("user_data."):
        return USER_PREFIX + path.split(".", 1)[1]
    if path.startswith("processes["):
        return "process.*"
    if path.startswith("tags["):
        return "tags"
    return path


def csv_problem(problem: str, lines: list[int]) -> str:
    """An intake problem (`cases[3].entity.country: ...`) told in CSV terms
    (`line 5, column country: ...`)."""
    m = _PATH.match(problem)
    if not m:
        return problem
    index, path, reason = int(m.group(1)), m.group(2), m.group(3)
    line = lines[index] if index < len(lines) else index + 2
    where = f"line {line}" + (f", column {_csv_column(path)}" if path else "")
    return f"{where}: {reason}"


def read_upload(db: Database, filename: str, content: bytes) -> ImportFile:
    """An uploaded file (JSON or CSV, by its name) checked whole against the database;
    nothing is written. `problems` empty: ready to import."""
    if (filename or "").lower().endswith(".csv"):
        found = csv_to_intake(content)
        if found.problems:
            return found
        found.problems = [csv_problem(p, found.lines) for p in validate_import(found.data, db)]
        return found
    try:
        data = parse_import(content)
    except InvalidInput as exc:
        return ImportFile("json", None, exc.problems or [str(exc)])
    return ImportFile("json", data, validate_import(data, db))


def import_upload(db: Database, upload: ImportFile, *, actor: str,
                  on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Imports a checked upload as `actor` (who must be allowed to import cases); all its
    cases or none. Returns the case ids."""
    with db.read() as s:
        user = active_user(s, actor)
        require(actor, user.role, Permission.IMPORT_CASES)
    if upload.data is None or upload.problems:
        raise InvalidInput(REFUSED, upload.problems or ["the file could not be read"])
    try:
        return import_cases(db, upload.data, actor=actor, on_progress=on_progress)
    except InvalidInput as exc:
        if upload.kind == "csv":
            raise InvalidInput(REFUSED, [csv_problem(p, upload.lines)
                                         for p in exc.problems]) from None
        raise
