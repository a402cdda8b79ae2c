"""The second factor in core: who needs it, setting it up, codes accepted once, recovery
codes used once, wrong codes locking the account, an admin's reset — each audited."""
from __future__ import annotations

import time

import pyotp
import pytest
from sqlalchemy import select, update

from core.errors import InvalidInput, NotAllowed, SignInRefused
from core.settings_store import set_setting
from core.signin import mfa, sessions
from core.signin.password import sign_in_with_password
from core.store.models import AuditEvent, RecoveryCode, User
from tests.signin.conftest import CLIENT, KEY_ID, PASSWORD


def _password(db, username):
    return sign_in_with_password(db, username, PASSWORD, client=CLIENT, key_id=KEY_ID)


def _enrolled(db, username) -> tuple[str, list[str]]:
    """Signs in, sets the second factor up; returns the secret and the recovery codes."""
    start = _password(db, username)
    assert start.next_step == "enrol"
    secret = mfa.begin_enrolment(db, start.token).secret
    used = pyotp.TOTP(secret).now()
    codes = mfa.confirm_enrolment(db, start.token, used)
    db.enrolment_code = used  # the code that set it up (already accepted once)
    return secret, codes


def _kinds(db, kind_prefix):
    with db.read() as s:
        return [(e.kind, e.after) for e in s.scalars(select(AuditEvent).where(
            AuditEvent.kind.like(kind_prefix + "%")).order_by(AuditEvent.id))]


@pytest.mark.parametrize("setting, needs", [
    ("admins_and_leads", {"ada": "enrol", "leo": "enrol", "rui": "", "ana": ""}),
    ("everyone", {"ada": "enrol", "leo": "enrol", "rui": "enrol", "ana": "enrol"}),
    ("off", {"ada": "", "leo": "", "rui": "", "ana": ""})])
def test_who_must_set_up_a_second_factor(people, setting, needs):
    set_setting(people, "signin.mfa_required", setting, actor="system")
    assert {u: _password(people, u).next_step for u in needs} == needs


def test_demo_accounts_in_demo_mode_need_none(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MODE", "on")
    assert sign_in_with_password(db, "admin", "demo-admin-pass", client=CLIENT,
                                 key_id=KEY_ID).next_step == ""
    monkeypatch.setenv("DOCKET_DEMO_MODE", "off")  # the same account outside demo mode does
    assert sign_in_with_password(db, "admin", "demo-admin-pass", client=CLIENT,
                                 key_id=KEY_ID).next_step == "enrol"


def test_enrolment_gives_a_scannable_secret_and_ten_codes_shown_once(people):
    start = _password(people, "leo")
    enrolment = mfa.begin_enrolment(people, start.token)
    assert enrolment.uri.startswith("otpauth://totp/Docket:leo?secret=" + enrolment.secret)
    assert enrolment.qr_png.startswith(b"\x89PNG")
    assert mfa.begin_enrolment(people, start.token).secret == enrolment.secret  # same on rerun
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "enrol"
    codes = mfa.confirm_enrolment(people, start.token, pyotp.TOTP(enrolment.secret).now())
    assert len(codes) == 10 == len(set(codes))
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "active"
    with people.read() as s:
        stored = list(s.scalars(select(RecoveryCode.code_hash)))
        assert s.get(User, "leo").mfa_enrolled_at is not None
    assert not any(c.replace("-", "") in h for c in codes for h in stored)  # only digests
    assert [k for k, _ in _kinds(people, "mfa.")] == ["mfa.enrolled"]
    assert _kinds(people, "signin.succeeded")[-1][1]["mfa"] == "enrolled"
    with pytest.raises(NotAllowed, match="already set up"):
        mfa.begin_enrolment(people, start.token)


def test_a_wrong_enrolment_code_sets_nothing_up(people):
    start = _password(people, "ada")
    mfa.begin_enrolment(people, start.token)
    with pytest.raises(SignInRefused) as e:
        mfa.confirm_enrolment(people, start.token, "000000")
    assert e.value.reason == "wrong_code"
    with people.read() as s:
        assert s.get(User, "ada").mfa_secret is None
        assert s.scalar(select(RecoveryCode.id)) is None
    assert sessions.check(people, start.token, username="ada", key_id=KEY_ID).state == "enrol"


def test_the_next_sign_in_asks_for_a_code_and_takes_each_code_once(people):
    secret, _ = _enrolled(people, "leo")
    start = _password(people, "leo")
    assert start.next_step == "mfa"
    code = people.enrolment_code
    with pytest.raises(SignInRefused) as replay:  # the enrolment's code, seen over a shoulder
        mfa.verify_second_factor(people, start.token, code)
    assert replay.value.reason == "replayed_code"
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "mfa"
    # the next time step's code (the phone's clock a little ahead) is accepted, then not again
    ahead = pyotp.TOTP(secret).at(time.time() + 30)
    assert mfa.verify_second_factor(people, start.token, ahead) == "totp"
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "active"
    again = _password(people, "leo")
    with pytest.raises(SignInRefused, match="already used"):
        mfa.verify_second_factor(people, again.token, ahead)
    assert _kinds(people, "signin.succeeded")[-1][1]["mfa"] == "totp"


def test_a_code_two_steps_old_is_refused(people):
    secret, _ = _enrolled(people, "leo")
    start = _password(people, "leo")
    with pytest.raises(SignInRefused) as e:
        mfa.verify_second_factor(people, start.token, pyotp.TOTP(secret).at(time.time() - 61))
    assert e.value.reason in ("wrong_code", "replayed_code")


def test_a_recovery_code_works_once(people):
    _, codes = _enrolled(people, "ada")
    first = _password(people, "ada")
    assert mfa.verify_second_factor(people, first.token, " " + codes[3].upper() + " ") == \
        "recovery_code"
    assert mfa.mfa_status(people, "ada").recovery_codes_left == 9
    second = _password(people, "ada")
    with pytest.raises(SignInRefused) as e:
        mfa.verify_second_factor(people, second.token, codes[3])
    assert e.value.reason == "wrong_code"
    assert _kinds(people, "mfa.recovery_code_used")[-1][1] == {"username": "ada", "codes_left": 9}


def test_five_wrong_codes_lock_the_account_and_end_the_attempt(people):
    secret, _ = _enrolled(people, "leo")
    start = _password(people, "leo")
    for _ in range(4):
        with pytest.raises(SignInRefused) as e:
            mfa.verify_second_factor(people, start.token, "000000")
        assert e.value.reason == "wrong_code"
    with pytest.raises(SignInRefused) as e:
        mfa.verify_second_factor(people, start.token, "000000")
    assert e.value.reason == "locked"
    check = sessions.check(people, start.token, username="leo", key_id=KEY_ID)
    assert (check.ok, check.reason) == (False, "locked")
    with pytest.raises(SignInRefused) as e:  # the right password is refused too, for now
        _password(people, "leo")
    assert e.value.reason == "locked"
    failed = [a for k, a in _kinds(people, "signin.failed")]
    assert [a["reason"] for a in failed] == ["wrong_code"] * 5 + ["locked"]
    assert not any(secret in str(a) or "000000" in str(a) for a in failed)  # no code logged


def test_wrong_passwords_and_wrong_codes_share_the_lockout(people):
    _enrolled(people, "leo")
    for _ in range(3):
        with pytest.raises(SignInRefused):
            sign_in_with_password(people, "leo", "not the password!", client=CLIENT,
                                  key_id=KEY_ID)
    start = _password(people, "leo")  # a right password does not reset it: failed_logins 0
    for _ in range(4):
        with pytest.raises(SignInRefused):
            mfa.verify_second_factor(people, start.token, "111111")
    with people.read() as s:
        assert s.get(User, "leo").failed_logins == 4


@pytest.mark.parametrize("code", ["1" * 33, "12345", "1234567", "abc", "", "١٢٣٤٥٦"])
def test_malformed_and_over_long_codes_are_refused(people, code):
    secret, _ = _enrolled(people, "leo")
    start = _password(people, "leo")
    with pytest.raises(SignInRefused):
        mfa.verify_second_factor(people, start.token, code)
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "mfa"


def test_a_code_step_cannot_be_skipped(people):
    _enrolled(people, "leo")
    start = _password(people, "leo")
    with pytest.raises(NotAllowed):  # recovery codes are renewed from a signed-in session only
        mfa.renew_recovery_codes(people, start.token, "123456")
    assert sessions.check(people, start.token, username="leo", key_id=KEY_ID).state == "mfa"


def test_an_admin_reset_makes_the_user_enrol_again(people):
    secret, _ = _enrolled(people, "leo")
    signed_in = _password(people, "leo")
    mfa.verify_second_factor(people, signed_in.token, pyotp.TOTP(secret).at(time.time() + 30))
    with pytest.raises(NotAllowed):
        mfa.reset_mfa(people, "leo", actor="rui")
    mfa.reset_mfa(people, "leo", actor="ada")
    assert sessions.check(people, signed_in.token, username="leo",
                          key_id=KEY_ID).reason == "mfa_reset"
    assert mfa.mfa_status(people, "leo") == mfa.MfaStatus(False, None, 0)
    assert _password(people, "leo").next_step == "enrol"
    assert _kinds(people, "mfa.reset")[-1][1] == {"username": "leo"}
    with pytest.raises(InvalidInput):
        mfa.reset_mfa(people, "ana", actor="ada")  # nothing to reset


def test_new_recovery_codes_replace_the_old_ones(people):
    secret, old = _enrolled(people, "ada")
    start = _password(people, "ada")
    mfa.verify_second_factor(people, start.token, old[0])
    with pytest.raises(SignInRefused):
        mfa.renew_recovery_codes(people, start.token, "000000")
    new = mfa.renew_recovery_codes(people, start.token, pyotp.TOTP(secret).at(time.time() + 30))
    assert len(new) == 10 and not set(new) & set(old)
    later = _password(people, "ada")
    with pytest.raises(SignInRefused):
        mfa.verify_second_factor(people, later.token, old[1])
    assert mfa.verify_second_factor(people, later.token, new[0]) == "recovery_code"


def test_a_user_without_a_required_factor_may_set_one_up(people):
    start = _password(people, "rui")  # a reviewer: not required, signed in at once
    assert start.next_step == ""
    secret = mfa.begin_enrolment(people, start.token).secret
    mfa.confirm_enrolment(people, start.token, pyotp.TOTP(secret).now())
    assert _password(people, "rui").next_step == "mfa"  # asked from then on


def test_a_locked_account_cannot_confirm_an_enrolment(people):
    start = _password(people, "ada")
    secret = mfa.begin_enrolment(people, start.token).secret
    from datetime import timedelta

    from core.store.models import utcnow
    with people.unit_of_work() as s:
        s.execute(update(User).where(User.username == "ada")
                  .values(locked_until=utcnow() + timedelta(minutes=5)))
    with pytest.raises(SignInRefused) as e:
        mfa.confirm_enrolment(people, start.token, pyotp.TOTP(secret).now())
    assert e.value.reason == "locked"
