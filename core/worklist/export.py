"""CSV export of a case list: every case matching a `CaseFilter`, not just the page on screen,
in the list's own order.

Analysts export case lists to CSV (SPEC: Users, Roles). The export reads the database in
keyset-paged batches — each batch one short read transaction continuing after the last row's
(sort value, case id) — so memory stays constant however many cases match; it yields CSV text
in chunks that the server's download route (api/downloads.py, through a single-use link of
core/worklist/export_links.py), a file or stdout consume as they come.

Columns (stable: scripts and spreadsheets depend on them; the first ten are as they were, new
columns are only ever added at the end; docs/EXPORT.md lists them too):

| column              | content                                                          |
|---------------------|------------------------------------------------------------------|
| case_id             | the case id                                                      |
| entity_name         | the applicant's name (business or person)                        |
| entity_type         | `business` (KYB) or `person` (KYC)                               |
| country             | ISO 3166 alpha-2 country code of the entity (may be empty)       |
| workflow            | workflow name, e.g. `onboarding`                                 |
| status              | case status label as the app shows it, e.g. `Manual review`      |
| assignee            | username of the assignee, empty when unassigned                  |
| created_at          | creation time, UTC, `YYYY-MM-DD HH:MM:SS`                        |
| updated_at          | last change, UTC, `YYYY-MM-DD HH:MM:SS`                          |
| age_days            | whole days from created_at to the start of the export            |
| decision            | `approved` or `rejected`; empty while the case is open           |
| decided_by          | username of who decided; empty while open                        |
| decided_at          | when it was decided, UTC, `YYYY-MM-DD HH:MM:SS`; empty while open |
| decision_reason     | the reason given with the decision (may be empty)                |
| email               | the applicant's email address (may be empty)                     |
| registration_number | the company's registration number (may be empty)                 |
| tags                | the case's tags, separated by `; `                               |
| days_in_status      | whole days the case has been in its current status               |
| open_hits           | screening hits needing work (not dispositioned, needing          |
|                     | information, or a true match awaiting a lead's sign-off)         |
| risk_level          | `low`, `medium` or `high` (docs/RISK.md); empty: not scored yet  |
| risk_points         | the risk score's points                                          |

Rows follow the case list's sort: `sort` is a key of `core.worklist.query.SORT_COLUMNS`
(created_at, updated_at, id, status, name, due_at, risk) and `descending` its order, with the case id as
tie-breaker, exactly as `list_cases` orders them; the default is newest first (created_at,
then case_id, descending). The file is UTF-8, comma separated, RFC 4180 quoting, CRLF line
ends, one header row.

Formula injection (OWASP "CSV Injection"): a text cell starting with `=`, `+`, `-`, `@`, a
tab, a carriage return or a line feed is prefixed with a single quote `'`, so a spreadsheet
shows it as text instead of evaluating it. Case data comes from applicants; it is untrusted.
Every text column goes through it, the ones added later included.

Who may export: `Permission.EXPORT` (analyst, reviewer, admin), checked here, in `core/`,
for an active (existing, not disabled) user — before any row is read.
"""
from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import datetime
from typing import BinaryIO, Callable, Iterator, TextIO

from sqlalchemy import Text, select, type_coerce

from core.access.actors import active_user
from core.access.roles import Permission, require
from core.cases.status import CaseStatus
from core.store.db import Database
from core.store.models import Case, Entity, utcnow
from core.worklist.query import (
    SORT_COLUMNS,
    CaseFilter,
    CaseRow,
    count_cases,
    filter_clauses,
    keyset_after,
    sort_columns,
)

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


def csv_row(row, now: datetime) -> list[str | int]:
    """The cells of one case (a row of `SELECTED`, or a `CaseRow` for the first ten
    columns), in `COLUMNS` order, neutralised."""
    if isinstance(row, CaseRow):
        return [_cell(v) for v in (row.id, row.entity_name, row.entity_type, row.country,
                                   row.workflow, row.status_label, row.assignee, row.created_at,
                                   row.updated_at, row.age_days(now))]
    return list(_cells([row], now)[0])


def check_export_allowed(db: Database, actor: str) -> None:
    """Raises `NotAllowed` unless `actor` is an active user whose role may export."""
    with db.read() as s:
        user = active_user(s, actor)
        require(user.username, user.role, Permission.EXPORT)


def iter_export_rows(db: Database, flt: CaseFilter, *, sort: str = "created_at",
                     descending: bool = True, batch_size: int = DEFAULT_BATCH_SIZE) -> Iterator:
    """Every matching case as a row of `SELECTED` (+ its sort value), in the list's order
    (`sort_columns`: the sort column, then the case id), in keyset-paged batches: each batch
    continues after the previous batch's last (sort value, id), so memory stays constant."""
    for rows in _batches(db, flt, sort=sort, descending=descending, batch_size=batch_size):
        yield from rows


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


def export_cases(db: Database, flt: CaseFilter, *, actor: str,
                 progress: Progress | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 now: datetime | None = None, sort: str = "created_at",
                 descending: bool = True) -> Iterator[str]:
    """CSV text chunks of every case matching `flt` (header first), for `actor`, in the
    list's order (`sort`, `descending`: as `list_cases` takes them; default newest first).

    The role check and the filter's and sort's validation run now, at the call, so a refusal
    is raised before anything is written. Rows are then read lazily as the chunks are
    consumed. `progress(done, total)` is called with (0, total) first, then after each chunk,
    and once more at the end; `total` is `count_cases` at the start (rows changing during the
    export may make the final `done` differ from it).
    """
    check_export_allowed(db, actor)
    sort_columns(sort, descending)  # InvalidInput for a sort the list does not have
    total = count_cases(db, flt)  # also validates the filter (InvalidInput) before streaming
    batches = _batches(db, flt, sort=sort, descending=descending, batch_size=batch_size)
    return _chunks(batches, total, progress, now or utcnow())


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


def write_csv(db: Database, flt: CaseFilter, out: TextIO, *, actor: str,
              progress: Progress | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
              sort: str = "created_at", descending: bool = True) -> int:
    """Writes the export to an open text file (opened with newline=""); returns the rows."""
    rows = [0]

    def counting(done: int, total: int) -> None:
        rows[0] = done
        if progress:
            progress(done, total)

    for chunk in export_cases(db, flt, actor=actor, progress=counting, batch_size=batch_size,
                              sort=sort, descending=descending):
        out.write(chunk)
    return rows[0]


def export_file(db: Database, flt: CaseFilter, *, actor: str,
                progress: Progress | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                sort: str = "created_at", descending: bool = True) -> BinaryIO:
    """The export as a UTF-8 binary file, rewound: in memory up to 8 MB, then on disk. (The
    Cases page streams instead: core/worklist/export_links.py.)"""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")
    try:
        for chunk in export_cases(db, flt, actor=actor, progress=progress,
                                  batch_size=batch_size, sort=sort, descending=descending):
            out.write(chunk.encode("utf-8"))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def export_filename(now: datetime | None = None) -> str:
    """A download name such as `docket-cases-20250131-142501.csv`."""
    return f"docket-cases-{(now or utcnow()).strftime('%Y%m%d-%H%M%S')}.csv"
