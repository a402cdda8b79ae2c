"""Upkeep of `case_counts` (migrations 0003 and 0022): folding PostgreSQL's +1/-1 rows back
into one row per key, and the SQL that rebuilds the table from the cases.

The counter triggers on PostgreSQL only append rows, so concurrent writers never wait on a
shared counter row; readers SUM per key either way. From time to time (checked by whoever
reads counts, at most every COMPACT_CHECK_SECONDS per process) the rows are folded back.
SQLite keeps one row per key already and only drops keys that reached 0."""
from __future__ import annotations

import threading
import time

from sqlalchemy import text

from core.store.db import Database

# PostgreSQL's triggers append +1/-1 rows; from time to time they are folded back into one row
# per key. Checked at most every COMPACT_CHECK_SECONDS per process, by whoever reads counts.
COMPACT_CHECK_SECONDS = 30.0
COMPACT_MIN_EXTRA_ROWS = 1000
compact_checked_at: dict[str, float] = {}  # database URL -> when last checked (monotonic)
_compact_lock = threading.Lock()
KEY_COLUMNS = "workflow, case_status, country, kind, assigned, has_open_hits"

# The whole table from the cases, as the triggers would count them (a LEFT JOIN: a case whose
# entity is missing counts under country '' and kind ''); the demo bulk loader and repairs run
# it after emptying the table, migration 0022 keeps its own frozen copy.
CASE_COUNTS_RECOUNT = (
    f"INSERT INTO case_counts ({KEY_COLUMNS}, n) "
    "SELECT c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
    "c.assignee IS NOT NULL, c.open_hits > 0, count(*) FROM cases c "
    "LEFT JOIN entities e ON e.id = c.entity_id "
    "GROUP BY c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
    "c.assignee IS NOT NULL, c.open_hits > 0")


def maybe_compact_case_counts(db: Database) -> None:
    if db.is_sqlite:
        return  # one row per key already
    now = time.monotonic()
    with _compact_lock:
        if now - compact_checked_at.get(db.url, float("-inf")) < COMPACT_CHECK_SECONDS:
            return
        compact_checked_at[db.url] = now
    with db.read() as s:
        extra = s.scalar(text(f"SELECT count(*) - count(DISTINCT ({KEY_COLUMNS})) "
                              "FROM case_counts"))
    if (extra or 0) >= COMPACT_MIN_EXTRA_ROWS:
        compact_case_counts(db)


def compact_case_counts(db: Database) -> int:
    """Folds `case_counts` into one row per key, dropping keys that sum to 0; returns the
    number of rows removed. PostgreSQL: one statement deletes the rows it sees and inserts
    their sums, so rows appended meanwhile by other transactions are left for next time and
    no count changes; an advisory lock keeps two compactions from running at once."""
    with db.unit_of_work() as s:
        if db.is_sqlite:
            return s.execute(text("DELETE FROM case_counts WHERE n = 0")).rowcount or 0
        if not s.scalar(text("SELECT pg_try_advisory_xact_lock("
                             "hashtext('docket.case_counts.' || current_schema()))")):
            return 0
        before = s.scalar(text("SELECT count(*) FROM case_counts")) or 0
        s.execute(text(
            f"WITH folded AS (DELETE FROM case_counts RETURNING {KEY_COLUMNS}, n) "
            f"INSERT INTO case_counts ({KEY_COLUMNS}, n) SELECT {KEY_COLUMNS}, sum(n) "
            f"FROM folded GROUP BY {KEY_COLUMNS} HAVING sum(n) <> 0"))
        after = s.scalar(text("SELECT count(*) FROM case_counts")) or 0
        return before - after
