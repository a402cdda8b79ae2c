"""Shared fixtures: a real database per test (SQLite file by default, PostgreSQL when
DOCKET_TEST_DATABASE_URL is set: one throwaway schema per pytest process, emptied per test)."""
from __future__ import annotations

import os
import uuid
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

import core.access.users
from core.access.users import ensure_demo_users
from core.store.db import Database
from core.store.models import Base
from core.workflows.definitions import ensure_default_workflows
from tests.fresh_rerun import (  # noqa: F401  (hooks: a failed browser test runs once more)
    pytest_collectreport,
    pytest_runtest_logreport,
    pytest_sessionfinish,
    pytest_terminal_summary,
)

# The test databases are throwaway SQLite files, which demo mode's "auto" takes for the
# embedded default: keep the demo mailbox off unless a test turns it on (tests/notifications/
# test_mailbox.py), so an email without SMTP is skipped as outside demo mode.
os.environ.setdefault("DOCKET_DEMO_MAILBOX", "off")
PG_URL = os.environ.get("DOCKET_TEST_DATABASE_URL", "").strip()
core.access.users.BCRYPT_ROUNDS = 4
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_report_header(config):
    return f"docket database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (temporary files)'}"


@pytest.fixture(scope="session")
def pg_schema_url():
    """A fresh schema on the PostgreSQL server for this pytest process; dropped at the end."""
    if not PG_URL:
        yield None
        return
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    db = Database(url)
    db.upgrade_schema()
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _empty_postgres(db: Database) -> None:
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.write_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database_url(tmp_path, pg_schema_url):
    """URL of an empty, migrated database for one test."""
    if pg_schema_url:
        db = Database(pg_schema_url)
        _empty_postgres(db)
        db.dispose()
        return pg_schema_url
    url = f"sqlite:///{tmp_path / 'docket.sqlite3'}"
    db = Database(url)
    db.upgrade_schema()
    db.dispose()
    return url


@pytest.fixture
def db(database_url):
    """A Database with the default workflows and the demo users (admin, reviewer, reviewer2,
    analyst) in it."""
    database = Database(database_url)
    with database.unit_of_work() as s:
        ensure_default_workflows(s)
    ensure_demo_users(database)
    yield database
    database.dispose()


def pytest_addoption(parser):
    parser.addoption(
        "--shard", default=None, metavar="K/N",
        help="run only the test files of shard K of N (1 <= K <= N): the files, sorted by "
             "path, dealt round-robin, so the N shards together are the whole suite "
             "(.ci/run splits the SQLite tests between its two lanes this way)")


def shard_of(paths: list[str], spec: str) -> set[str]:
    """The test files of shard K of N ("K/N"): `paths` sorted, dealt round-robin. Every file
    is in exactly one shard, whatever was selected, so the shards add up to the suite."""
    try:
        k, n = (int(part) for part in spec.split("/"))
    except ValueError:
        raise pytest.UsageError(f"--shard takes K/N, e.g. 1/2 (got {spec!r})") from None
    if not 1 <= k <= n:
        raise pytest.UsageError(f"--shard K/N needs 1 <= K <= N (got {spec!r})")
    return {path for i, path in enumerate(sorted(set(paths))) if i % n == k - 1}


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Every test under tests/browser/ is a browser test, marked or not: `-m "not browser"`
    (the PostgreSQL leg) must never start Chromium, and the browser rerun
    (tests/fresh_rerun.py) applies to all.
    With --shard K/N, only the files of that shard stay selected."""
    for item in items:
        if "tests/browser/" in item.nodeid.replace("\\", "/") or \
                item.nodeid.startswith("browser/"):
            item.add_marker(pytest.mark.browser)
    spec = config.getoption("--shard")
    if spec:
        files = [item.nodeid.split("::", 1)[0] for item in items]
        chosen = shard_of(files, spec)
        kept = [item for item, path in zip(items, files) if path in chosen]
        dropped = [item for item, path in zip(items, files) if path not in chosen]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept
