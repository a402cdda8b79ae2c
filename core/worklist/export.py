"""CSV export of a case list: every case matching a `CaseFilter`, not just the page on screen,
in the list's own order.

Analysts export case lists to CSV (SPEC: Users, Roles). The export reads the database in
keyset-paged batches — each batch one short read transaction continuing after the last row's
(sort value, case id) — so memory stays constant however many cases match; it yields CSV text
in chunks that a download button, a file or stdout can consume as they come.

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

Rows follow the case list's sort: `sort` is a key of `core.worklist.query.SORT_COLUMNS`
(created_at, updated_at, id, status, name) and `descending` its order, with the case id as
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
import tempfile
from datetime import datetime
from typing import BinaryIO, Callable, Iterator, TextIO

from sqlalchemy import select

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
                            "registration_number", "tags", "days_in_status")
# What a row is read from, in this order; the sort column's value is selected last (sort_key)
SELECTED = (Case.id, Entity.name, Entity.kind, Entity.country, Case.workflow, Case.case_status,
            Case.assignee, Case.created_at, Case.updated_at, Case.decision, Case.decided_by,
            Case.decided_at, Case.decision_reason, Entity.email, Entity.registration_number,
            Case.tags, Case.status_changed_at)
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


def _days(since: datetime | None, now: datetime) -> int | None:
    return None if since is None else max(0, (now - since).days)


def _tags(tags) -> str:
    if not isinstance(tags, list):
        return "" if tags is None else str(tags)
    return TAG_SEPARATOR.join(str(t) for t in tags)


def csv_row(row, now: datetime) -> list[str | int]:
    """The cells of one case (a row of `SELECTED`, or a `CaseRow` for the first ten
    columns), in `COLUMNS` order, neutralised."""
    if isinstance(row, CaseRow):
        return [_cell(v) for v in (row.id, row.entity_name, row.entity_type, row.country,
                                   row.workflow, row.status_label, row.assignee, row.created_at,
                                   row.updated_at, row.age_days(now))]
    (case_id, name, kind, country, workflow, status, assignee, created_at, updated_at,
     decision, decided_by, decided_at, reason, email, registration_number, tags,
     status_changed_at) = row[:len(SELECTED)]
    return [_cell(v) for v in (
        case_id, name, kind, country, workflow, CaseStatus(status).label, assignee, created_at,
        updated_at, _days(created_at, now), decision, decided_by, decided_at, reason, email,
        registration_number, _tags(tags), _days(status_changed_at, now))]


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
                              keyset_after(key, value, case_id, descending))  # NULL due times
        with db.read() as s:
            rows = s.execute(stmt.limit(batch_size)).all()
        yield from rows
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
    rows = iter_export_rows(db, flt, sort=sort, descending=descending, batch_size=batch_size)
    return _chunks(rows, total, progress, now or utcnow())


def _chunks(rows: Iterator, total: int, progress: Progress | None,
            now: datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    done = 0
    if progress:
        progress(0, total)
    for row in rows:
        writer.writerow(csv_row(row, now))
        done += 1
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
    """The export as a UTF-8 binary file, rewound: in memory up to 8 MB, then on disk.

    For `st.download_button(data=lambda: export_file(...))`, which reads it when clicked."""
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
