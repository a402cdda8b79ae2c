"""The sign-in history read from the audit log: every kind in words, the outcome, user and
date filters (the user filter through the JSON `after.username`, on SQLite and PostgreSQL),
paging by id, and only for admins."""
from __future__ import annotations

import json
import time
from datetime import date, datetime

import pyotp
import pytest
from sqlalchemy import select, update

from core.errors import InvalidInput, NotAllowed, SignInRefused
from core.signin import mfa, sessions
from core.signin.history import KINDS, OUTCOMES, sign_in_events
from core.signin.password import sign_in_with_password
from core.store import audit
from core.store.models import AuditEvent, SignInSession
from tests.signin.conftest import CLIENT, KEY_ID, PASSWORD

HOSTILE = "<img src=x onerror=alert(1)>"


def _sign_in(db, username, password=PASSWORD):
    return sign_in_with_password(db, username, password, client=CLIENT, key_id=KEY_ID)


def _refused(db, username, password="not the password"):
    with pytest.raises(SignInRefused):
        _sign_in(db, username, password)


def _enrol(db, token):
    secret = mfa.begin_enrolment(db, token).secret
    return secret, mfa.confirm_enrolment(db, token, pyotp.TOTP(secret).now())


@pytest.fixture
def story(people):
    """rui signs in and fails once (typed " RUI"), a stranger and an attacker try, ada (an
    admin: a second factor is due) sets one up, uses a recovery code, an admin resets it,
    rui's session is ended by the admin and ana's goes idle."""
    rui = _sign_in(people, "rui")
    _refused(people, " RUI")
    _refused(people, "ghost")
    _refused(people, HOSTILE)
    ada = _sign_in(people, "ada")
    assert ada.next_step == "enrol"
    _secret, codes = _enrol(people, ada.token)
    again = _sign_in(people, "ada")
    assert mfa.verify_second_factor(people, again.token, codes[0]) == "recovery_code"
    mfa.reset_mfa(people, "ada", actor="admin")
    sessions.end_session(people, sessions.session_id(rui.token), actor="admin")
    ana = _sign_in(people, "ana")
    with people.unit_of_work() as s:
        s.execute(update(SignInSession).where(SignInSession.id == sessions.session_id(ana.token))
                  .values(last_seen_at=datetime(2000, 1, 1)))
    assert sessions.check(people, ana.token, username="ana", key_id=KEY_ID).reason == "idle"
    return people


def _all(db, **filters):
    return sign_in_events(db, actor="admin", limit=500, **filters)


def test_every_sign_in_event_newest_first_in_words(story):
    events = _all(story)
    assert [e.id for e in events] == sorted((e.id for e in events), reverse=True)
    assert all(e.kind in KINDS for e in events)
    sentences = [e.sentence for e in reversed(events)]
    assert sentences == [
        "Signed in with password",
        "Sign-in refused: wrong password",
        "Sign-in refused: unknown user",
        "Sign-in refused: unknown user",
        "Second factor set up",
        "Signed in with password, setting up a second factor",
        "Recovery code used (9 left)",
        "Signed in with password and a recovery code",
        "Session ended: second factor reset",   # ada's sessions end with the reset
        "Session ended: second factor reset",
        "Second factor reset by admin",
        "Session ended: ended by admin",
        "Signed in with password",
        "Session ended: idle",
    ]
    hostile = next(e for e in events if e.username == HOSTILE)
    assert (hostile.outcome, hostile.reason, hostile.method, hostile.by) == (
        "refused", "unknown_user", "password", "anonymous")
    assert hostile.client_addr == CLIENT.addr
    ended = next(e for e in events if e.reason == "ended_by_admin")
    assert (ended.username, ended.by, ended.outcome) == ("rui", "admin", "session ended")


def test_no_password_or_code_is_ever_recorded(story):
    with story.read() as s:
        stored = json.dumps([e.after for e in s.scalars(select(AuditEvent))])
    assert PASSWORD not in stored and "not the password" not in stored


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_the_outcome_filter_keeps_its_kinds(story, outcome):
    events = _all(story, outcome=outcome)
    assert events and {e.kind for e in events} <= set(OUTCOMES[outcome])
    assert len(events) == sum(e.kind in OUTCOMES[outcome] for e in _all(story))


def test_a_lockout_is_a_failure(people):
    for _ in range(5):
        _refused(people, "rui")
    failed = _all(people, outcome="failed")
    # the fifth wrong password locks the account, then its refusal is written
    assert [e.sentence for e in failed][:2] == ["Sign-in refused: wrong password",
                                                "Account locked after repeated failed sign-ins"]
    assert (failed[1].outcome, failed[1].username, failed[1].by) == ("locked", "rui", "rui")
    assert len(failed) == 6


def test_the_user_filter_finds_their_events_and_not_what_they_did_to_others(story):
    rui = _all(story, username="rui")
    assert [e.sentence for e in reversed(rui)] == [
        "Signed in with password", "Sign-in refused: wrong password",
        "Session ended: ended by admin"]
    assert rui[1].username == " RUI"  # recorded as typed, found through the actor
    assert {e.username.strip().lower() for e in rui} == {"rui"}
    assert [e.id for e in _all(story, username="  RUI ")] == [e.id for e in rui]
    # the admin who reset ada's factor and ended rui's session did nothing to themself
    assert _all(story, username="admin") == []
    ada = _all(story, username="ada")
    assert "Second factor reset by admin" in [e.sentence for e in ada]
    assert all(e.username == "ada" for e in ada)


def test_the_user_filter_finds_names_nobody_has(story):
    ghost = _all(story, username="Ghost")
    assert [(e.username, e.by, e.reason) for e in ghost] == [("ghost", "anonymous",
                                                              "unknown_user")]
    assert [e.username for e in _all(story, username=HOSTILE)] == [HOSTILE]
    assert _all(story, username="nobody-at-all") == []
    assert _all(story, username="%") == []  # no pattern: the name is compared whole


def test_filters_combine(story):
    assert [e.sentence for e in _all(story, username="ada", outcome="mfa")] == [
        "Second factor reset by admin", "Recovery code used (9 left)",
        "Second factor set up"]
    assert [e.reason for e in _all(story, username="ana", outcome="session")] == ["idle"]


def test_paging_by_id_walks_every_event_once(story):
    every = _all(story)
    seen, before = [], None
    while True:
        page = sign_in_events(story, actor="admin", before_id=before, limit=3)
        if not page:
            break
        assert len(page) <= 3
        seen += page
        before = page[-1].id
    assert [e.id for e in seen] == [e.id for e in every]
    page = sign_in_events(story, actor="admin", outcome="failed", before_id=every[0].id, limit=2)
    assert [e.id for e in page] == [e.id for e in _all(story, outcome="failed")][:2]


def test_the_date_range_bounds_the_events(people):
    _sign_in(people, "rui")
    _refused(people, "rui")
    _sign_in(people, "ana")
    first, second, third = reversed(_all(people))
    with people.unit_of_work() as s:
        for event, day in ((first, datetime(2024, 3, 1, 9)), (second, datetime(2024, 3, 2, 23, 59)),
                           (third, datetime(2024, 3, 3, 0, 0))):
            s.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(at=day))
    def ids(**filters):
        return [e.id for e in _all(people, **filters)]
    assert ids(since=date(2024, 3, 2)) == [third.id, second.id]
    assert ids(until=date(2024, 3, 2)) == [second.id, first.id]       # the whole day
    assert ids(since=date(2024, 3, 2), until=date(2024, 3, 2)) == [second.id]
    assert ids(until=datetime(2024, 3, 2, 23, 59)) == [second.id, first.id]
    assert ids(since=date(2024, 3, 4)) == []


def test_other_audit_events_are_not_sign_in_events(people):
    with people.unit_of_work() as s:
        audit.record(s, case_id=None, actor="rui", kind="user.password_set",
                     after={"username": "rui"})
        audit.record(s, case_id="C-1", actor="rui", kind="case.approved", after={})
    assert _all(people) == [] and _all(people, username="rui") == []


def test_only_admins_read_the_history(story):
    for who in ("rui", "leo", "ana"):
        with pytest.raises(NotAllowed):
            sign_in_events(story, actor=who)
    with pytest.raises(InvalidInput, match="outcome"):
        sign_in_events(story, actor="admin", outcome="everything")


def test_a_wrong_second_step_code_is_a_failure_at_the_second_step(people):
    ada = _sign_in(people, "ada")
    secret, _codes = _enrol(people, ada.token)
    again = _sign_in(people, "ada")
    current = {pyotp.TOTP(secret).at(time.time() + d) for d in (-30, 0, 30)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333") if c not in current)
    with pytest.raises(SignInRefused):
        mfa.verify_second_factor(people, again.token, wrong)
    failed = _all(people, outcome="failed", username="ada")
    assert [(e.sentence, e.by, e.reason) for e in failed] == [
        ("Sign-in refused: wrong code (second step)", "ada", "wrong_code")]
