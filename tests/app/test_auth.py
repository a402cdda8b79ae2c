"""Sign-in, sign-out, lockout, demo accounts and role-filtered pages, through AppTest."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from core.access.users import LOCK_AFTER_FAILURES, get_user, set_disabled
from core.store.models import User
from tests.app.harness import errors, new_app, sign_in, submit_login, texts

# Written out here, not taken from ui.navigation (the code under test); the simulator is on.
EVERYONE = ("pages/cases.py", "pages/overview.py")
ADMIN_ONLY = ("pages/admin_views.py", "pages/admin_workflows.py", "pages/admin_users.py",
              "pages/import_cases.py", "pages/settings.py", "pages/deliveries.py")
SIMULATOR = "pages/simulator.py"
ALL_PAGES = (*EVERYONE, *ADMIN_ONLY, SIMULATOR)
PAGES_BY_ROLE = {
    "analyst": {*EVERYONE},
    "reviewer": {*EVERYONE, SIMULATOR},
    "admin": {*ALL_PAGES},
}


def _failed_logins(db, username):
    with db.read() as s:
        user = s.get(User, username)
        return user.failed_logins, user.locked_until


def test_only_the_login_page_shows_until_signed_in(db, database_url, monkeypatch):
    at = new_app(monkeypatch, database_url).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert [t.value for t in at.title] == ["Docket"]
    assert "Sign out" not in [b.label for b in at.button]
    for path in ALL_PAGES:  # signed out, no page file is registered: every address shows Sign in
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(path)
    assert not at.dataframe


def test_demo_accounts_show_only_in_demo_mode(db, database_url, monkeypatch):
    at = new_app(monkeypatch, database_url).run()
    assert not any("Demo mode" in t for t in texts(at))
    assert not at.table
    at = new_app(monkeypatch, database_url, demo=True).run()
    assert not at.exception
    assert any("Demo mode" in t for t in texts(at))
    shown = at.table[0].value
    assert set(shown["Username"]) == {"admin", "reviewer", "reviewer2", "lead", "analyst"}
    assert "demo-reviewer-pass" in set(shown["Password"])


def test_right_password_signs_in_and_sign_out_returns_to_login(db, database_url, monkeypatch):
    at = sign_in(new_app(monkeypatch, database_url), "reviewer")
    assert not at.exception
    assert "Cases" in [t.value for t in at.title]
    assert any("Rui Reviewer" in t for t in texts(at))
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert at.session_state["authentication_status"] is None


def test_wrong_password_shows_an_error_and_is_counted(db, database_url, monkeypatch):
    at = new_app(monkeypatch, database_url).run()
    submit_login(at, "reviewer", "not-the-password")
    assert not at.exception
    assert any("wrong username or password" in e for e in errors(at))
    assert at.session_state["authentication_status"] is False
    assert _failed_logins(db, "reviewer")[0] == 1
    assert not at.dataframe


def test_five_failures_lock_the_account_even_for_the_right_password(db, database_url, monkeypatch):
    at = new_app(monkeypatch, database_url).run()
    for _ in range(LOCK_AFTER_FAILURES):
        submit_login(at, "reviewer", "not-the-password")
    assert _failed_logins(db, "reviewer")[1] is not None
    submit_login(at, "reviewer", "demo-reviewer-pass")
    assert at.session_state["authentication_status"] is False
    assert any("locked" in e for e in errors(at))
    # an admin resetting the lock (here: time passing) lets the right password in again
    with db.unit_of_work() as s:
        s.execute(update(User).where(User.username == "reviewer").values(locked_until=None))
    submit_login(at, "reviewer", "demo-reviewer-pass")
    assert at.session_state["authentication_status"] is True


def test_disabled_user_cannot_sign_in(db, database_url, monkeypatch):
    set_disabled(db, "reviewer2", True)
    at = new_app(monkeypatch, database_url).run()
    submit_login(at, "reviewer2", "demo-reviewer2-pass")
    assert at.session_state["authentication_status"] is False
    assert any("wrong username or password" in e for e in errors(at))


def test_user_disabled_while_signed_in_is_signed_out_at_next_action(db, database_url, monkeypatch):
    at = sign_in(new_app(monkeypatch, database_url), "reviewer2")
    set_disabled(db, "reviewer2", True)
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert any("disabled" in e for e in errors(at))
    assert get_user(db, "reviewer2").disabled


def test_each_role_sees_its_pages(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    for role, reachable in PAGES_BY_ROLE.items():
        at = sign_in(new_app(monkeypatch, database_url), role)
        for path in ALL_PAGES:
            if path in reachable:
                at.switch_page(path).run()
                assert not at.exception, (role, path)
            else:  # not registered for this role: no URL reaches it
                with pytest.raises(ValueError, match="Could not find a navigation page"):
                    at.switch_page(path)
