"""The "My account" page through AppTest, for every role: setting up two-step sign-in (the QR
code's key, a code from the app, the 10 recovery codes shown once), new recovery codes
against a current code, and "Sign out everywhere else", which keeps this browser."""
from __future__ import annotations

import time

import pyotp
import pytest

import ui.auth
from core.errors import SignInRefused
from core.signin import mfa, sessions
from core.signin.password import sign_in_with_password
from tests.app.harness import COOKIE_KEY, PASSWORDS, errors, new_app, sign_in, texts
from ui.navigation import specs_for

PAGE = "pages/account.py"
KEY_ID = sessions.key_fingerprint(COOKIE_KEY)
CODE_FIELD = "Code from the app"
CONFIRM = "FormSubmitter:acct_enrol-Confirm"
RENEW = "FormSubmitter:acct_renew-Make new recovery codes"


def _account(monkeypatch, database_url, username="reviewer"):
    at = sign_in(new_app(monkeypatch, database_url), username)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["My account"]
    return at


def _code_field(at):
    return next(t for t in at.text_input if t.label == CODE_FIELD)


def _shown(at) -> str:
    return "\n".join(texts(at)).replace("\\", "")


def _check(db, at, username):
    return sessions.check(db, at.session_state[ui.auth.SESSION_KEY], username=username,
                          key_id=KEY_ID, touch=False)


def _second_step(db, username, code):
    """A fresh password sign-in of `username`, then `code` at the second step."""
    start = sign_in_with_password(db, username, PASSWORDS[username],
                                  client=sessions.Client("198.51.100.9", "test"), key_id=KEY_ID)
    assert start.next_step == "mfa"
    return mfa.verify_second_factor(db, start.token, code)


def _enrol(at) -> tuple[str, list[str]]:
    """Sets up the second factor on the page; returns the secret and the codes shown."""
    at.button(key="acct_enrol_start").click().run()
    secret = at.code[0].value.replace(" ", "")
    assert at.image  # the QR code
    _code_field(at).input(pyotp.TOTP(secret).now())
    at.button(key=CONFIRM).click().run()
    assert not at.exception and not errors(at), errors(at)
    assert [t.value for t in at.title] == ["Your recovery codes"]
    codes = at.code[0].value.splitlines()
    return secret, codes


def test_every_role_has_my_account():
    for role in ("admin", "lead", "reviewer", "analyst"):
        assert [p.title for p in specs_for(role)][-1] == "My account"


@pytest.mark.parametrize("role", ["admin", "reviewer", "analyst"])
def test_my_account_shows_who_and_the_second_factor(db, database_url, monkeypatch, role):
    at = _account(monkeypatch, database_url, role)
    assert not errors(at)
    shown = _shown(at)
    assert f"Role: {role}" in shown and "Second factor: **not set up**" in shown


def test_setting_up_two_step_sign_in_shows_the_codes_once(db, database_url, monkeypatch):
    at = _account(monkeypatch, database_url)
    assert not mfa.mfa_status(db, "reviewer").enrolled
    _secret, codes = _enrol(at)
    assert len(codes) == 10 and len(set(codes)) == 10
    status = mfa.mfa_status(db, "reviewer")
    assert status.enrolled and status.recovery_codes_left == 10
    at.button(key="codes_saved").click().run()
    assert [t.value for t in at.title] == ["My account"]
    assert any("Two-step sign-in is set up" in s.value.replace("\\", "") for s in at.success)
    shown = _shown(at)
    assert "set up on" in shown and "10 recovery codes left" in shown
    assert not at.code  # the codes are never shown again
    assert _check(db, at, "reviewer").ok  # this browser stays signed in
    # the next sign-in asks for a code: a recovery code from the page works, once
    assert _second_step(db, "reviewer", codes[0]) == "recovery_code"
    with pytest.raises(SignInRefused):
        _second_step(db, "reviewer", codes[0])


def test_a_wrong_code_at_set_up_is_said_and_sets_nothing(db, database_url, monkeypatch):
    at = _account(monkeypatch, database_url)
    at.button(key="acct_enrol_start").click().run()
    secret = at.code[0].value.replace(" ", "")
    current = {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}
    _code_field(at).input(next(c for c in ("000000", "111111", "222222") if c not in current))
    at.button(key=CONFIRM).click().run()
    assert any("That code is not right" in e for e in errors(at))
    assert not mfa.mfa_status(db, "reviewer").enrolled
    at.button(key="acct_enrol_cancel").click().run()
    assert not at.code and [b for b in at.button if b.key == "acct_enrol_start"]


def test_new_recovery_codes_replace_the_old_ones(db, database_url, monkeypatch):
    at = _account(monkeypatch, database_url)
    secret, old = _enrol(at)
    at.button(key="codes_saved").click().run()
    # the code accepted at set-up cannot be used again: the next time step's code
    _code_field(at).input(pyotp.TOTP(secret).at(time.time() + 30))
    at.button(key=RENEW).click().run()
    assert not errors(at), errors(at)
    assert [t.value for t in at.title] == ["Your recovery codes"]
    new = at.code[0].value.splitlines()
    assert len(new) == 10 and not set(new) & set(old)
    at.button(key="codes_saved").click().run()
    assert any("old ones no longer work" in s.value.replace("\\", "") for s in at.success)
    with pytest.raises(SignInRefused):
        _second_step(db, "reviewer", old[1])
    assert _second_step(db, "reviewer", new[1]) == "recovery_code"


def test_new_recovery_codes_need_a_right_code(db, database_url, monkeypatch):
    at = _account(monkeypatch, database_url)
    _secret, old = _enrol(at)
    at.button(key="codes_saved").click().run()
    _code_field(at).input("12345")
    at.button(key=RENEW).click().run()
    assert errors(at)
    assert [t.value for t in at.title] == ["My account"]
    assert _second_step(db, "reviewer", old[0]) == "recovery_code"  # the old codes still work


def test_sign_out_everywhere_else_keeps_this_browser(db, database_url, monkeypatch):
    elsewhere = sign_in(new_app(monkeypatch, database_url), "reviewer")
    someone_else = sign_in(new_app(monkeypatch, database_url), "analyst")
    at = _account(monkeypatch, database_url)
    table = next(d.value for d in at.dataframe if d.value is not None and "State" in d.value)
    assert "User" not in table.columns and len(table) == 2  # only their own sessions
    assert sorted(table["State"]) == ["signed in", "signed in · this browser"]
    assert not at.button(key="acct_everywhere_else").disabled
    at.button(key="acct_everywhere_else").click().run()
    assert not errors(at), errors(at)
    assert any("1 other session ended" in s.value.replace("\\", "") for s in at.success)
    assert _check(db, elsewhere, "reviewer").reason == "signed_out_everywhere"
    assert _check(db, at, "reviewer").ok
    assert _check(db, someone_else, "analyst").ok
    assert at.session_state["authentication_status"] is True
    assert at.button(key="acct_everywhere_else").disabled  # nothing else is open
    elsewhere.run()
    assert any("signed out everywhere" in e for e in errors(elsewhere))


def test_list_my_sessions_is_the_users_own(db, database_url, monkeypatch):
    mine = sign_in(new_app(monkeypatch, database_url), "reviewer")
    sign_in(new_app(monkeypatch, database_url), "analyst")
    listed = sessions.list_my_sessions(db, "reviewer")
    assert [r.id for r in listed] == [
        sessions.session_id(mine.session_state[ui.auth.SESSION_KEY])]
    assert sessions.list_my_sessions(db, "") == []
