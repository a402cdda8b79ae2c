"""The core review flow in a real browser on PostgreSQL: a second app server runs on a fresh
database on the PostgreSQL server at DOCKET_PG_URL, seeded like the SQLite one of the other
browser tests; a reviewer signs in, opens a case, takes it and approves it.

DOCKET_PG_URL is a SQLAlchemy URL of a database the test may connect to for creating and
dropping databases (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; .ci/run sets it).
Without it the test skips locally with the reason, and fails when CI=true, like the browser
tests without Chromium.
"""
from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from playwright.sync_api import Page, expect
from psycopg import sql
from sqlalchemy.engine import make_url

from core.store.db import Database
from core.store.models import Case
from tests.browser.conftest import IN_CI, _seed, running_app
from tests.browser.helpers import (
    case_button,
    case_status_badge,
    click_row,
    db_status,
    keyed_button,
    list_cell,
    search,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

PG_ENV = "DOCKET_PG_URL"
EXAMPLE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _server_url() -> str:
    url = os.environ.get(PG_ENV, "").strip()
    if url:
        return url
    reason = f"{PG_ENV} is not set (e.g. {PG_ENV}={EXAMPLE_URL})"
    if IN_CI:
        pytest.fail(f"the PostgreSQL browser test cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL browser test skipped: {reason}")


def _connect(url) -> psycopg.Connection:
    """A psycopg connection (autocommit: CREATE/DROP DATABASE refuse a transaction) to the
    database of the SQLAlchemy URL `url`."""
    return psycopg.connect(url.set(drivername="postgresql").render_as_string(
        hide_password=False), autocommit=True, connect_timeout=10)


def _drop(server, name: str) -> None:
    with _connect(server) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(name)))


@pytest.fixture(scope="module")
def pg_db(browser_type_launch_args) -> Database:
    """A fresh database `docket_browser_<random>` on the server at DOCKET_PG_URL, migrated and
    seeded like the SQLite `app_db`; dropped afterwards (even when the seeding failed).
    (`browser_type_launch_args` first: without Chromium nothing is created.)"""
    server = make_url(_server_url())
    name = f"docket_browser_{secrets.token_hex(4)}"
    with _connect(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = None
    try:
        db = Database(server.set(database=name).render_as_string(hide_password=False))
        assert db.dialect == "postgresql"
        _seed(db)
        yield db
    finally:
        if db is not None:
            db.dispose()
        _drop(server, name)


@pytest.fixture(scope="module")
def pg_app_url(pg_db, tmp_path_factory) -> str:
    """A second app server (the real app under `streamlit run`) on `pg_db`."""
    with running_app(pg_db.url, tmp_path_factory.mktemp("browser-pg-app"),
                     DOCKET_EMBEDDED_WORKER="off") as url:
        yield url


def test_reviewer_approves_a_case_on_postgresql(page: Page, pg_app_url, pg_db):
    sign_in(page, pg_app_url, "reviewer")
    search(page, "Quillfeather")
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Quillfeather Approvals Ltd")).to_be_visible()
    expect(case_status_badge(page)).to_have_text("Manual review")
    assert db_status(pg_db, "BR-APPROVE") == "manual_review"

    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Case assigned to you.")).to_be_visible()
    wait_idle(page)
    case_button(page, "approve").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Reason (optional)").fill("checked on PostgreSQL")
    keyed_button(page, "dialog_confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Case approved.")).to_be_visible()
    wait_idle(page)

    expect(case_status_badge(page)).to_have_text("Approved")
    expect(list_cell(page, 6)).to_have_text("Approved")
    assert db_status(pg_db, "BR-APPROVE") == "approved"
    with pg_db.read() as s:
        case = s.get(Case, "BR-APPROVE")
        assert (case.decision, case.decided_by, case.decision_reason) == \
            ("approved", "reviewer", "checked on PostgreSQL")
