"""The Users page's Sessions and Sign-ins tabs, and "Reset second factor", through AppTest:
an admin ends one session (that browser is signed out at its next action), signs a user out
everywhere, resets a user's second factor, and reads the sign-in history filtered by user and
outcome — an attacker's text typed as a username shown as text, never as HTML."""
from __future__ import annotations

import pyotp
from sqlalchemy import select

import ui.auth
from core.signin import mfa, sessions
from core.signin.password import sign_in_with_password
from core.store.models import AuditEvent
from tests.app.harness import COOKIE_KEY, PASSWORDS, errors, new_app, sign_in, submit_login, texts

PAGE = "pages/admin_users.py"
KEY_ID = sessions.key_fingerprint(COOKIE_KEY)
HOSTILE = "<img src=x onerror=alert(1)>"


def _signed_in(monkeypatch, database_url, username):
    return sign_in(new_app(monkeypatch, database_url), username)


def _users_page(monkeypatch, database_url, tab="Accounts"):
    at = _signed_in(monkeypatch, database_url, "admin")
    at.switch_page(PAGE).run()
    at.session_state["ua_tab"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not errors(at), errors(at)
    return at


def _frame(at, column):
    return next((d.value for d in at.dataframe
                 if d.value is not None and column in d.value.columns), None)


def _picker(at):
    """The "End a session" picker (its widget key changes with the set of open sessions)."""
    return next(s for s in at.selectbox if (s.key or "").startswith("ss_end_pick_"))


def _token(at) -> str:
    return at.session_state[ui.auth.SESSION_KEY]


def _check(db, at, username):
    return sessions.check(db, _token(at), username=username, key_id=KEY_ID, touch=False)


def _successes(at) -> list[str]:
    """The success messages, as read (without Markdown's escapes)."""
    return [s.value.replace("\\", "") for s in at.success]


def test_the_sessions_tab_lists_open_sessions_and_ends_one(db, database_url, monkeypatch):
    reviewer = _signed_in(monkeypatch, database_url, "reviewer")
    other = _signed_in(monkeypatch, database_url, "reviewer")
    admin = _users_page(monkeypatch, database_url, "Sessions")
    table = _frame(admin, "User agent")
    assert sorted(table["User"]) == ["admin", "reviewer", "reviewer"]
    assert list(table.columns) == ["Session", "User", "State", "Method", "Started (UTC)",
                                   "Last seen (UTC)", "Client address", "User agent"]
    mine = table[table["User"] == "admin"]["State"].tolist()
    assert mine == ["signed in · this browser"]

    sid = sessions.session_id(_token(reviewer))
    _picker(admin).set_value(sid).run()
    admin.button(key="ss_end_ask").click().run()
    assert any("signed out at its next action" in w.value for w in admin.warning)
    assert _check(db, reviewer, "reviewer").ok  # nothing ended before the confirmation
    admin.button(key="ss_end_confirm").click().run()
    assert not errors(admin), errors(admin)
    assert any("signed out at its next action" in s for s in _successes(admin))
    check = _check(db, reviewer, "reviewer")
    assert (check.ok, check.reason) == (False, "ended_by_admin")
    assert _check(db, other, "reviewer").ok  # the other browser goes on
    assert sorted(_frame(admin, "User agent")["User"]) == ["admin", "reviewer"]
    # the picker is a new widget: it cannot keep showing the ended session
    assert _picker(admin).value != sid and sid[:12] not in " ".join(_picker(admin).options)

    reviewer.run()  # its next action: the sign-in form, saying why
    assert [t.label for t in reviewer.text_input] == ["Username", "Password"]
    assert any("An admin ended your session" in e for e in errors(reviewer))
    other.run()
    assert other.session_state["authentication_status"] is True
    with db.read() as s:
        ended = [e.after for e in s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "session.ended"))]
    assert [(e["username"], e["reason"], e["by"]) for e in ended] == [
        ("reviewer", "ended_by_admin", "admin")]


def test_cancel_ends_nothing(db, database_url, monkeypatch):
    reviewer = _signed_in(monkeypatch, database_url, "reviewer")
    admin = _users_page(monkeypatch, database_url, "Sessions")
    _picker(admin).set_value(sessions.session_id(_token(reviewer))).run()
    admin.button(key="ss_end_ask").click().run()
    admin.button(key="ss_end_cancel").click().run()
    assert not admin.warning and _check(db, reviewer, "reviewer").ok


def test_sign_out_everywhere_ends_every_session_of_the_user(db, database_url, monkeypatch):
    one = _signed_in(monkeypatch, database_url, "reviewer")
    two = _signed_in(monkeypatch, database_url, "reviewer")
    analyst = _signed_in(monkeypatch, database_url, "analyst")
    admin = _users_page(monkeypatch, database_url, "Sessions")
    admin.selectbox(key="ss_everywhere_user").set_value("reviewer").run()
    admin.button(key="ss_everywhere_ask").click().run()
    assert any("2 open now" in w.value for w in admin.warning)
    admin.button(key="ss_everywhere_confirm").click().run()
    assert not errors(admin), errors(admin)
    assert any("2 sessions of reviewer ended" in s for s in _successes(admin))
    assert [_check(db, at, "reviewer").reason for at in (one, two)] == ["ended_by_admin"] * 2
    assert _check(db, analyst, "analyst").ok
    assert _check(db, admin, "admin").ok


def test_an_admin_signing_themself_out_everywhere_keeps_this_browser(db, database_url,
                                                                    monkeypatch):
    elsewhere = _signed_in(monkeypatch, database_url, "admin")
    admin = _users_page(monkeypatch, database_url, "Sessions")
    admin.selectbox(key="ss_everywhere_user").set_value("admin").run()
    admin.button(key="ss_everywhere_ask").click().run()
    assert any("this browser stays signed in" in w.value for w in admin.warning)
    admin.button(key="ss_everywhere_confirm").click().run()
    assert _check(db, elsewhere, "admin").reason == "signed_out_everywhere"
    assert _check(db, admin, "admin").ok
    assert admin.session_state["authentication_status"] is True


def _enrol(db, username):
    start = sign_in_with_password(db, username, PASSWORDS[username],
                                  client=sessions.Client("198.51.100.9", "test"), key_id=KEY_ID)
    secret = mfa.begin_enrolment(db, start.token).secret
    mfa.confirm_enrolment(db, start.token, pyotp.TOTP(secret).now())
    return start.token


def test_reset_second_factor_shows_the_status_and_makes_the_user_enrol_again(db, database_url,
                                                                           monkeypatch):
    token = _enrol(db, "reviewer")
    admin = _users_page(monkeypatch, database_url)
    admin.selectbox(key="ua_user").set_value("analyst").run()
    assert any("Second factor: **not set up**" in t for t in texts(admin))
    assert not [b for b in admin.button if b.key == "ua_mfa_reset_ask"]
    admin.selectbox(key="ua_user").set_value("reviewer").run()
    status = next(t for t in texts(admin) if t.startswith("Second factor:"))
    assert "set up on" in status and "10 recovery codes left" in status
    admin.button(key="ua_mfa_reset_ask").click().run()
    assert any("set up a new second factor at their next sign-in" in w.value
               for w in admin.warning)
    assert mfa.mfa_status(db, "reviewer").enrolled  # not before the confirmation
    admin.button(key="ua_mfa_reset_confirm").click().run()
    assert not errors(admin), errors(admin)
    assert any("Second factor of reviewer reset" in s for s in _successes(admin))
    assert mfa.mfa_status(db, "reviewer") == mfa.MfaStatus(False, None, 0)
    assert any("Second factor: **not set up**" in t for t in texts(admin))
    ended = sessions.check(db, token, username="reviewer", key_id=KEY_ID)
    assert (ended.ok, ended.reason) == (False, "mfa_reset")
    with db.read() as s:
        reset = s.scalars(select(AuditEvent).where(AuditEvent.kind == "mfa.reset")).one()
    assert (reset.actor, reset.after) == ("admin", {"username": "reviewer"})


def test_the_sign_ins_tab_filters_by_user_and_outcome(db, database_url, monkeypatch):
    visitor = new_app(monkeypatch, database_url).run()
    submit_login(visitor, "reviewer", "not-the-password")
    submit_login(visitor, "ghost", "whatever-it-is")
    submit_login(visitor, "reviewer", PASSWORDS["reviewer"])
    admin = _users_page(monkeypatch, database_url, "Sign-ins")
    every = _frame(admin, "Event")
    assert list(every.columns) == ["When (UTC)", "User", "Event", "Outcome", "Method",
                                   "Client address", "By"]
    assert list(every["Event"])[:4] == ["Signed in with password", "Signed in with password",
                                        "Sign-in refused: unknown user",
                                        "Sign-in refused: wrong password"]
    assert list(every["User"])[:4] == ["admin", "reviewer", "ghost", "reviewer"]

    admin.text_input(key="si_user").input("reviewer").run()
    assert list(_frame(admin, "Event")["Event"]) == ["Signed in with password",
                                                      "Sign-in refused: wrong password"]
    admin.selectbox(key="si_outcome").set_value("failed").run()
    assert list(_frame(admin, "Event")["Event"]) == ["Sign-in refused: wrong password"]
    admin.text_input(key="si_user").input("").run()
    refused = _frame(admin, "Event")
    assert list(refused["User"]) == ["ghost", "reviewer"]
    assert list(refused["By"]) == ["anonymous", "reviewer"]
    admin.text_input(key="si_user").input("nobody").run()
    assert _frame(admin, "Event") is None
    assert any("No sign-in event matches" in t for t in texts(admin))


def test_the_sign_ins_tab_pages_to_older_events(db, database_url, monkeypatch):
    visitor = new_app(monkeypatch, database_url).run()
    for i in range(52):
        submit_login(visitor, f"nobody{i}", "whatever-it-is")
    admin = _users_page(monkeypatch, database_url, "Sign-ins")
    first = _frame(admin, "Event")
    assert len(first) == 50 and first["User"].iloc[0] == "admin"
    assert admin.button(key="si_newest").disabled
    admin.button(key="si_older").click().run()
    older = list(_frame(admin, "Event")["User"])
    assert older == ["nobody2", "nobody1", "nobody0"]  # 52 refusals and the admin's sign-in
    assert admin.button(key="si_older").disabled
    admin.button(key="si_newest").click().run()
    assert list(_frame(admin, "Event")["User"]) == list(first["User"])


def test_a_hostile_username_typed_at_sign_in_shows_as_text(db, database_url, monkeypatch):
    visitor = new_app(monkeypatch, database_url).run()
    submit_login(visitor, HOSTILE, "whatever-it-is")
    assert visitor.session_state["authentication_status"] is False
    admin = _users_page(monkeypatch, database_url, "Sign-ins")
    assert HOSTILE in list(_frame(admin, "Event")["User"])
    admin.text_input(key="si_user").input(HOSTILE).run()
    shown = _frame(admin, "Event")
    assert list(shown["User"]) == [HOSTILE]
    assert list(shown["Event"]) == ["Sign-in refused: unknown user"]
    # nowhere as Markdown or HTML: only in the table's cells (text) and the filter's field
    assert not any("<img" in t for t in texts(admin))
    assert not admin.get("html") or not any("<img" in str(h.proto) for h in admin.get("html"))
