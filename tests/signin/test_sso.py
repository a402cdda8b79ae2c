"""Single sign-on (core/signin/sso.py): the ID token's claims sign a Docket user in only with a
verified email naming one enabled user (or an allowed domain), only when fresh and only once;
groups set the role (never demoting the last admin); every outcome is audited."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import bcrypt
import pytest
from sqlalchemy import func, select

from core.access.users import USERNAME, add_user, get_user, set_disabled, verify_login
from core.errors import SignInRefused
from core.settings_store import set_settings
from core.signin import sessions, sso
from core.signin.sso import FRESH_FOR, claims_ref, sign_in_with_sso
from core.store import audit
from core.store.models import AuditEvent, SignInSession, User, utcnow
from tests.signin.conftest import CLIENT, KEY_ID, PASSWORD

ISSUER = "https://idp.example.test"
_subjects = iter(range(1, 1_000_000))


def _claims(email="rui@example.test", **extra):
    claims = {"iss": ISSUER, "sub": f"subject-{next(_subjects)}", "aud": "docket",
              "iat": int(time.time()), "exp": int(time.time()) + 300, "nonce": "n-0S6_WzA2Mj",
              "email": email, "email_verified": True, "name": "From The Provider"}
    claims.update(extra)
    return {k: v for k, v in claims.items() if v is not None}


def _sso(db, claims, provider="okta"):
    return sign_in_with_sso(db, claims, provider=provider, client=CLIENT, key_id=KEY_ID,
                            display_name="Okta")


def _refused(db, claims) -> SignInRefused:
    with pytest.raises(SignInRefused) as e:
        _sso(db, claims)
    return e.value


def _events(db, kind):
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                              .order_by(AuditEvent.id)))


def _user_count(db):
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(User))


def _policy(db, **values):
    set_settings(db, {f"sso.{k}": v for k, v in values.items()}, actor="system")


# --- the happy path ---------------------------------------------------------------------------

def test_a_verified_email_signs_its_user_in_with_an_active_sso_session(people):
    claims = _claims(email="Rui@EXAMPLE.test")  # the email matches whatever its case
    start = _sso(people, claims)
    assert (start.user.username, start.user.role, start.next_step) == ("rui", "reviewer", "")
    with people.read() as s:
        row = s.get(SignInSession, sessions.session_id(start.token))
    assert (row.username, row.method, row.state) == ("rui", "sso", "active")
    assert sessions.check(people, start.token, username="rui", key_id=KEY_ID).ok
    event = _events(people, "signin.succeeded")[-1]
    assert event.actor == "rui"
    assert event.after == {"username": "rui", "method": "sso", "provider": "okta",
                           "mfa": "provider", "sso_ref": claims_ref("okta", claims),
                           "client_addr": CLIENT.addr}
    assert claims["sub"] not in str(event.after) and claims["nonce"] not in str(event.after)


def test_sso_only_does_not_stop_sso(people):
    _policy(people, only="on", break_glass_admin="ada")
    assert _sso(people, _claims()).user.username == "rui"


@pytest.mark.parametrize("verified", [{"email_verified": "true"}, {"email_verified": None,
                                                                    "xms_edov": True}])
def test_verified_as_a_string_or_by_entra_ids_xms_edov(people, verified):
    assert _sso(people, _claims(**verified)).user.username == "rui"


# --- refusals, each audited with its reason ------------------------------------------------------

AGO_BEYOND_FRESH, IN_TEN_MINUTES = "<iat: older than fresh>", "<iat: 10 minutes ahead>"


@pytest.mark.parametrize("extra, reason", [
    ({"email_verified": None}, "sso_unverified_email"),       # no claim: not verified
    ({"email_verified": False}, "sso_unverified_email"),
    ({"email_verified": "false"}, "sso_unverified_email"),
    ({"email_verified": 1}, "sso_unverified_email"),
    ({"email": None}, "sso_no_email"),
    ({"email": ""}, "sso_no_email"),
    ({"email": "rui"}, "sso_no_email"),
    ({"email": ["rui@example.test"]}, "sso_no_email"),
    ({"email": "r" * 250 + "@example.test"}, "sso_no_email"),
    ({"sub": None}, "sso_invalid_claims"),
    ({"iat": None}, "sso_invalid_claims"),
    ({"iat": "1700000000"}, "sso_invalid_claims"),
    ({"iat": True}, "sso_invalid_claims"),
    ({"iat": 10 ** 20}, "sso_invalid_claims"),
    ({"iat": AGO_BEYOND_FRESH}, "sso_stale"),
    ({"iat": IN_TEN_MINUTES}, "sso_stale"),                   # from the future
])
def test_claims_that_cannot_be_trusted_are_refused_and_audited(people, extra, reason):
    # times relative to when the test runs, not to when it was collected (a long suite)
    relative = {AGO_BEYOND_FRESH: int(time.time() - FRESH_FOR.total_seconds() - 60),
                IN_TEN_MINUTES: int(time.time() + 600)}
    extra = {k: relative.get(v, v) if isinstance(v, str) else v for k, v in extra.items()}
    error = _refused(people, _claims(**extra))
    assert error.reason == reason
    event = _events(people, "signin.failed")[-1]
    assert event.after["reason"] == reason and event.after["method"] == "sso"
    with people.read() as s:
        assert s.scalar(select(func.count()).select_from(SignInSession)) == 0


def test_the_unverified_message_names_the_provider_and_the_email(people):
    error = _refused(people, _claims(email_verified=None))
    assert "Okta did not confirm that rui@example.test is verified" in str(error)


def test_an_unknown_email_is_refused_with_a_clear_message_and_no_account(people):
    users = _user_count(people)
    error = _refused(people, _claims(email="x@y.test"))
    assert error.reason == "sso_unknown_user"
    assert str(error) == "No Docket account uses the email x@y.test; ask an admin to add you."
    assert _user_count(people) == users
    event = _events(people, "signin.failed")[-1]
    assert (event.actor, event.after["username"], event.after["reason"]) == (
        "anonymous", "x@y.test", "sso_unknown_user")


def test_a_disabled_user_is_refused_whatever_the_provider_says(people):
    _policy(people, groups_claim="groups", group_roles="docket-admins=admin")
    set_disabled(people, "rui", True, actor="system")
    error = _refused(people, _claims(groups=["docket-admins"]))
    assert error.reason == "disabled" and "disabled" in str(error)
    assert get_user(people, "rui").role == "reviewer"  # and nothing changed
    event = _events(people, "signin.failed")[-1]
    assert (event.actor, event.after["reason"]) == ("rui", "disabled")


def test_two_accounts_with_one_email_are_refused(people):
    add_user(people, "rui2", "Rui Again", "admin", PASSWORD, email="RUI@example.test")
    assert _refused(people, _claims()).reason == "sso_ambiguous_email"


# --- once, and fresh ---------------------------------------------------------------------------

def test_the_same_claims_sign_in_once(people):
    claims = _claims()
    _sso(people, claims)
    error = _refused(people, dict(claims))
    assert error.reason == "sso_replayed"
    assert "Sign in with Okta again" in str(error)
    # a new round trip (a new iat) signs in again
    assert _sso(people, {**claims, "iat": claims["iat"] + 1}).user.username == "rui"


def test_the_same_claims_from_another_provider_name_are_another_sign_in(people):
    claims = _claims()
    _sso(people, claims, provider="okta")
    assert _sso(people, dict(claims), provider="entra").user.username == "rui"


def test_a_reuse_is_found_behind_many_later_sign_ins(people):
    claims = _claims()
    _sso(people, claims)
    with people.unit_of_work() as s:  # 450 sign-ins of others since: more than one page
        audit.record_many(s, [{"case_id": None, "actor": "ana", "kind": "signin.succeeded",
                               "after": {"username": "ana", "method": "password"}}] * 450)
    assert _refused(people, dict(claims)).reason == "sso_replayed"


def test_claims_kept_past_their_freshness_are_refused_as_stale(people, monkeypatch):
    """Streamlit keeps the claims in its identity cookie for 30 days: after the ten minutes
    they are refused, used or not."""
    claims = _claims()
    _sso(people, claims)
    later = utcnow() + FRESH_FOR + timedelta(seconds=1)
    monkeypatch.setattr(sso, "utcnow", lambda: later)
    assert _refused(people, dict(claims)).reason == "sso_stale"
    assert _refused(people, _claims()).reason == "sso_stale"  # never used: stale all the same


def test_two_sign_ins_with_the_same_claims_at_once_open_one_session(people):
    claims = _claims()
    outcomes, barrier = [], threading.Barrier(2)

    def attempt():
        barrier.wait()
        try:
            outcomes.append(_sso(people, dict(claims)).user.username)
        except SignInRefused as e:
            outcomes.append(e.reason)

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["rui", "sso_replayed"]


# --- accounts made on first sign-in ------------------------------------------------------------

def test_an_allowed_domain_makes_an_analyst_account_nobody_can_password_into(people):
    _policy(people, allowed_domains="allowed.test, other.test")
    start = _sso(people, _claims(email="Newbie@Allowed.test", name="New Person"))
    user = get_user(people, start.user.username)
    assert (user.username, user.name, user.email, user.role, user.disabled) == (
        "newbie", "New Person", "Newbie@Allowed.test", "analyst", False)
    added = _events(people, "user.added")[-1]
    assert (added.actor, added.via) == ("system", "sso")
    assert added.after == {"username": "newbie", "role": "analyst",
                           "email": "Newbie@Allowed.test", "provider": "okta"}
    with people.read() as s:
        stored = s.get(User, "newbie").password_hash
    assert stored.startswith("$2")  # a real bcrypt hash of a random password
    for guess in ("", "newbie", PASSWORD):
        assert not bcrypt.checkpw(guess.encode(), stored.encode())
    with pytest.raises(SignInRefused):
        verify_login(people, "newbie", "")
    # the next sign-in finds the account by its email, and makes no other
    users = _user_count(people)
    assert _sso(people, _claims(email="newbie@allowed.test")).user.username == "newbie"
    assert _user_count(people) == users


def test_only_the_exact_domain_is_allowed(people):
    _policy(people, allowed_domains="allowed.test")
    assert _refused(people, _claims(email="eve@sub.allowed.test")).reason == "sso_unknown_user"
    assert _refused(people, _claims(email="eve@allowed.test.evil")).reason == "sso_unknown_user"


def test_the_default_role_setting_gives_the_new_accounts_role(people):
    _policy(people, allowed_domains="allowed.test", default_role="reviewer")
    assert _sso(people, _claims(email="newbie@allowed.test")).user.role == "reviewer"


@pytest.mark.parametrize("email, username", [
    ("rui@allowed.test", "rui2"),                          # taken: numbered
    ("Zoë.O'Brien+docket@allowed.test", "zoe.o-brien-docket"),
    ("张伟@allowed.test", "user"),                          # nothing ASCII left
    ("z@allowed.test", "z-user"),                          # too short for a username
    ("-._x@allowed.test", "x-user"),
    ("a" * 80 + "@allowed.test", "a" * 56),
])
def test_usernames_are_made_from_the_local_part(people, email, username):
    _policy(people, allowed_domains="allowed.test")
    start = _sso(people, _claims(email=email))
    assert start.user.username == username and USERNAME.match(username)


# --- roles from groups ---------------------------------------------------------------------------

def test_groups_give_a_new_account_its_role(people):
    _policy(people, allowed_domains="allowed.test", groups_claim="groups",
            group_roles="docket-leads=lead,docket-reviewers=reviewer")
    start = _sso(people, _claims(email="lead.person@allowed.test",
                                 groups=["staff", "docket-reviewers", "docket-leads"]))
    assert start.user.role == "lead"  # the highest wins


@pytest.mark.parametrize("groups, role", [
    (["docket-leads"], "lead"),
    ("docket-leads", "lead"),                  # one group as a string
    (["docket-analysts"], "analyst"),          # a lower mapped role applies too
    (["staff"], "reviewer"),                   # nothing mapped: unchanged
    ([], "reviewer"),
    (None, "reviewer"),                        # no claim: unchanged
    ({"docket-leads": True}, "reviewer"),      # not a list: ignored
])
def test_groups_set_the_role_at_each_sign_in(people, groups, role):
    _policy(people, groups_claim="groups",
            group_roles="docket-leads=lead,docket-analysts=analyst")
    start = _sso(people, _claims(groups=groups))
    assert start.user.role == role and get_user(people, "rui").role == role
    changes = _events(people, "user.role_changed")
    if role == "reviewer":
        assert changes == []
    else:
        assert (changes[-1].actor, changes[-1].via) == ("system", "sso")
        assert (changes[-1].before, changes[-1].after) == (
            {"username": "rui", "role": "reviewer"},
            {"username": "rui", "role": role, "provider": "okta"})


def test_without_a_groups_claim_setting_groups_are_ignored(people):
    _policy(people, group_roles="docket-leads=lead")
    assert _sso(people, _claims(groups=["docket-leads"])).user.role == "reviewer"


def test_the_last_active_admin_is_not_demoted_and_the_skip_is_audited(people):
    set_disabled(people, "admin", True, actor="system")  # the demo admin: ada is the last one
    _policy(people, groups_claim="groups", group_roles="docket-staff=analyst")
    start = _sso(people, _claims(email="ada@example.test", groups=["docket-staff"]))
    assert start.user.role == "admin" and get_user(people, "ada").role == "admin"
    skipped = _events(people, "user.role_change_skipped")[-1]
    assert skipped.after == {"username": "ada", "role": "admin", "wanted": "analyst",
                             "reason": "last_admin", "provider": "okta"}
    assert _events(people, "user.role_changed") == []


def test_an_admin_with_another_active_admin_is_demoted(people):
    _policy(people, groups_claim="groups", group_roles="docket-staff=analyst")
    start = _sso(people, _claims(email="ada@example.test", groups=["docket-staff"]))
    assert start.user.role == "analyst"
