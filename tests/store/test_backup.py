"""Backups and restores (`python -m core backup/restore`, docs/DEPLOY.md) on the real database
of the run: SQLite's online backup, or pg_dump/pg_restore against the PostgreSQL server; and
schema upgrades that several processes start at once."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from core.cli.main import main as run_cli
from core.errors import InvalidInput
from core.store.backup import BackupError, backup_database, restore_database
from core.store.models import AuditEvent, Case
from tests.factories import make_case, row_counts

ROOT = Path(__file__).resolve().parents[2]


def case_ids(db):
    with db.read() as s:
        return sorted(s.scalars(select(Case.id)))


def test_a_backup_restores_the_database_as_it_was(db, tmp_path):
    for i in range(3):
        make_case(db, f"B-{i}", assignee="reviewer")
    before = row_counts(db)
    result = backup_database(db, tmp_path / "docket.backup")
    assert result.cases == 3 and result.size > 0 and result.path.is_file()
    assert not list(tmp_path.glob(".*.partial"))

    make_case(db, "B-LATER")  # written after the backup: gone after the restore
    with pytest.raises(InvalidInput, match="holds 4 cases"):
        restore_database(db, tmp_path / "docket.backup")
    assert case_ids(db) == ["B-0", "B-1", "B-2", "B-LATER"]  # refused: nothing changed

    assert restore_database(db, tmp_path / "docket.backup", force=True) == 3
    assert case_ids(db) == ["B-0", "B-1", "B-2"]
    assert row_counts(db) == before
    make_case(db, "B-AFTER")  # the restored database works (sequences, triggers, counters)
    with db.read() as s:
        assert s.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1))


def test_a_backup_never_overwrites_and_a_bad_file_is_not_restored(db, tmp_path):
    make_case(db)
    target = tmp_path / "exists.backup"
    target.write_bytes(b"keep me")
    with pytest.raises(InvalidInput, match="exists"):
        backup_database(db, target)
    assert target.read_bytes() == b"keep me"
    with pytest.raises(InvalidInput, match="does not exist"):
        backup_database(db, tmp_path / "no-such-folder" / "x.backup")
    garbage = tmp_path / "garbage.backup"
    garbage.write_bytes(b"this is not a backup" * 100)
    before = row_counts(db)
    with pytest.raises(BackupError, match="not a"):
        restore_database(db, garbage, force=True)
    assert row_counts(db) == before
    with pytest.raises(InvalidInput, match="is not a file"):
        restore_database(db, tmp_path / "missing.backup", force=True)


def test_a_backup_taken_while_reviewers_write_is_one_moment_of_the_database(db, tmp_path):
    """Cases written one after another during the backup: the restored database holds the
    first n of them, no gap (SQLite's online backup restarts on a change; pg_dump reads one
    snapshot)."""
    make_case(db, "W-000")
    stop = threading.Event()
    written = [0]

    def writer():
        i = 1
        while not stop.is_set() and i < 300:
            make_case(db, f"W-{i:03d}")
            written.append(i)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        backup_database(db, tmp_path / "live.backup")
    finally:
        stop.set()
        thread.join()
    count = restore_database(db, tmp_path / "live.backup", force=True)
    assert 1 <= count <= len(written)
    assert case_ids(db) == [f"W-{i:03d}" for i in range(count)]


def test_the_cli_backs_up_and_restores_only_when_confirmed(db, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCKET_DATABASE_URL", db.url)
    make_case(db)
    target = tmp_path / "cli.backup"
    assert run_cli(["backup", str(target)]) == 0
    assert f"backup written: {target}" in capsys.readouterr().out
    assert run_cli(["restore", str(target)]) == 1  # no --yes
    assert "--yes" in capsys.readouterr().err
    assert run_cli(["restore", str(target), "--yes", "--force"]) == 0
    assert "restored from" in capsys.readouterr().out
    assert case_ids(db) == ["C-1"]


def _upgrade_in_a_process(url: str) -> subprocess.Popen:
    code = ("import sys; from core.store.db import Database; "
            "Database(sys.argv[1]).upgrade_schema()")
    return subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, env={**os.environ},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_app_servers_starting_at_once_upgrade_the_schema_one_at_a_time(database_url, tmp_path):
    """Three processes migrate one empty database at once: all succeed, one schema results."""
    from sqlalchemy import create_engine, text
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        cleanup = None
    else:
        from urllib.parse import quote
        schema = f"fresh_{os.getpid()}"
        base = database_url.split("?")[0]
        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{base}?options={quote(f'-csearch_path={schema}')}"

        def cleanup():
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
    try:
        procs = [_upgrade_in_a_process(url) for _ in range(3)]
        results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        assert [rc for rc, _ in results] == [0, 0, 0], [err[-800:] for _, err in results]
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
        engine.dispose()
    finally:
        if cleanup:
            cleanup()
