"""A frozen copy of the CSV export's cells and reads as they were before the export computed
its cells in SQL (core/worklist/export.py, 2026-12-05): the oracle tests/worklist/
test_export_same_bytes.py compares the new export with, byte for byte. Not used by the app;
do not "fix" it — it is the definition of the file the export must keep writing."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy import Text, select, type_coerce

from core.cases.status import CaseStatus
from core.store.db import Database
from core.store.models import Case, Entity
from core.worklist.query import SORT_COLUMNS, CaseFilter, filter_clauses, keyset_after, sort_columns

COLUMNS: tuple[str, ...] = ("case_id", "entity_name", "entity_type", "country", "workflow",
                            "status", "assignee", "created_at", "updated_at", "age_days",
                            "decision", "decided_by", "decided_at", "decision_reason", "email",
                            "registration_number", "tags", "days_in_status", "open_hits",
                            "risk_level", "risk_points")
# What a row is read from, in this order; the sort column's value is selected last (sort_key).
# The tags are read as the database gives them (SQLite: the JSON text) and decoded by `_json`.
SELECTED = (Case.id, Entity.name, Entity.kind, Entity.country, Case.workflow, Case.case_status,
            Case.assignee, Case.created_at, Case.updated_at, Case.decision, Case.decided_by,
            Case.decided_at, Case.decision_reason, Entity.email, Entity.registration_number,
            type_coerce(Case.tags, Text).label("tags"), Case.status_changed_at, Case.open_hits,
            Case.risk_level, Case.risk_points)
TAG_SEPARATOR = "; "
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHUNK_CHARS = 64 * 1024  # yield CSV text in chunks of about this size
DEFAULT_BATCH_SIZE = 2000

Progress = Callable[[int, int], None]  # (rows done, total rows expected)


def neutralise(value: str) -> str:
    """A text cell made safe for spreadsheets: formula-looking text gets a leading `'`."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _cell(value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, int):
        return value
    return neutralise(str(value))


# The export's hot path writes every cell of a million rows. `_cells` turns a batch of rows
# into cells column by column, each column one comprehension doing what `_cell` does for the
# values that column holds (anything unexpected still goes through `_cell`): the same text
# as `_cell` on every value, at a fraction of the function calls. docs/PERFORMANCE.md,
# "Export streamed", has the profile.
assert all(len(p) == 1 for p in FORMULA_PREFIXES)
_FORMULA_FIRST = frozenset(FORMULA_PREFIXES)
_LABELS = {s.value: neutralise(s.label) for s in CaseStatus}
ROWS_PER_WRITE = 32  # rows handed to the csv writer at once (chunks stay near CHUNK_CHARS)


_DECODER = json.JSONDecoder()


def _json(raw):
    """A JSON column's value from its text (SQLite), as the column's type would decode it,
    without json.loads's two whitespace matches per call; a value the driver decoded already
    (PostgreSQL) as it is."""
    if raw.__class__ is not str:
        return raw
    if raw == "[]":
        return []
    try:
        value, end = _DECODER.raw_decode(raw)
        if end == len(raw):
            return value
    except ValueError:
        pass
    return json.loads(raw)  # surrounding whitespace, or its error


def _tags(tags) -> str:
    if not isinstance(tags, list):
        return "" if tags is None else str(tags)
    return TAG_SEPARATOR.join(str(t) for t in tags)


def _cells(rows, now: datetime) -> list[tuple]:
    """The cells of many rows of `SELECTED`, in `COLUMNS` order, neutralised."""
    if not rows:
        return []
    (ids, names, kinds, countries, workflows, statuses, assignees, created, updated, decisions,
     deciders, decided, reasons, emails, registrations, tags, changed, hits, levels,
     points) = \
        list(zip(*rows))[:len(SELECTED)]
    first = _FORMULA_FIRST

    def texts(values) -> list:
        return [("'" + v if v[:1] in first else v) if v.__class__ is str else _cell(v)
                for v in values]

    def times(values) -> list:
        return [v.isoformat(" ", "seconds") if v.__class__ is datetime and v.year >= 1000
                else _cell(v) for v in values]  # isoformat: DATETIME_FORMAT, faster

    def days(values) -> list:
        return ["" if v is None else max(0, (now - v).days) for v in values]

    labels = [_LABELS.get(v) or _cell(CaseStatus(v).label) for v in statuses]
    return list(zip(
        texts(ids), texts(names), texts(kinds), texts(countries), texts(workflows), labels,
        texts(assignees), times(created), times(updated), days(created), texts(decisions),
        texts(deciders), times(decided), texts(reasons), texts(emails), texts(registrations),
        texts([_tags(_json(v)) for v in tags]), days(changed),
        [v if v.__class__ is int else int(v or 0) for v in hits], texts(levels),
        [v if v.__class__ is int else int(v or 0) for v in points]))


def _batches(db: Database, flt: CaseFilter, *, sort: str, descending: bool,
             batch_size: int) -> Iterator[list]:
    order = sort_columns(sort, descending)  # a bad sort is InvalidInput
    key = SORT_COLUMNS[sort]
    clauses, _ = filter_clauses(flt, db.dialect)
    base = (select(*SELECTED, key.label("sort_key")).join(Entity, Entity.id == Case.entity_id)
            .where(*clauses).order_by(*order))
    after = (lambda c, v: c < v) if descending else (lambda c, v: c > v)
    last = None
    while True:
        stmt = base
        if last is not None:
            value, case_id = last
            stmt = stmt.where(after(Case.id, case_id) if key is Case.id else
                              keyset_after(key, value, case_id, descending))
        with db.read() as s:  # Core rows: the ORM's per-row loading is not needed here
            rows = s.connection().execute(stmt.limit(batch_size)).all()
        yield rows
        if len(rows) < batch_size:
            return
        last = (rows[-1].sort_key, rows[-1].id)


def _chunks(batches: Iterator[list], total: int, progress: Progress | None,
            now: datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    done = 0
    if progress:
        progress(0, total)
    for rows in batches:
        cells = _cells(rows, now)
        for start in range(0, len(cells), ROWS_PER_WRITE):
            part = cells[start:start + ROWS_PER_WRITE]
            writer.writerows(part)
            done += len(part)
            if buffer.tell() >= CHUNK_CHARS:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
                if progress:
                    progress(done, total)
    yield buffer.getvalue()
    if progress:
        progress(done, total)


def oracle_export(db: Database, flt: CaseFilter, *, now: datetime, sort: str = "created_at",
                  descending: bool = True, batch_size: int = 2000) -> str:
    """The whole file as the export wrote it on 2026-12-05."""
    batches = _batches(db, flt, sort=sort, descending=descending, batch_size=batch_size)
    return "".join(_chunks(batches, 0, None, now))
