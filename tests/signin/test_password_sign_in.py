"""The password step: refusals say nothing about which part was wrong, the audit log says
why (never the password), look-alike and over-long usernames name no one, and "SSO only"
leaves one break-glass admin who must add a second factor."""
from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import func, select

from core.errors import SignInRefused
from core.settings_store import set_settings
from core.signin import mfa
from core.signin.password import sign_in_with_password
from core.store.models import AuditEvent, SignInSession
from tests.signin.conftest import CLIENT, KEY_ID, PASSWORD


def _try(db, username, password=PASSWORD):
    return sign_in_with_password(db, username, password, client=CLIENT, key_id=KEY_ID)


def _last(db, kind):
    with db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                         .order_by(AuditEvent.id.desc())).first()


def _sessions(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(SignInSession))


def test_a_right_password_signs_in_and_is_audited_with_where_from(people):
    start = _try(people, "  Rui ")
    assert start.user.username == "rui" and start.next_step == ""
    event = _last(people, "signin.succeeded")
    assert event.actor == "rui"
    assert event.after == {"username": "rui", "method": "password", "mfa": "none",
                           "client_addr": CLIENT.addr}


@pytest.mark.parametrize("username, password, reason", [
    ("rui", "wrong password here", "wrong_password"),
    ("nobody", PASSWORD, "unknown_user"),
    ("r" * 65, PASSWORD, "invalid_username"),
    ("r" * 10_000, PASSWORD, "invalid_username"),
    ("аna", PASSWORD, "invalid_username"),       # Cyrillic а
    ("ｒｕｉ", PASSWORD, "invalid_username"),     # full-width letters
    ("rui\u200b", PASSWORD, "invalid_username"),  # a zero-width space
])
def test_a_refusal_tells_the_person_nothing_and_the_log_why(people, username, password, reason):
    with pytest.raises(SignInRefused) as e:
        _try(people, username, password)
    assert str(e.value) == "wrong username or password" and e.value.reason == reason
    event = _last(people, "signin.failed")
    assert event.after["reason"] == reason and event.after["method"] == "password"
    assert len(event.after["username"]) <= 64 and len(event.actor) <= 64
    assert password not in str(event.after)
    assert _sessions(people) == 0


def test_a_disabled_user_is_refused_and_logged_as_such(people):
    from core.access.users import set_disabled
    set_disabled(people, "ana", True)
    with pytest.raises(SignInRefused, match="wrong username or password"):
        _try(people, "ana")
    assert _last(people, "signin.failed").after["reason"] == "disabled"


def test_sso_only_refuses_passwords_except_the_break_glass_admin_who_needs_a_code(people):
    set_settings(people, {"sso.only": "on", "sso.break_glass_admin": "ada",
                          "signin.mfa_required": "off"}, actor="system")
    with pytest.raises(SignInRefused) as e:
        _try(people, "rui")
    assert e.value.reason == "sso_only" and "SSO" in str(e.value)
    with pytest.raises(SignInRefused):
        _try(people, "leo")
    start = _try(people, "ada")
    assert start.next_step == "enrol"   # whatever signin.mfa_required says
    secret = mfa.begin_enrolment(people, start.token).secret
    mfa.confirm_enrolment(people, start.token, pyotp.TOTP(secret).now())
    assert _try(people, "ada").next_step == "mfa"


@pytest.mark.parametrize("changes", [{"sso.only": "on"},
                                     {"sso.only": "on", "sso.break_glass_admin": "rui"},
                                     {"sso.only": "on", "sso.break_glass_admin": "nobody"}])
def test_sso_only_is_refused_in_the_app_without_an_active_break_glass_admin(people, changes):
    from core.errors import InvalidInput
    from core.signin.policy import read_policy
    with pytest.raises(InvalidInput, match="break_glass_admin to name an active admin"):
        set_settings(people, changes, actor="ada")
    assert read_policy(people).sso_only is False  # nothing saved
    set_settings(people, {"sso.only": "on", "sso.break_glass_admin": "ada"}, actor="ada")
    with pytest.raises(InvalidInput):  # and the admin cannot be removed while it is on
        set_settings(people, {"sso.break_glass_admin": ""}, actor="ada")


def test_sso_only_from_the_environment_without_a_break_glass_admin_refuses_every_password(
        people, monkeypatch):
    monkeypatch.setenv("DOCKET_SSO_ONLY", "on")  # the operator's choice: not checked
    for username in ("ada", "rui"):
        with pytest.raises(SignInRefused):
            _try(people, username)
    assert _sessions(people) == 0
