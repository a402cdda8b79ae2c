"""Server-side sessions: every signed-in browser has a row, checked on every run.

The browser holds a random token inside the signed sign-in cookie; the row is keyed by the
token's SHA-256, so a copy of the database signs no one in. `check` ends a session that was
idle too long, outlived its lifetime, belongs to a disabled user, was issued under another
cookie key, or was ended by an admin or by "Sign out everywhere" — in whichever app process
the next action lands, since they all read the same table. Every end is audited
(`session.ended`, with the reason and who ended it)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.errors import NotAllowed, NotFound
from core.signin.policy import SignInPolicy, read_policy
from core.store import audit
from core.store.db import Database
from core.store.models import SignInSession, User, utcnow

TOKEN_BYTES = 32
# last_seen is written at most this often (or a tenth of the idle timeout, if shorter): a run
# costs a read, not a write, and the idle timeout holds to within this.
TOUCH_EVERY = timedelta(seconds=15)

STATES = ("mfa", "enrol", "active")     # open sessions; "ended" closes one
END_MESSAGES = {
    "idle": "You were signed out after {idle} without activity.",
    "lifetime": "Your session ended after {lifetime}, the longest a session lasts; sign in "
                "again.",
    "ended_by_admin": "An admin ended your session; sign in again.",
    "signed_out_everywhere": "You were signed out everywhere; sign in again.",
    "key_rotated": "The sign-in key was changed; sign in again.",
    "disabled": "Your account is disabled or no longer exists; you have been signed out.",
    "locked": "Too many wrong codes: this account is locked for 15 minutes.",
    "mfa_reset": "Your second factor was reset by an admin; sign in again to set it up.",
    "unknown": "Your session is no longer valid; sign in again.",
}


@dataclass(frozen=True)
class Client:
    """Where a sign-in comes from, as the server saw it (recorded, never trusted)."""
    addr: str = ""
    agent: str = ""


@dataclass(frozen=True)
class SessionCheck:
    ok: bool               # the session goes on (its state says what is still due)
    state: str             # mfa | enrol | active | ended
    username: str = ""
    method: str = ""
    reason: str = ""       # why it ended
    message: str = ""      # what the person is told


@dataclass(frozen=True)
class SessionInfo:
    id: str
    username: str
    method: str
    state: str
    started_at: datetime
    last_seen_at: datetime
    client_addr: str
    user_agent: str


def key_fingerprint(cookie_key: str) -> str:
    """Names the cookie key a session was issued under, without revealing it."""
    return hashlib.sha256(b"docket.cookie-key\0" + cookie_key.encode()).hexdigest()[:16]


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(s: Session, *, username: str, method: str, state: str, client: Client,
                 key_id: str) -> str:
    """Adds a session row in the caller's unit of work; returns the token for the cookie."""
    assert state in STATES, state
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    s.add(SignInSession(id=session_id(token), username=username, method=method, state=state,
                        started_at=now, last_seen_at=now, client_addr=client.addr[:64],
                        user_agent=client.agent[:300], key_id=key_id))
    return token


def _duration(delta: timedelta) -> str:
    seconds = round(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = seconds / 60
    if minutes < 60 or minutes % 60:
        return "1 minute" if minutes == 1 else f"{minutes:g} minutes"
    return "1 hour" if minutes == 60 else f"{minutes / 60:g} hours"


def end_message(reason: str, policy: SignInPolicy | None = None) -> str:
    text = END_MESSAGES.get(reason, END_MESSAGES["unknown"])
    if policy is not None:
        text = text.format(idle=_duration(policy.idle_timeout),
                           lifetime=_duration(policy.lifetime))
    return text.format(idle="the idle timeout", lifetime="its lifetime")


def _end(s: Session, row: SignInSession, reason: str, by: str, now: datetime) -> bool:
    """Ends one open session (audited); False if it was ended meanwhile (by another run)."""
    done = s.execute(update(SignInSession).where(SignInSession.id == row.id,
                                                 SignInSession.ended_at.is_(None))
                     .values(state="ended", ended_at=now, end_reason=reason, ended_by=by,
                             pending_secret=None)
                     .execution_options(synchronize_session=False)).rowcount
    if done:
        audit.record(s, case_id=None, actor=by, kind="session.ended",
                     after={"username": row.username, "session": row.id[:12], "reason": reason,
                            "by": by, "method": row.method})
    return bool(done)


def _why_over(row: SignInSession, user: User | None, policy: SignInPolicy, key_id: str,
              now: datetime) -> str:
    if user is None or user.disabled:
        return "disabled"
    if row.key_id != key_id:
        return "key_rotated"
    if now - row.last_seen_at > policy.idle_timeout:
        return "idle"
    if now - row.started_at > policy.lifetime:
        return "lifetime"
    return ""


def check(db: Database, token: str | None, *, username: str, key_id: str,
          touch: bool = True) -> SessionCheck:
    """Whether the session of this token may go on, for this user; ends it if it may not.
    `touch=False` (a background refresh, not a person's action) leaves last_seen alone."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return SessionCheck(False, "ended", username, reason="unknown",
                            message=end_message("unknown"))
    sid = session_id(token)
    with db.read() as s:
        row = s.get(SignInSession, sid)
        policy = read_policy(s)
        user = s.get(User, row.username) if row is not None else None
        now = utcnow()
        if row is None or row.username != username:
            return SessionCheck(False, "ended", username, reason="unknown",
                                message=end_message("unknown"))
        if row.ended_at is not None:
            return SessionCheck(False, "ended", row.username, row.method,
                                reason=row.end_reason or "unknown",
                                message=end_message(row.end_reason or "unknown", policy))
        why = _why_over(row, user, policy, key_id, now)
        due_touch = touch and now - row.last_seen_at >= min(TOUCH_EVERY, policy.idle_timeout / 10)
        state, method = row.state, row.method
    if why or due_touch:
        with db.unit_of_work() as s:
            row = s.get(SignInSession, sid)
            if why:
                _end(s, row, why, "system", now)
                return SessionCheck(False, "ended", row.username, row.method, reason=why,
                                    message=end_message(why, policy))
            s.execute(update(SignInSession).where(SignInSession.id == sid,
                                                  SignInSession.ended_at.is_(None))
                      .values(last_seen_at=now).execution_options(synchronize_session=False))
    return SessionCheck(True, state, username, method)


def sign_out(db: Database, token: str | None) -> None:
    """The person signed out: their session ends (audited as signed_out)."""
    if not token:
        return
    with db.unit_of_work() as s:
        row = s.get(SignInSession, session_id(token))
        if row is not None and row.ended_at is None:
            _end(s, row, "signed_out", row.username, utcnow())


def end_sessions_of(s: Session, username: str, reason: str, by: str,
                    keep_id: str | None = None) -> int:
    """Ends every open session of a user in the caller's unit of work (audited each)."""
    rows = s.scalars(select(SignInSession).where(SignInSession.username == username,
                                                 SignInSession.ended_at.is_(None)))
    now = utcnow()
    return sum(_end(s, row, reason, by, now) for row in list(rows) if row.id != keep_id)


def sign_out_everywhere(db: Database, username: str, *, actor: str,
                        keep_token: str | None = None) -> int:
    """Ends the user's sessions in every browser (the user themself, or an admin); the
    caller's own session is kept when `keep_token` is given. Returns how many ended."""
    with db.unit_of_work() as s:
        if actor != username:
            require_permission(s, actor, Permission.MANAGE_USERS)
        elif s.get(User, username) is None:
            raise NotFound(f"user {username!r} not found")
        keep = session_id(keep_token) if keep_token else None
        reason = "signed_out_everywhere" if actor == username else "ended_by_admin"
        return end_sessions_of(s, username, reason, actor, keep_id=keep)


def end_session(db: Database, sid: str, *, actor: str) -> None:
    """An admin ends one session (by its id from `list_open`); it is signed out at its next
    action. Ending one's own current session this way is allowed too."""
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.MANAGE_USERS)
        row = s.get(SignInSession, sid)
        if row is None:
            raise NotFound("no such session")
        if row.ended_at is not None:
            raise NotAllowed(f"that session already ended ({row.end_reason})")
        _end(s, row, "ended_by_admin", actor, utcnow())


def list_open(db: Database, *, actor: str, username: str | None = None,
              limit: int = 500) -> list[SessionInfo]:
    """The sessions still open (admin), newest activity first. Sessions past their idle
    timeout or lifetime are not listed (they end at their next action)."""
    with db.read() as s:
        require_permission(s, actor, Permission.MANAGE_USERS)
        return _open_sessions(s, username, limit)


def list_my_sessions(db: Database, username: str, limit: int = 100) -> list[SessionInfo]:
    """The signed-in user's own open sessions (My account), as `list_open` lists them: no
    admin right needed, since the caller passes the user of its own checked session."""
    if not username:
        return []
    with db.read() as s:
        return _open_sessions(s, username, limit)


def _open_sessions(s: Session, username: str | None, limit: int) -> list[SessionInfo]:
    policy = read_policy(s)
    now = utcnow()
    stmt = (select(SignInSession).where(SignInSession.ended_at.is_(None),
                                        SignInSession.last_seen_at >= now - policy.idle_timeout,
                                        SignInSession.started_at >= now - policy.lifetime)
            .order_by(SignInSession.last_seen_at.desc()).limit(limit))
    if username:
        stmt = stmt.where(SignInSession.username == username)
    return [SessionInfo(r.id, r.username, r.method, r.state, r.started_at, r.last_seen_at,
                        r.client_addr, r.user_agent) for r in s.scalars(stmt)]


def end_sessions_of_other_keys(db: Database, key_id: str) -> int:
    """At server start: the cookie key was rotated, so every session issued under another
    key ends now (audited, reason key_rotated), not only at its next action."""
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(SignInSession).where(SignInSession.ended_at.is_(None),
                                                          SignInSession.key_id != key_id)))
        now = utcnow()
        return sum(_end(s, row, "key_rotated", "system", now) for row in rows)
