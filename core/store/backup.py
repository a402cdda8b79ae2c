"""Backups and restores of the whole database, while the app runs (`python -m core backup`).

The embedded SQLite file is copied with SQLite's online backup API: a consistent snapshot
taken page by page while reviewers keep working, then checked (`PRAGMA integrity_check`).
PostgreSQL is dumped with `pg_dump --format=custom` (and restored with `pg_restore`); its
password travels in the environment (PGPASSWORD), never on a command line another user of
the machine could read. A backup is written to a temporary file next to its target and
renamed at the end, so a failed backup never leaves a truncated file under the chosen name.

A restore replaces the database with the backup: stop the app servers and workers first.
It is refused when the database holds cases, unless forced.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from core.errors import DocketError, InvalidInput
from core.store.db import Database, upgrade_schema


class BackupError(DocketError):
    """pg_dump/pg_restore missing or failing, or a backup file that is not one."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    cases: int


def backup_database(db: Database, target: str | os.PathLike, *, force: bool = False) -> BackupResult:
    """Writes a consistent copy of the database to `target`."""
    path = Path(target)
    if path.exists() and not force:
        raise InvalidInput(f"{path} exists; choose a new file name (or --force to replace it)")
    if not path.parent.is_dir():
        raise InvalidInput(f"the folder {path.parent} does not exist")
    partial = path.with_name(f".{path.name}.partial")
    try:
        if db.is_sqlite:
            _sqlite_backup(_sqlite_path(db), partial)
            _check_sqlite_file(partial)
        else:
            _run_pg("pg_dump", db, ["--format=custom", "--no-owner", f"--file={partial}",
                                    *_pg_schema_args(db)])
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path, path.stat().st_size, _case_count(db))


def restore_database(db: Database, source: str | os.PathLike, *, force: bool = False) -> int:
    """Replaces the database's contents with the backup in `source`; returns its case count.
    The schema is then brought to the newest migration (a backup of an older Docket)."""
    path = Path(source)
    if not path.is_file():
        raise InvalidInput(f"{path} is not a file")
    held = _case_count(db)
    if held and not force:
        raise InvalidInput(f"the database holds {held:,} cases; a restore replaces them all "
                           "(stop the app and workers, then use --force)")
    if db.is_sqlite:
        _check_sqlite_file(path)
        db.dispose()
        _sqlite_backup(path, Path(_sqlite_path(db)), to_file=False)
    else:
        with open(path, "rb") as f:
            if f.read(5) != b"PGDMP":
                raise BackupError(f"{path} is not a pg_dump custom-format file")
        db.dispose()
        _run_pg("pg_restore", db, ["--clean", "--if-exists", "--no-owner",
                                   "--single-transaction", "--exit-on-error", str(path)])
    db.dispose()
    upgrade_schema(db)
    return _case_count(db)


# --- SQLite -------------------------------------------------------------------------------

def _sqlite_path(db: Database) -> str:
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise InvalidInput("an in-memory SQLite database has nothing to back up")
    return database


def _sqlite_backup(source: str | Path, target: Path, *, to_file: bool = True) -> None:
    src = sqlite3.connect(Path(source), timeout=30)  # (read only: a WAL file may need its index)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst, pages=4096)  # in steps: writers are not held off for the whole copy
            if to_file:
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def _check_sqlite_file(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"{path} is not a SQLite database ({e})") from None
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")
    if not {"cases", "alembic_version"} <= tables:
        raise BackupError(f"{path} is a SQLite database but not a Docket one")


# --- PostgreSQL -----------------------------------------------------------------------------

def _pg_env(db: Database) -> tuple[list[str], dict[str, str]]:
    url = make_url(db.url)
    env = {**os.environ}
    args = []
    if url.host:
        args.append(f"--host={url.host}")
    if url.port:
        args.append(f"--port={url.port}")
    if url.username:
        args.append(f"--username={url.username}")
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    options = url.query.get("options")
    if options:
        env["PGOPTIONS"] = unquote(options if isinstance(options, str) else options[0])
    args.append(f"--dbname={url.database}")
    return args, env


def _pg_schema_args(db: Database) -> list[str]:
    """A database whose URL sets a search_path (a schema of its own) is dumped as that
    schema only."""
    options = make_url(db.url).query.get("options") or ""
    options = unquote(options if isinstance(options, str) else options[0])
    for part in options.split():
        if part.startswith("-csearch_path="):
            return [f"--schema={part.split('=', 1)[1].split(',')[0]}"]
    return []


def _run_pg(tool: str, db: Database, args: list[str]) -> None:
    binary = shutil.which(tool)
    if binary is None:
        raise BackupError(f"{tool} is not installed (Debian: apt-get install postgresql-client)")
    conn_args, env = _pg_env(db)
    done = subprocess.run([binary, *conn_args, *args], env=env, capture_output=True,
                          text=True, timeout=6 * 3600)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{tool} failed: " + (message[-1] if message else
                                                f"exit code {done.returncode}"))


def _case_count(db: Database) -> int:
    with db.read() as s:
        if not inspect(s.connection()).has_table("cases"):
            return 0
        return int(s.execute(text("SELECT count(*) FROM cases")).scalar() or 0)
