"""CSV export of a case list: every case matching a `CaseFilter`, not just the page on screen,
in the list's own order.

Analysts export case lists to CSV (SPEC: Users, Roles). The export reads the database in
batches, so memory stays constant however many cases match: on PostgreSQL one query in one
snapshot through a server-side cursor (the file is the list at one moment), the next batch
read in a thread while this one's lines are made (core/worklist/export_read_ahead.py); on
SQLite keyset-paged batches, each one short read transaction continuing after the last row's
(sort value, case id), all on one pooled connection held for the export. It yields CSV text
in chunks that the server's download route (api/downloads.py, through a single-use link of
core/worklist/export_links.py), a file or stdout consume as they come. Each batch is read
through the DB-API cursor as plain tuples and made into CSV lines column by column
(core/worklist/export_cells.py: the cells below, the formula rule and the quoting).

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
import tempfile
from datetime import datetime
from typing import BinaryIO, Callable, Iterator, TextIO

from sqlalchemy import Select, String, select, type_coerce

from core.access.actors import active_user
from core.access.roles import Permission, require
from core.store.db import Database
from core.store.models import Case, Entity, utcnow
from core.worklist.export_cells import (  # noqa: F401  (neutralise: the formula rule)
    ID_AT,
    KEY_AT,
    SORT_IN_ROW,
    Times,
    lines,
    neutralise,
    read_columns,
)
from core.worklist.export_read_ahead import read_ahead
from core.worklist.query import (
    SORT_COLUMNS,
    CaseFilter,
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
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CHUNK_CHARS = 64 * 1024  # yield CSV text in chunks of about this size
DEFAULT_BATCH_SIZE = 2000

Progress = Callable[[int, int], None]  # (rows done, total rows expected)


def header_line() -> str:
    out = io.StringIO()
    csv.writer(out).writerow(COLUMNS)
    return out.getvalue()


def check_export_allowed(db: Database, actor: str) -> None:
    """Raises `NotAllowed` unless `actor` is an active user whose role may export."""
    with db.read() as s:
        user = active_user(s, actor)
        require(user.username, user.role, Permission.EXPORT)


def _batches(db: Database, flt: CaseFilter, *, sort: str, descending: bool,
             batch_size: int, now: datetime) -> Iterator[tuple[int, str]]:
    """Each batch's row count and CSV lines (core/worklist/export_cells.py), in the list's
    order. On PostgreSQL the next batch is read, in a thread, while this one's lines are made
    (core/worklist/export_read_ahead.py): the client's work and the server's overlap."""
    rows_read = export_rows(db, flt, sort=sort, descending=descending, batch_size=batch_size)
    # How a date's text that is not the usual form is read: SQLite's as the column type
    # reads it; PostgreSQL's is to_char's (export_cells.read_columns).
    times = Times(now, _processor(Case.created_at, db.read_engine.dialect) if db.is_sqlite
                  else datetime.fromisoformat)
    for rows in (rows_read if db.is_sqlite else read_ahead(rows_read)):
        yield len(rows), lines(rows, times)


def export_rows(db: Database, flt: CaseFilter, *, sort: str, descending: bool,
          batch_size: int) -> Iterator[list[tuple]]:
    """Every matching case's row (`export_query`), in the list's order (`sort_columns`: the
    sort column, then the case id), in batches so memory stays constant however many cases
    match. PostgreSQL: one query through a server-side cursor (`_rows_in_one_snapshot`).
    SQLite: keyset-paged batches, each one short read transaction continuing after the
    previous batch's last (sort value, id) — SQLite's readers hold no snapshot that others
    wait on, but a long read transaction keeps the WAL from being checkpointed.

    One pooled connection serves every batch of the export: checking a connection out of the
    pool and back per batch (the ping, the reset, a statement prepared anew on another
    connection) doubled PostgreSQL's CPU for an export of 200,000 cases when it read keyset
    batches too (docs/PERFORMANCE.md, "Export streamed")."""
    base = export_query(flt, db.dialect, sort=sort, descending=descending)
    if not db.is_sqlite:
        yield from _rows_in_one_snapshot(db, base, batch_size)
        return
    key = SORT_COLUMNS[sort]
    key_at = SORT_IN_ROW.get(sort, KEY_AT)
    after = (lambda c, v: c < v) if descending else (lambda c, v: c > v)
    last = None
    with db.read_engine.connect() as conn:
        while True:
            stmt = base
            if last is not None:
                value, case_id = last
                stmt = stmt.where(after(Case.id, case_id) if key is Case.id else
                                  keyset_after(key, value, case_id, descending))
            with conn.begin():
                # SQLAlchemy builds, binds and executes the statement (filters, sort,
                # keyset); its rows are then read from the DB-API cursor as plain tuples, for
                # speed: no Row objects, no per-value result processing (SQLite's dates would
                # be parsed into datetimes only to be written as text again); export_cells
                # takes the driver's values (docs/PERFORMANCE.md, "Export streamed").
                result = conn.execute(stmt.limit(batch_size))
                try:
                    rows = result.cursor.fetchall()
                finally:
                    result.close()
            if len(rows) == batch_size:
                # the sort value as stored: a date's text compares as ORDER BY sorted it,
                # whatever form a writer outside SQLAlchemy gave it (bound as SQLAlchemy
                # writes dates, "2025-02-21 09:30:00" would sort before its own value and
                # the export would read the same batch forever)
                last = (rows[-1][key_at], rows[-1][ID_AT])
            yield rows
            if len(rows) < batch_size:
                return


# PostgreSQL: how long a download whose reader stopped reading may keep its transaction open
IDLE_TIMEOUT = "10min"


def _rows_in_one_snapshot(db: Database, query: Select, batch_size: int
                          ) -> Iterator[list[tuple]]:
    """PostgreSQL: every row of `query` through one server-side cursor, `batch_size` a fetch,
    in one read transaction (REPEATABLE READ: the file is the list at one moment).

    Why not keyset batches here: at 1M cases each batch walks the sort's index and fetches
    its rows from all over the table (3.6x the CPU of `COPY` of the same rows); one query
    planned for all its rows (`cursor_tuple_fraction` 1) reads the table once and sorts, as
    COPY does (docs/PERFORMANCE.md, "Export streamed"). The price is a transaction open for
    the download's length: a reader that stops reading ends it after IDLE_TIMEOUT."""
    with db.read_engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET LOCAL cursor_tuple_fraction = 1")
            conn.exec_driver_sql(
                f"SET LOCAL idle_in_transaction_session_timeout = '{IDLE_TIMEOUT}'")
            result = conn.execution_options(stream_results=True,
                                            max_row_buffer=batch_size).execute(query)
            try:
                # The first batch through SQLAlchemy, which took the cursor's first row into
                # its buffer when it ran the query (and hands it back with the rest); then
                # the driver's tuples, as on SQLite (no Row objects: 3 µs a row). These
                # columns have no result processing on PostgreSQL (the driver's values).
                cursor = result.cursor
                rows = [tuple(r) for r in result.fetchmany(batch_size)]
                if rows:
                    yield rows
                if len(rows) < batch_size:  # all read (SQLAlchemy has closed the cursor)
                    return
                while rows := cursor.fetchmany(batch_size):
                    yield rows
            finally:
                result.close()


def export_query(flt: CaseFilter, dialect: str, *, sort: str, descending: bool) -> Select:
    """The export's rows, all of them, in order: the columns `export_cells.read_columns`,
    then the sort value as stored unless it is one of them (`SORT_IN_ROW`, SQLite)."""
    order = sort_columns(sort, descending)  # a bad sort is InvalidInput
    clauses, _ = filter_clauses(flt, dialect)
    # The sort value as the driver gives it (no conversion on every row); only the last row's
    # is converted, to continue after it.
    key = (() if dialect == "sqlite" and sort in SORT_IN_ROW
           else (type_coerce(SORT_COLUMNS[sort], String),))
    return (select(*read_columns(dialect), *key)
            .join(Entity, Entity.id == Case.entity_id).where(*clauses).order_by(*order))


def _processor(column, dialect):
    """The column type's reading of a stored value (SQLite: the text of a date made a
    datetime), the identity when the driver converts already."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, None)
    return process or (lambda v: v)


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
    batches = _batches(db, flt, sort=sort, descending=descending, batch_size=batch_size,
                       now=now or utcnow())
    return _chunks(batches, total, progress)


def _chunks(batches: Iterator[tuple[int, str]], total: int,
            progress: Progress | None) -> Iterator[str]:
    """The file as text chunks of CHUNK_CHARS (the last shorter): the header, then each
    batch's lines (a batch: its row count and its text)."""
    pending = header_line()
    done = 0
    if progress:
        progress(0, total)
    for rows, text in batches:
        pending += text
        done += rows
        if len(pending) >= CHUNK_CHARS:
            end = len(pending) - len(pending) % CHUNK_CHARS
            for start in range(0, end, CHUNK_CHARS):
                yield pending[start:start + CHUNK_CHARS]
            pending = pending[end:]
        if progress:
            progress(done, total)
    yield pending
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
