"""Signing in with a username and password: the first step, and the only one unless the
user has (or must set up) a second factor. Every attempt is audited — success with how, a
refusal with why (`signin.failed`, never the password) — and a session is opened for the
steps that follow (core/signin/sessions.py)."""
from __future__ import annotations

from dataclasses import dataclass

from core import config
from core.access.users import UserInfo, verify_login
from core.errors import SignInRefused
from core.signin.policy import read_policy
from core.signin.sessions import Client, open_session
from core.store import audit
from core.store.db import Database
from core.store.models import User

MAX_USERNAME_CHARS = 64


@dataclass(frozen=True)
class SignInStart:
    user: UserInfo
    token: str             # for the signed cookie; the session is keyed by its digest
    next_step: str         # "" (signed in) | "mfa" (a code is due) | "enrol" (set one up)


def record_failure(db: Database, username: str, method: str, reason: str, client: Client) -> None:
    """Audits a refused sign-in (the name as typed, cut to 64 characters; never a secret)."""
    shown = (username or "")[:MAX_USERNAME_CHARS]
    with db.unit_of_work() as s:
        known = s.get(User, shown.strip().lower()) is not None
        audit.record(s, case_id=None, actor=shown.strip().lower() if known else "anonymous",
                     kind="signin.failed",
                     after={"username": shown, "method": method, "reason": reason,
                            "client_addr": client.addr[:64]})


def sign_in_with_password(db: Database, username: str, password: str, *, client: Client,
                          key_id: str) -> SignInStart:
    typed = username if isinstance(username, str) else ""
    name = typed.strip().lower()
    try:
        if len(typed) > MAX_USERNAME_CHARS or not name.isascii():
            # Usernames are plain ASCII (a-z, 0-9, _ . -): a look-alike letter from another
            # script ("аdmin" with a Cyrillic а) names no one.
            raise SignInRefused("wrong username or password", "invalid_username")
        policy = read_policy(db)
        break_glass = policy.sso_only and name == policy.break_glass_admin
        if policy.sso_only and not break_glass:
            raise SignInRefused("Password sign-in is off here: use your organisation's sign-in "
                                "(the SSO button).", "sso_only")
        user = verify_login(db, name, password)
    except SignInRefused as e:
        record_failure(db, typed, "password", e.reason, client)
        raise
    with db.unit_of_work() as s:
        row = s.get(User, user.username)
        demo = user.is_demo and config.demo_mode(db.url)
        needs = break_glass or policy.needs_second_factor(user.role, is_demo_in_demo_mode=demo)
        step = "mfa" if row.mfa_secret else ("enrol" if needs else "")
        token = open_session(s, username=user.username, method="password",
                             state={"mfa": "mfa", "enrol": "enrol", "": "active"}[step],
                             client=client, key_id=key_id)
        if not step:
            audit.record(s, case_id=None, actor=user.username, kind="signin.succeeded",
                         after={"username": user.username, "method": "password", "mfa": "none",
                                "client_addr": client.addr[:64]})
    return SignInStart(user, token, step)
