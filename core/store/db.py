"""Engines, sessions and the unit of work; schema upgrades through Alembic.

SQLite (the embedded default) runs in WAL mode, and every write transaction starts with
`BEGIN IMMEDIATE`, so two writers queue instead of failing half-way. PostgreSQL write
transactions lock the case row (`SELECT ... FOR UPDATE`) in the service layer.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from core import config
from core.errors import InvalidInput

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _refuse_nul(_conn, _cursor, _statement, parameters, _context, executemany) -> None:
    """A text value with a NUL character is refused (InvalidInput) before any database sees
    it: PostgreSQL cannot take one, not even to compare (a driver error, so a crash), and
    SQLite answers alike. Stored text never holds one; the intake refuses it by name."""
    for row in (parameters if executemany else [parameters]) or ():
        # a row of values (a dict or a tuple); insertmanyvalues may flatten them into one
        values = (row.values() if isinstance(row, dict) else row
                  if isinstance(row, (list, tuple)) else [row])
        if any(isinstance(v, str) and "\x00" in v for v in values):
            raise InvalidInput("text may not contain a NUL character (\\u0000)")


class _SQLiteCompiler(SQLiteCompiler):
    """SQLite's compiler, with table hints: `select(...).with_hint(Case, "INDEXED BY ix",
    "sqlite")` renders `FROM cases INDEXED BY ix` (SQLAlchemy's own SQLite compiler drops
    every hint). The case list uses it to read a page in its sort's index order
    (core/worklist/query.py, `walk_is_cheaper`)."""

    def get_from_hint_text(self, table, text):
        return text


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
    engine.dialect.statement_compiler = _SQLiteCompiler

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """One database: a read engine, a write engine (same one on PostgreSQL), sessions."""

    def __init__(self, url: str | None = None):
        self.url = url or config.database_url()
        if self.url.startswith("sqlite"):
            self.read_engine = _sqlite_engine(self.url, immediate=False)
            self.write_engine = _sqlite_engine(self.url, immediate=True)
        else:
            self.read_engine = self.write_engine = create_engine(
                self.url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        for engine in dict.fromkeys((self.read_engine, self.write_engine)):
            event.listen(engine, "before_cursor_execute", _refuse_nul)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)
        self._write = sessionmaker(self.write_engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.write_engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One write transaction: commits if the block ends normally, else rolls back."""
        with self._write() as session:
            with session.begin():
                yield session

    def upgrade_schema(self) -> None:
        upgrade_schema(self)

    def dispose(self) -> None:
        self.read_engine.dispose()
        self.write_engine.dispose()


_upgrade_lock = threading.Lock()


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


# Any constant both app servers agree on: pg_advisory_xact_lock's key for schema upgrades.
UPGRADE_LOCK_KEY = 0x646F636B6574  # "docket"


def upgrade_schema(db: Database) -> None:
    """Bring the schema to the newest migration (idempotent; safe on every start). Several
    app servers and workers starting at once upgrade one at a time: a thread lock within a
    process; across processes SQLite's write lock (BEGIN IMMEDIATE) or, on PostgreSQL, a
    transaction-level advisory lock. The ones after the first find the schema at head."""
    with _upgrade_lock, db.write_engine.begin() as conn:
        if not db.is_sqlite:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({UPGRADE_LOCK_KEY})")
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_databases: dict[str, Database] = {}


def get_database(url: str | None = None) -> Database:
    """The process-wide Database for a URL, with its schema upgraded once."""
    url = url or config.database_url()
    with _upgrade_lock:
        db = _databases.get(url)
    if db is None:
        db = Database(url)
        db.upgrade_schema()
        with _upgrade_lock:
            db = _databases.setdefault(url, db)
    return db
