"""Server-side sessions: opened at sign-in, checked on every run, ended for each reason (and
audited), listed and ended by an admin — across processes, since the row is the truth."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.access.users import set_disabled
from core.errors import NotAllowed, NotFound
from core.settings_store import set_setting
from core.signin import sessions
from core.signin.password import sign_in_with_password
from core.store.models import AuditEvent, SignInSession, utcnow
from tests.signin.conftest import CLIENT, KEY_ID, PASSWORD


def _sign_in(db, username="rui"):
    return sign_in_with_password(db, username, PASSWORD, client=CLIENT, key_id=KEY_ID)


def _age(db, token, *, idle=timedelta(0), started=timedelta(0)):
    with db.unit_of_work() as s:
        s.execute(update(SignInSession).where(SignInSession.id == sessions.session_id(token))
                  .values(last_seen_at=utcnow() - idle, started_at=utcnow() - started))


def _ended_events(db):
    with db.read() as s:
        return [e.after for e in s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "session.ended").order_by(AuditEvent.id))]


def test_a_sign_in_opens_a_session_that_records_where_it_came_from(people):
    start = _sign_in(people)
    assert start.next_step == ""
    with people.read() as s:
        row = s.get(SignInSession, sessions.session_id(start.token))
    assert (row.username, row.method, row.state) == ("rui", "password", "active")
    assert (row.client_addr, row.user_agent, row.key_id) == (CLIENT.addr, CLIENT.agent, KEY_ID)
    assert start.token not in row.id  # only the digest is stored
    check = sessions.check(people, start.token, username="rui", key_id=KEY_ID)
    assert check.ok and check.state == "active"


@pytest.mark.parametrize("token", [None, "", "x" * 201, "not-a-session"])
def test_a_missing_or_unknown_token_is_no_session(people, token):
    check = sessions.check(people, token, username="rui", key_id=KEY_ID)
    assert not check.ok and check.reason == "unknown"


def test_a_token_for_another_user_is_refused(people):
    start = _sign_in(people)
    assert sessions.check(people, start.token, username="ana", key_id=KEY_ID).reason == "unknown"
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).ok  # untouched


def test_idle_too_long_ends_the_session_with_the_reason_said(people):
    set_setting(people, "signin.idle_minutes", "5", actor="system")
    start = _sign_in(people)
    _age(people, start.token, idle=timedelta(minutes=4))
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).ok
    _age(people, start.token, idle=timedelta(minutes=5, seconds=1))
    check = sessions.check(people, start.token, username="rui", key_id=KEY_ID)
    assert not check.ok and check.reason == "idle"
    assert check.message == "You were signed out after 5 minutes without activity."
    # and it stays ended, even if it were touched again
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).reason == "idle"
    assert _ended_events(people)[-1] | {"session": "?"} == {
        "username": "rui", "session": "?", "reason": "idle", "by": "system", "method": "password"}


def test_an_action_resets_the_idle_clock_but_a_background_check_does_not(people):
    set_setting(people, "signin.idle_minutes", "5", actor="system")
    start = _sign_in(people)
    _age(people, start.token, idle=timedelta(minutes=4))
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID, touch=False).ok
    with people.read() as s:
        seen = s.get(SignInSession, sessions.session_id(start.token)).last_seen_at
    assert utcnow() - seen > timedelta(minutes=3)      # a background check is no activity
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).ok
    with people.read() as s:
        seen = s.get(SignInSession, sessions.session_id(start.token)).last_seen_at
    assert utcnow() - seen < timedelta(seconds=5)      # an action is


def test_the_lifetime_ends_even_an_active_session(people):
    set_setting(people, "signin.lifetime_hours", "1", actor="system")
    start = _sign_in(people)
    _age(people, start.token, started=timedelta(hours=1, seconds=1))
    check = sessions.check(people, start.token, username="rui", key_id=KEY_ID)
    assert (check.ok, check.reason) == (False, "lifetime")
    assert check.message == ("Your session ended after 1 hour, the longest a session lasts; "
                             "sign in again.")


def test_a_disabled_user_is_signed_out_at_the_next_check(people):
    start = _sign_in(people)
    set_disabled(people, "rui", True)
    check = sessions.check(people, start.token, username="rui", key_id=KEY_ID)
    assert (check.ok, check.reason) == (False, "disabled")
    assert "disabled" in check.message


def test_another_cookie_key_ends_the_session_and_a_restart_ends_them_all(people):
    first, second = _sign_in(people), _sign_in(people, "ana")
    assert sessions.check(people, first.token, username="rui", key_id="other-key").reason == \
        "key_rotated"
    assert sessions.end_sessions_of_other_keys(people, "new-key-000000") == 1  # ana's
    assert sessions.check(people, second.token, username="ana", key_id=KEY_ID).reason == \
        "key_rotated"
    assert sessions.end_sessions_of_other_keys(people, "new-key-000000") == 0


def test_sign_out_ends_only_this_session(people):
    one, two = _sign_in(people), _sign_in(people)
    sessions.sign_out(people, one.token)
    assert sessions.check(people, one.token, username="rui", key_id=KEY_ID).reason == "signed_out"
    assert sessions.check(people, two.token, username="rui", key_id=KEY_ID).ok


def test_sign_out_everywhere_keeps_the_browser_asking_when_told(people):
    one, two, other = _sign_in(people), _sign_in(people), _sign_in(people, "ana")
    assert sessions.sign_out_everywhere(people, "rui", actor="rui", keep_token=one.token) == 1
    assert sessions.check(people, one.token, username="rui", key_id=KEY_ID).ok
    assert sessions.check(people, two.token, username="rui",
                          key_id=KEY_ID).reason == "signed_out_everywhere"
    assert sessions.check(people, other.token, username="ana", key_id=KEY_ID).ok
    assert sessions.sign_out_everywhere(people, "rui", actor="ada") == 1  # an admin: all
    assert sessions.check(people, one.token, username="rui",
                          key_id=KEY_ID).reason == "ended_by_admin"


def test_only_an_admin_ends_someone_elses_sessions(people):
    start = _sign_in(people)
    with pytest.raises(NotAllowed):
        sessions.sign_out_everywhere(people, "rui", actor="leo")
    with pytest.raises(NotAllowed):
        sessions.end_session(people, sessions.session_id(start.token), actor="rui")
    with pytest.raises(NotAllowed):
        sessions.list_open(people, actor="leo")
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).ok


def test_an_admin_lists_open_sessions_and_ends_one(people):
    mine, theirs = _sign_in(people, "ada"), _sign_in(people)
    listed = sessions.list_open(people, actor="ada")
    assert {s.username for s in listed} == {"ada", "rui"}
    target = next(s for s in listed if s.username == "rui")
    assert (target.client_addr, target.user_agent) == (CLIENT.addr, CLIENT.agent)
    sessions.end_session(people, target.id, actor="ada")
    check = sessions.check(people, theirs.token, username="rui", key_id=KEY_ID)
    assert (check.reason, check.message) == ("ended_by_admin",
                                             "An admin ended your session; sign in again.")
    assert [s.username for s in sessions.list_open(people, actor="ada")] == ["ada"]
    assert _ended_events(people)[-1]["by"] == "ada"
    with pytest.raises(NotAllowed):
        sessions.end_session(people, target.id, actor="ada")  # already ended
    with pytest.raises(NotFound):
        sessions.end_session(people, "0" * 64, actor="ada")
    assert sessions.check(people, mine.token, username="ada", key_id=KEY_ID).ok


def test_an_idle_session_is_not_listed_as_open(people):
    set_setting(people, "signin.idle_minutes", "5", actor="system")
    start = _sign_in(people)
    _age(people, start.token, idle=timedelta(minutes=6))
    assert sessions.list_open(people, actor="ada") == []


def test_a_session_ended_in_one_process_is_ended_for_another(people, database_url):
    """Two app processes share only the database: a second Database object stands in for
    the second server."""
    from core.store.db import Database
    start = _sign_in(people)
    other_server = Database(database_url)
    try:
        assert sessions.check(other_server, start.token, username="rui", key_id=KEY_ID).ok
        sessions.sign_out_everywhere(people, "rui", actor="ada")
        assert sessions.check(other_server, start.token, username="rui",
                              key_id=KEY_ID).reason == "ended_by_admin"
    finally:
        other_server.dispose()


@pytest.mark.parametrize("key, bad", [("signin.idle_minutes", "0"),
                                      ("signin.idle_minutes", "abc"),
                                      ("signin.idle_minutes", "nan"),
                                      ("signin.lifetime_hours", "721"),
                                      ("signin.mfa_required", "sometimes"),
                                      ("sso.only", "yes")])
def test_a_bad_sign_in_setting_is_refused_and_nothing_changes(people, key, bad):
    from core.errors import InvalidInput
    from core.signin.policy import read_policy
    before = read_policy(people)
    with pytest.raises(InvalidInput, match=key):
        set_setting(people, key, bad, actor="system")
    assert read_policy(people) == before
