"""CSV export of a case list: every case matching a `CaseFilter`, not just the page on screen.

Analysts export case lists to CSV (SPEC: Users, Roles). The export streams rows from the
database with `core.worklist.query.iter_cases` (keyset-paged batches), so memory stays constant
however many cases match; it yields CSV text in chunks that a download button, a file or
stdout can consume as they come.

Columns (stable: scripts and spreadsheets depend on them; change only with a version note):

| column      | content                                                           |
|-------------|-------------------------------------------------------------------|
| case_id     | the case id                                                       |
| entity_name | the applicant's name (business or person)                         |
| entity_type | `business` (KYB) or `person` (KYC)                                |
| country     | ISO 3166 alpha-2 country code of the entity (may be empty)        |
| workflow    | workflow name, e.g. `onboarding`                                  |
| status      | case status label as the app shows it, e.g. `Manual review`       |
| assignee    | username of the assignee, empty when unassigned                   |
| created_at  | creation time, UTC, `YYYY-MM-DD HH:MM:SS`                         |
| updated_at  | last change, UTC, `YYYY-MM-DD HH:MM:SS`                           |
| age_days    | whole days from created_at to the start of the export             |

Rows come newest first (created_at, then case_id, descending). The file is UTF-8, comma
separated, RFC 4180 quoting, CRLF line ends, one header row.

Formula injection (OWASP "CSV Injection"): a text cell starting with `=`, `+`, `-`, `@`, a
tab, a carriage return or a line feed is prefixed with a single quote `'`, so a spreadsheet
shows it as text instead of evaluating it. Case data comes from applicants; it is untrusted.

Who may export: `Permission.EXPORT` (analyst, reviewer, admin), checked here, in `core/`,
for an active (existing, not disabled) user — before any row is read.
"""
from __future__ import annotations

import csv
import io
import tempfile
from datetime import datetime
from typing import BinaryIO, Callable, Iterator, TextIO

from core.access.actors import active_user
from core.access.roles import Permission, require
from core.store.db import Database
from core.store.models import utcnow
from core.worklist.query import CaseFilter, CaseRow, count_cases, iter_cases

COLUMNS: tuple[str, ...] = ("case_id", "entity_name", "entity_type", "country", "workflow",
                            "status", "assignee", "created_at", "updated_at", "age_days")
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


def csv_row(row: CaseRow, now: datetime) -> list[str | int]:
    """The cells of one case, in `COLUMNS` order, neutralised."""
    return [_cell(v) for v in (row.id, row.entity_name, row.entity_type, row.country,
                               row.workflow, row.status_label, row.assignee, row.created_at,
                               row.updated_at, row.age_days(now))]


def check_export_allowed(db: Database, actor: str) -> None:
    """Raises `NotAllowed` unless `actor` is an active user whose role may export."""
    with db.read() as s:
        user = active_user(s, actor)
        require(user.username, user.role, Permission.EXPORT)


def export_cases(db: Database, flt: CaseFilter, *, actor: str,
                 progress: Progress | None = None, batch_size: int = DEFAULT_BATCH_SIZE,
                 now: datetime | None = None) -> Iterator[str]:
    """CSV text chunks of every case matching `flt` (header first), for `actor`.

    The role check and the filter's validation run now, at the call, so a refusal is raised
    before anything is written. Rows are then read lazily as the chunks are consumed.
    `progress(done, total)` is called with (0, total) first, then after each chunk, and once
    more at the end; `total` is `count_cases` at the start (rows changing during the export
    may make the final `done` differ from it).
    """
    check_export_allowed(db, actor)
    total = count_cases(db, flt)  # also validates the filter (InvalidInput) before streaming
    return _chunks(db, flt, total, progress, batch_size, now or utcnow())


def _chunks(db: Database, flt: CaseFilter, total: int, progress: Progress | None,
            batch_size: int, now: datetime) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    done = 0
    if progress:
        progress(0, total)
    for row in iter_cases(db, flt, batch_size=batch_size):
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
              progress: Progress | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Writes the export to an open text file (opened with newline=""); returns the rows."""
    rows = [0]

    def counting(done: int, total: int) -> None:
        rows[0] = done
        if progress:
            progress(done, total)

    for chunk in export_cases(db, flt, actor=actor, progress=counting, batch_size=batch_size):
        out.write(chunk)
    return rows[0]


def export_file(db: Database, flt: CaseFilter, *, actor: str,
                progress: Progress | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE) -> BinaryIO:
    """The export as a UTF-8 binary file, rewound: in memory up to 8 MB, then on disk.

    For `st.download_button(data=lambda: export_file(...))`, which reads it when clicked."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+b")
    try:
        for chunk in export_cases(db, flt, actor=actor, progress=progress,
                                  batch_size=batch_size):
            out.write(chunk.encode("utf-8"))
    except BaseException:
        out.close()
        raise
    out.seek(0)
    return out


def export_filename(now: datetime | None = None) -> str:
    """A download name such as `docket-cases-20250131-142501.csv`."""
    return f"docket-cases-{(now or utcnow()).strftime('%Y%m%d-%H%M%S')}.csv"
