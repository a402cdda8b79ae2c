"""Bulk loading: demo rows into SQLite (`executemany`) or PostgreSQL (`COPY ... FROM STDIN`)
in one transaction, and the batches of rows to load.

Why it exists: a million cases must load in well under two minutes. A *bulk* load (from
`BULK_MIN_CASES` new cases, and at least as many as exist) drops the secondary indexes,
foreign keys (checks) and SQLite's FTS triggers, then rebuilds them from the catalog's own
definitions (the full-text index with one 'rebuild'; PostgreSQL's generated search column
needs nothing); the `case_counts` and `case_tags` triggers are dropped (SQLite) or disabled
(PostgreSQL) too and the tables rebuilt with one INSERT ... SELECT each. From
`PARALLEL_MIN_CASES` cases a child Python process (`child_main`) builds the next batch of rows
while this one inserts the current one.
"""
from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from core.demo.files import DemoFile
from core.demo.rows import COLUMNS, ID_TABLES, _RowFactory
from core.store.case_counts import CASE_COUNTS_RECOUNT
from core.store.db import Database
from core.store.due_counts import due_recount_sql
from core.store.models import utcnow

PROJECT_ROOT = Path(__file__).resolve().parents[2]
log = logging.getLogger(__name__)

BATCH_CASES = 25_000
BULK_MIN_CASES = 5_000  # from this size (and >= existing entities) a load rebuilds indexes
PARALLEL_MIN_CASES = 100_000  # from this size a child process builds the rows

# The FTS5 triggers that keep `entity_search` in step with `entities` (migrations 0001 and
# 0005) and `case_entity_search` with the cases and their entities (0023). A big load drops
# them, fills each index in one 'rebuild' (which reads the rows and their CJK terms through
# the table's content view), and recreates them from their own `sqlite_master` text, so
# nothing is copied here. (PostgreSQL's `cases.search_vector` is set by a row trigger.)
SQLITE_FTS_TRIGGER_NAMES = ("entities_ai", "entities_ad", "entities_au", "case_entity_search_ai",
                            "case_entity_search_ad", "case_entity_search_au",
                            "case_entity_search_entities_ai", "case_entity_search_entities_ad",
                            "case_entity_search_entities_au")
SQLITE_FTS_TABLES = ("entity_search", "case_entity_search")

# The `case_counts` triggers of migrations 0003 and 0007 and the `case_tags` triggers of 0011
# (names start with these). A big load drops (SQLite) / disables (PostgreSQL) them and
# rebuilds the tables in one statement each at the end; SQLite recreates them from their own
# `sqlite_master` text, so nothing is copied here. (The rows carry the entity columns of
# migration 0011 themselves, so its `case_entity_` triggers have nothing to do.)
BULK_TRIGGER_PREFIXES = ("case_counts_", "case_tags_")

# `cases.tags` as rows with the case's list columns (migrations 0011, 0027), as its triggers
# would write them
_TAG_DIMS = "workflow, entity_country, entity_kind, case_status, assignee, created_at"
_TAG_CASE_DIMS = ", ".join("c." + d for d in _TAG_DIMS.split(", "))
CASE_TAGS_REBUILD = {
    "sqlite": (f"INSERT OR IGNORE INTO case_tags (tag, case_id, {_TAG_DIMS}) SELECT j.value, "
               f"c.id, {_TAG_CASE_DIMS} FROM cases c, json_each(c.tags) j "
               "WHERE length(j.value) BETWEEN 1 AND 50 ORDER BY 1, 2"),
    "postgresql": (f"INSERT INTO case_tags (tag, case_id, {_TAG_DIMS}) SELECT DISTINCT t, c.id, "
                   f"{_TAG_CASE_DIMS} FROM cases c, "
                   "json_array_elements_text(CASE WHEN json_typeof(c.tags) = 'array' "
                   "THEN c.tags ELSE '[]'::json END) t WHERE length(t) BETWEEN 1 AND 50"),
}

BULK_TABLES = ("entities", "cases", "ubos", "documents", "document_files", "processes",
               "decisions", "case_tags", "case_keys")


def fold_hour() -> int:
    """The due hour before which the recounted overdue counters are folded into hour 0 (as
    `core.worklist.overdue.compact_due_counts` does; two hours kept for clock skew)."""
    return int((utcnow() - datetime(1970, 1, 1)).total_seconds() // 3600) - 2


class _Writer:
    """One write transaction on the write engine's raw DBAPI connection."""

    def __init__(self, db: Database, n_new: int):
        self.db = db
        self.raw = db.write_engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.cur = self.conn.cursor()

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        self.cur.execute(sql, params)
        row = self.cur.fetchone()
        return row[0] if row else None

    def close(self) -> None:
        try:
            self.cur.close()
        finally:
            self.raw.close()


class _SqliteWriter(_Writer):
    """`executemany` in one `BEGIN IMMEDIATE` transaction. A *bulk* load (at least as many new
    entities as existing ones) also turns foreign key checks off for the connection, drops the
    secondary indexes and the FTS triggers, and rebuilds them all at the end: sorting once is
    much cheaper than a million B-tree insertions per index."""

    def __init__(self, db: Database, n_new: int):
        super().__init__(db, n_new)
        existing = self.scalar("SELECT count(*) FROM entities")
        self.bulk = n_new >= BULK_MIN_CASES and n_new >= existing
        self.cur.execute("PRAGMA cache_size=-262144")  # 256 MiB for this load
        if self.bulk:
            self.cur.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction
        self.cur.execute("BEGIN IMMEDIATE")
        self.sql = {t: f"INSERT INTO {t} ({', '.join(c)}) VALUES ({', '.join('?' * len(c))})"
                    for t, c in COLUMNS.items()}
        self.indexes: list[tuple[str, str]] = []
        self.bulk_triggers: list[tuple[str, str]] = []
        self.fts_triggers: list[tuple[str, str]] = []

    def lock(self) -> None:
        pass  # BEGIN IMMEDIATE already holds the write lock

    def insert_blobs(self, files: Sequence[DemoFile]) -> None:
        self.cur.executemany(
            "INSERT OR IGNORE INTO file_blobs (sha256, content_type, size, content) "
            "VALUES (?, ?, ?, ?)",
            [(f.sha256, f.content_type, len(f.content), f.content) for f in files])

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.cur.executemany(self.sql[table], rows)

    def begin_load(self) -> None:
        if not self.bulk:
            return  # the triggers and indexes are cheaper than rebuilding big ones
        marks = ", ".join("?" * len(SQLITE_FTS_TRIGGER_NAMES))
        self.cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND "
                         f"name IN ({marks}) ORDER BY name", SQLITE_FTS_TRIGGER_NAMES)
        self.fts_triggers = self.cur.fetchall()
        for name, _ in self.fts_triggers:
            self.cur.execute(f'DROP TRIGGER "{name}"')
        self.cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                         "ORDER BY name")
        self.bulk_triggers = [(name, sql) for name, sql in self.cur.fetchall()
                               if name.startswith(BULK_TRIGGER_PREFIXES)]
        for name, _ in self.bulk_triggers:
            self.cur.execute(f'DROP TRIGGER "{name}"')
        marks = ", ".join("?" * len(BULK_TABLES))
        self.cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                         f"sql IS NOT NULL AND tbl_name IN ({marks})", BULK_TABLES)
        self.indexes = self.cur.fetchall()
        for name, _ in self.indexes:
            self.cur.execute(f'DROP INDEX "{name}"')

    def end_load(self) -> None:
        if not self.bulk:
            return
        for _, sql in self.indexes:  # exactly as the migrations created them
            self.cur.execute(sql)
        for table in SQLITE_FTS_TABLES:
            self.cur.execute(f"INSERT INTO {table}({table}) VALUES('rebuild')")
        for _, sql in self.fts_triggers:  # exactly as the migrations created them
            self.cur.execute(sql)
        self.cur.execute("DELETE FROM case_counts")
        self.cur.execute(CASE_COUNTS_RECOUNT)
        self.cur.execute("DELETE FROM case_due_counts")  # overdue counters (migration 0007)
        self.cur.execute(due_recount_sql("sqlite", fold_hour()))
        self.cur.execute("DELETE FROM case_tags")
        self.cur.execute(CASE_TAGS_REBUILD["sqlite"])
        for _, sql in self.bulk_triggers:  # exactly as the migrations created them
            self.cur.execute(sql)

    def finish(self, ok: bool) -> None:
        try:
            self.cur.execute("COMMIT" if ok else "ROLLBACK")
        finally:
            self.cur.execute("PRAGMA cache_size=-2000")
            self.cur.execute("PRAGMA foreign_keys=ON")
        if ok:
            self.cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class _PostgresWriter(_Writer):
    """`COPY ... FROM STDIN` per table and batch, in one transaction; the sequences are moved
    past the ids used. A *bulk* load also drops the foreign keys and secondary indexes of the
    loaded tables and recreates them from their catalog definitions at the end (one
    validating join and one sort each, instead of a check and an insertion per row); it
    holds an ACCESS EXCLUSIVE lock on those tables meanwhile, so readers wait too."""

    def __init__(self, db: Database, n_new: int):
        super().__init__(db, n_new)
        existing = self.scalar("SELECT count(*) FROM entities")
        self.bulk = n_new >= BULK_MIN_CASES and n_new >= existing
        self.constraints: list[tuple[str, str, str]] = []
        self.indexes: list[tuple[str, str]] = []
        self.bulk_triggers: list[tuple[str, str]] = []

    def lock(self) -> None:
        # Other writers wait while we take ids after the current maxima (readers too in bulk).
        mode = "ACCESS EXCLUSIVE" if self.bulk else "EXCLUSIVE"
        self.cur.execute("LOCK TABLE cases, " + ", ".join(ID_TABLES) + f" IN {mode} MODE")

    def insert_blobs(self, files: Sequence[DemoFile]) -> None:
        self.cur.executemany(
            "INSERT INTO file_blobs (sha256, content_type, size, content) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING",
            [(f.sha256, f.content_type, len(f.content), f.content) for f in files])

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self.cur.copy(f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN") as copy:
            write_row = copy.write_row
            for row in rows:
                write_row(row)

    def begin_load(self) -> None:
        if not self.bulk:
            return
        tables = list(BULK_TABLES)
        self.cur.execute(
            "SELECT c.relname, k.conname, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid WHERE k.contype = 'f' "
            "AND c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s) "
            "ORDER BY c.relname, k.conname", (tables,))
        self.constraints = self.cur.fetchall()
        self.cur.execute(
            "SELECT x.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) "
            "ORDER BY x.relname", (tables,))
        self.indexes = self.cur.fetchall()
        for table, name, _ in self.constraints:
            self.cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            self.cur.execute(f'DROP INDEX "{name}"')
        # COPY fires row triggers: the counters are recounted once at the end instead.
        self.cur.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal "
            "AND t.tgenabled <> 'D' ORDER BY t.tgname")
        self.bulk_triggers = [(table, name) for table, name in self.cur.fetchall()
                               if name.startswith(BULK_TRIGGER_PREFIXES)]
        for table, name in self.bulk_triggers:
            self.cur.execute(f'ALTER TABLE {table} DISABLE TRIGGER "{name}"')

    def end_load(self) -> None:
        if self.bulk:
            self.cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for _, sql in self.indexes:
                self.cur.execute(sql)
            for table, name, definition in self.constraints:
                self.cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            # writers of case_counts (a compaction) wait; readers see the old counts till commit
            self.cur.execute("LOCK TABLE case_counts IN EXCLUSIVE MODE")
            self.cur.execute("DELETE FROM case_counts")
            self.cur.execute(CASE_COUNTS_RECOUNT)
            self.cur.execute("LOCK TABLE case_due_counts IN EXCLUSIVE MODE")
            self.cur.execute("DELETE FROM case_due_counts")  # overdue counters (migration 0007)
            self.cur.execute(due_recount_sql("postgresql", fold_hour()))
            self.cur.execute("DELETE FROM case_tags")
            self.cur.execute(CASE_TAGS_REBUILD["postgresql"])
            for table, name in self.bulk_triggers:
                self.cur.execute(f'ALTER TABLE {table} ENABLE TRIGGER "{name}"')
        for table in ID_TABLES:
            self.cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) "
                f"FROM {table} HAVING max(id) IS NOT NULL")

    def finish(self, ok: bool) -> None:
        if ok:
            self.conn.commit()
        else:
            self.conn.rollback()


def open_writer(db: Database, n_new: int) -> _Writer:
    """The writer for this database (one write transaction, open until `finish` and `close`)."""
    return (_SqliteWriter if db.is_sqlite else _PostgresWriter)(db, n_new)


def row_batches(params: dict[str, Any]) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    """(number of cases, rows per table) per batch of `BATCH_CASES` cases; from
    `PARALLEL_MIN_CASES` cases they are built by a child process."""
    return (_batches_from_child(params) if params["n_cases"] >= PARALLEL_MIN_CASES
            else _batches(params))


def _batches(params: dict[str, Any]) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    factory = _RowFactory(**params)
    n = params["n_cases"]
    for start in range(0, n, BATCH_CASES):
        size = min(BATCH_CASES, n - start)
        yield size, factory.batch(start, size)


def _batches_from_child(params: dict[str, Any]) -> Iterator[tuple[int, dict[str, list[tuple]]]]:
    """The same batches, built by a child Python process while this one inserts the previous
    batch (the two halves of the work then run on two cores)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    errors = tempfile.TemporaryFile()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", "from core.demo.bulk_load import child_main; child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, cwd=str(PROJECT_ROOT),
            env=env)
    except OSError:
        errors.close()
        log.warning("demo data: cannot start a generator process; building rows in-process")
        yield from _batches(params)
        return
    try:
        child.stdin.write(pickle.dumps(params))
        child.stdin.close()
        n = params["n_cases"]
        for start in range(0, n, BATCH_CASES):
            try:
                batch = pickle.load(child.stdout)
            except EOFError:
                child.wait()
                errors.seek(0)
                raise RuntimeError("the demo data generator process failed: "
                                   + errors.read().decode(errors="replace")[-2000:]) from None
            yield min(BATCH_CASES, n - start), batch
        child.wait()
    finally:
        if child.poll() is None:  # the load failed half-way: stop our generator process
            child.kill()
            child.wait()
        child.stdout.close()
        errors.close()


def child_main() -> None:
    """The child process of `_batches_from_child`: params in on stdin, pickled
    batches out on stdout."""
    params = pickle.load(sys.stdin.buffer)
    out = sys.stdout.buffer
    for _, batch in _batches(params):
        pickle.dump(batch, out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
