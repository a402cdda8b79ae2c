"""Running the Streamlit app under AppTest against the test database (tests/test_app_*.py).

`app(monkeypatch, database_url)` points the app at the test database (demo mode off, a fixed
cookie key, no login sleep); `sign_in` goes through the real login form.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

import ui.auth

APP = Path(__file__).resolve().parents[2] / "dashboard.py"
COOKIE_KEY = "t" * 64
PASSWORDS = {"admin": "demo-admin-pass", "reviewer": "demo-reviewer-pass",
             "reviewer2": "demo-reviewer2-pass", "analyst": "demo-analyst-pass",
             "lead": "demo-lead-pass"}


def _steady_state_navigation(monkeypatch) -> None:
    """Makes AppTest run the router on every run, as a server does.

    Streamlit runs a `pages/` folder's files by itself (legacy multipage mode) until some
    script calls st.navigation; a server does that once per process, but AppTest resets the
    flag before every run, so from the second run on it would run pages/cases.py without the
    router. Keep the flag at False after each reset, as it is on a server after its first run.
    (The first-run case on a server is handled by ui.context.through_router.)"""
    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def new_app(monkeypatch, database_url: str, *, demo: bool = False,
            query: dict[str, str] | None = None, mfa_required: str = "off") -> AppTest:
    _steady_state_navigation(monkeypatch)
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    monkeypatch.setenv("DOCKET_DEMO_MODE", "on" if demo else "off")
    monkeypatch.setenv("DOCKET_COOKIE_KEY", COOKIE_KEY)
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "off")  # delivery has its own tests
    # The test users are not demo accounts: admins and leads would need a second factor.
    # The pages' tests sign in with a password alone; tests/app/test_second_factor.py has MFA.
    monkeypatch.setenv("DOCKET_MFA_REQUIRED", mfa_required)
    monkeypatch.setattr(ui.auth, "LOGIN_SLEEP_TIME", 0)
    # A fresh app sees no figures cached by another test's app: on PostgreSQL every test of a
    # process has the same database URL, the key of the caches (tags in use, counts).
    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at


def submit_login(at: AppTest, username: str, password: str) -> AppTest:
    fields = {t.label: t for t in at.text_input}
    fields["Username"].input(username)
    fields["Password"].input(password)
    next(b for b in at.button if b.label == "Login").click()
    return at.run()


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    if not at._tree:  # first run draws the login form
        at.run()
    submit_login(at, username, password or PASSWORDS[username])
    assert at.session_state["authentication_status"] is True, [e.value for e in at.error]
    return at


def select_row(at: AppTest, index: int) -> AppTest:
    key = at.session_state["case_table_key"]
    at.session_state[key] = {"selection": {"rows": [index], "columns": [], "cells": []}}
    return at.run()


def table(at: AppTest):
    """The case list as a DataFrame."""
    return next(d for d in at.dataframe if d.value is not None and "Entity name" in d.value.columns).value


def open_case(at: AppTest, case_id: str) -> AppTest:
    ids = list(table(at)["ID"])
    return select_row(at, ids.index(case_id))


def buttons(at: AppTest) -> dict[str, bool]:
    """Button label -> enabled, for the case action buttons."""
    return {b.label: not b.disabled for b in at.button
            if (b.key or "").startswith("case_action_")}


def texts(at: AppTest) -> list[str]:
    """Every text shown as Markdown-like content (titles, markdown, captions, alerts)."""
    found = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        body = getattr(proto, "body", None)
        if isinstance(body, str):
            found.append(body)
    return found


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]
