"""Users: bcrypt-hashed passwords, roles, disabling, sign-in lockout. Changes are audited."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import bcrypt
from sqlalchemy import func, select

from core.access import passwords
from core.access.actors import SYSTEM_ACTOR, require_permission
from core.access.roles import Permission, Role
from core.errors import InvalidInput, NotFound, SignInRefused
from core.store import audit
from core.store.db import Database
from core.store.models import User, utcnow

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MIN_PASSWORD = passwords.MIN_LENGTH  # 12 characters; the rules are in core/access/passwords.py
LOCK_AFTER_FAILURES = 5
LOCK_FOR = timedelta(minutes=15)

BCRYPT_ROUNDS = 12  # tests lower it to 4 to stay fast; still real bcrypt

DEMO_USERS = (  # demo mode only: their passwords are shown on the login page
    ("admin", "Ada Admin", Role.ADMIN, "demo-admin-pass"),
    ("reviewer", "Rui Reviewer", Role.REVIEWER, "demo-reviewer-pass"),
    ("reviewer2", "Rita Reviewer", Role.REVIEWER, "demo-reviewer2-pass"),
    ("lead", "Lena Lead", Role.LEAD, "demo-lead-pass"),
    ("analyst", "Ana Analyst", Role.ANALYST, "demo-analyst-pass"),
)


@dataclass(frozen=True)
class UserInfo:
    username: str
    name: str
    email: str
    role: str
    disabled: bool
    is_demo: bool


def _info(u: User) -> UserInfo:
    return UserInfo(u.username, u.name, u.email, u.role, bool(u.disabled), bool(u.is_demo))


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=BCRYPT_ROUNDS)).decode()


def _check_password(password: str, username: str) -> None:
    """New and changed passwords only: signing in never applies the rules."""
    passwords.check_password(password, username=username)


def _require_admin(session, actor: str) -> None:
    require_permission(session, actor, Permission.MANAGE_USERS)


def add_user(db: Database, username: str, name: str, role: str, password: str, *,
             email: str = "", actor: str = SYSTEM_ACTOR, is_demo: bool = False) -> UserInfo:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise InvalidInput("a username is 2 to 64 characters: a-z, 0-9, '_', '.', '-'")
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}")
    _check_password(password, username)
    with db.unit_of_work() as s:
        _require_admin(s, actor)
        if s.get(User, username) is not None:
            raise InvalidInput(f"user {username!r} already exists")
        user = User(username=username, name=(name or username).strip()[:200], email=email.strip(),
                    role=role, password_hash=hash_password(password), is_demo=is_demo,
                    created_at=utcnow())
        s.add(user)
        audit.record(s, case_id=None, actor=actor, kind="user.added",
                     after={"username": username, "role": role})
        return _info(user)


def list_users(db: Database) -> list[UserInfo]:
    with db.read() as s:
        return [_info(u) for u in s.scalars(select(User).order_by(User.username))]


def get_user(db: Database, username: str) -> UserInfo | None:
    with db.read() as s:
        u = s.get(User, username)
        return _info(u) if u else None


def _admins_left(s, excluding: str) -> int:
    return s.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.disabled.is_(False), User.username != excluding)) or 0


def set_disabled(db: Database, username: str, disabled: bool, *, actor: str = SYSTEM_ACTOR) -> None:
    with db.unit_of_work() as s:
        _require_admin(s, actor)
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        if disabled and user.role == Role.ADMIN and _admins_left(s, username) == 0:
            raise InvalidInput("cannot disable the last admin")
        user.disabled = disabled
        audit.record(s, case_id=None, actor=actor,
                     kind="user.disabled" if disabled else "user.enabled",
                     after={"username": username})


def set_role(db: Database, username: str, role: str, *, actor: str = SYSTEM_ACTOR) -> None:
    if role not in {r.value for r in Role}:
        raise InvalidInput(f"role must be one of {', '.join(r.value for r in Role)}")
    with db.unit_of_work() as s:
        _require_admin(s, actor)
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        if user.role == Role.ADMIN and role != Role.ADMIN and _admins_left(s, username) == 0:
            raise InvalidInput("cannot change the role of the last admin")
        audit.record(s, case_id=None, actor=actor, kind="user.role_changed",
                     before={"username": username, "role": user.role},
                     after={"username": username, "role": role})
        user.role = role


def set_password(db: Database, username: str, password: str, *, actor: str = SYSTEM_ACTOR) -> None:
    _check_password(password, username)
    with db.unit_of_work() as s:
        _require_admin(s, actor)
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        user.password_hash = hash_password(password)
        user.failed_logins, user.locked_until = 0, None
        audit.record(s, case_id=None, actor=actor, kind="user.password_set",
                     after={"username": username})


def verify_login(db: Database, username: str, password: str) -> UserInfo:
    """Checks a password, counting failures: 5 in a row lock the account for 15 minutes.
    A refusal is a SignInRefused whose `reason` says why (for the audit log, not the person)."""
    username = (username or "").strip().lower()
    with db.unit_of_work() as s:
        user = s.get(User, username)
        now = utcnow()
        if user is None or user.disabled:
            raise SignInRefused("wrong username or password",
                                "unknown_user" if user is None else "disabled")
        if user.locked_until and user.locked_until > now:
            raise SignInRefused(LOCKED_MESSAGE, "locked")
        if not bcrypt.checkpw((password or "").encode()[:72], user.password_hash.encode()):
            count_failure(s, user, now)
            return_error = SignInRefused("wrong username or password", "wrong_password")
        else:
            user.failed_logins, user.locked_until = 0, None
            return _info(user)
    raise return_error


LOCKED_MESSAGE = "this account is locked after repeated failed sign-ins; try again later"


def count_failure(s, user: User, now) -> bool:
    """One more failed sign-in step (a password or a second-factor code); the fifth in a row
    locks the account for 15 minutes (audited). True when this one locked it."""
    user.failed_logins = (user.failed_logins or 0) + 1
    if user.failed_logins < LOCK_AFTER_FAILURES:
        return False
    user.locked_until, user.failed_logins = now + LOCK_FOR, 0
    audit.record(s, case_id=None, actor=user.username, kind="user.locked",
                 after={"username": user.username})
    return True


def ensure_demo_users(db: Database) -> None:
    with db.read() as s:
        existing = set(s.scalars(select(User.username)))
    for username, name, role, password in DEMO_USERS:
        if username not in existing:
            try:
                add_user(db, username, name, role.value, password,
                         email=f"{username}@demo.docket", is_demo=True)
            except InvalidInput:  # another process added it meanwhile
                if get_user(db, username) is None:
                    raise


def authenticator_credentials(db: Database) -> dict:
    """The active (not disabled) users in streamlit-authenticator's credentials shape, with
    their bcrypt hashes. A new dict on every call: the authenticator mutates what it gets."""
    with db.read() as s:
        users = s.scalars(select(User).where(User.disabled.is_(False)).order_by(User.username))
        return {"usernames": {u.username: {"name": u.name, "email": u.email,
                                           "password": u.password_hash, "roles": [u.role]}
                              for u in users}}


def signed_in_user(db: Database, username: str | None) -> UserInfo | None:
    """The user behind a session, re-read from the database; None if missing or disabled."""
    if not username:
        return None
    info = get_user(db, username)
    return info if info is not None and not info.disabled else None
