"""The second factor: TOTP codes from an authenticator app (RFC 6238, `pyotp`), set up with a
QR code (`segno`), and 10 single-use recovery codes kept as SHA-256 digests.

Every check is here, in core: a code is accepted once (the last accepted time step is kept, so
a code seen over a shoulder cannot be replayed within its window), wrong codes count toward
the same lockout as wrong passwords, and an admin's reset makes the user set it up again."""
from __future__ import annotations

import hashlib
import hmac
import io
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.access.users import LOCKED_MESSAGE, count_failure
from core.errors import InvalidInput, NotAllowed, NotFound, SignInRefused
from core.signin.sessions import end_sessions_of, session_id
from core.store import audit
from core.store.db import Database
from core.store.models import RecoveryCode, SignInSession, User, utcnow

ISSUER = "Docket"
RECOVERY_CODE_COUNT = 10
STEP_SECONDS = 30
MAX_CODE_CHARS = 32            # anything longer is refused before it is looked at
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"   # no 0/o, 1/l/i
_TOTP = re.compile(r"^[0-9]{6}$")
_RECOVERY = re.compile(r"^[a-z0-9]{10}$")  # ASCII only: no other digits
WRONG_CODE = "That code is not right. Check the time on your phone and try the newest code."


@dataclass(frozen=True)
class Enrolment:
    secret: str            # shown once, for typing into an app without a camera
    uri: str               # otpauth:// URI, the QR code's content
    qr_png: bytes


@dataclass(frozen=True)
class MfaStatus:
    enrolled: bool
    enrolled_at: datetime | None
    recovery_codes_left: int


def _normalise(code: str) -> str:
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        raise SignInRefused("A code is 6 digits, or a recovery code of 10 letters and digits.",
                            "malformed_code")
    return re.sub(r"[\s-]", "", code).lower()


def _recovery_digest(username: str, code: str) -> str:
    return hashlib.sha256(f"docket.recovery\0{username}\0{code}".encode()).hexdigest()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code this is: the current one, or the one before or after (a
    phone's clock a little off); None if none matches."""
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    step = int(now // STEP_SECONDS)
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def _new_recovery_codes(s: Session, username: str) -> list[str]:
    s.execute(delete(RecoveryCode).where(RecoveryCode.username == username))
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
             for _ in range(RECOVERY_CODE_COUNT)]
    now = utcnow()
    for code in codes:
        s.add(RecoveryCode(username=username, code_hash=_recovery_digest(username, code),
                           created_at=now))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def _open_session(s: Session, token: str, states: tuple[str, ...]) -> SignInSession:
    row = s.get(SignInSession, session_id(token or ""))
    if row is None or row.ended_at is not None or row.state not in states:
        raise NotAllowed("this sign-in is no longer open; sign in again")
    return row


def _refuse(db: Database, token: str, reason: str, message: str) -> SignInRefused:
    """Counts a wrong code toward the lockout and audits it, in its own unit of work (the
    refusal must be written, not rolled back); returns the error to raise."""
    with db.unit_of_work() as s:
        row = _open_session(s, token, ("mfa", "enrol", "active"))
        user = s.get(User, row.username)
        now = utcnow()
        locked = count_failure(s, user, now)
        audit.record(s, case_id=None, actor=row.username, kind="signin.failed",
                     after={"username": row.username, "method": row.method, "reason": reason,
                            "step": "second_factor", "client_addr": row.client_addr})
        if locked:
            end_sessions_of(s, row.username, "locked", "system")
            return SignInRefused(LOCKED_MESSAGE[0].upper() + LOCKED_MESSAGE[1:] + ".", "locked")
    return SignInRefused(message, reason)


def _succeeded(s: Session, row: SignInSession, factor: str) -> None:
    row.state = "active"
    audit.record(s, case_id=None, actor=row.username, kind="signin.succeeded",
                 after={"username": row.username, "method": row.method, "mfa": factor,
                        "session": row.id[:12], "client_addr": row.client_addr})


# --- setting it up ---------------------------------------------------------------------------

def begin_enrolment(db: Database, token: str) -> Enrolment:
    """A new secret for this session's user to scan (kept on the session until confirmed;
    asking again gives the same one). Open to a session that must enrol, and to a signed-in
    user without a second factor yet."""
    with db.unit_of_work() as s:
        row = _open_session(s, token, ("enrol", "active"))
        user = s.get(User, row.username)
        if user.mfa_secret:
            raise NotAllowed("a second factor is already set up; an admin can reset it")
        if not row.pending_secret:
            row.pending_secret = pyotp.random_base32(32)
        secret, username = row.pending_secret, row.username
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    png = io.BytesIO()
    segno.make(uri, error="m").save(png, kind="png", scale=5, border=2)
    return Enrolment(secret, uri, png.getvalue())


def confirm_enrolment(db: Database, token: str, code: str) -> list[str]:
    """Checks a code from the app against the new secret; on success the second factor is
    set (audited `mfa.enrolled`), the session goes on, and the 10 recovery codes are returned
    — the only time they are ever shown."""
    code = _normalise(code)
    with db.unit_of_work() as s:
        row = _open_session(s, token, ("enrol", "active"))
        user = s.get(User, row.username)
        if user.locked_until and user.locked_until > utcnow():
            raise SignInRefused(LOCKED_MESSAGE, "locked")
        step = (_matching_step(row.pending_secret, code, time.time())
                if row.pending_secret and _TOTP.match(code) else None)
        if step is not None:
            user.mfa_secret, user.mfa_enrolled_at, user.mfa_last_step = \
                row.pending_secret, utcnow(), step
            user.failed_logins = 0
            row.pending_secret = None
            codes = _new_recovery_codes(s, user.username)
            audit.record(s, case_id=None, actor=user.username, kind="mfa.enrolled",
                         after={"username": user.username})
            if row.state == "enrol":
                _succeeded(s, row, "enrolled")
            return codes
    raise _refuse(db, token, "wrong_code", WRONG_CODE)


# --- signing in with it ----------------------------------------------------------------------

def verify_second_factor(db: Database, token: str, code: str) -> str:
    """The second step of a password sign-in: a current code from the app (each accepted
    once) or an unused recovery code. Returns "totp" or "recovery_code"; a wrong code counts
    toward the lockout (the fifth locks the account and ends the attempt)."""
    code = _normalise(code)
    with db.unit_of_work() as s:
        row = _open_session(s, token, ("mfa",))
        user = s.get(User, row.username)
        if user.locked_until and user.locked_until > utcnow():
            raise SignInRefused(LOCKED_MESSAGE, "locked")
        if not user.mfa_secret:
            raise NotAllowed("no second factor is set up for this account; sign in again")
        reason = "wrong_code"
        if _TOTP.match(code):
            step = _matching_step(user.mfa_secret, code, time.time())
            if step is not None and step <= (user.mfa_last_step or -1):
                reason = "replayed_code"
            elif step is not None:
                user.mfa_last_step, user.failed_logins = step, 0
                _succeeded(s, row, "totp")
                return "totp"
        elif _RECOVERY.match(code):
            stored = s.scalar(select(RecoveryCode).where(
                RecoveryCode.username == user.username, RecoveryCode.used_at.is_(None),
                RecoveryCode.code_hash == _recovery_digest(user.username, code)))
            if stored is not None:
                stored.used_at, user.failed_logins = utcnow(), 0
                s.flush()
                left = _codes_left(s, user.username)
                audit.record(s, case_id=None, actor=user.username, kind="mfa.recovery_code_used",
                             after={"username": user.username, "codes_left": left})
                _succeeded(s, row, "recovery_code")
                return "recovery_code"
    message = ("That code was already used. Wait for the next one in your app."
               if reason == "replayed_code" else WRONG_CODE)
    raise _refuse(db, token, reason, message)


def _codes_left(s: Session, username: str) -> int:
    return s.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.username == username, RecoveryCode.used_at.is_(None))) or 0


# --- managing it -----------------------------------------------------------------------------

def mfa_status(db: Database, username: str) -> MfaStatus:
    with db.read() as s:
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        return MfaStatus(bool(user.mfa_secret), user.mfa_enrolled_at, _codes_left(s, username))


def renew_recovery_codes(db: Database, token: str, code: str) -> list[str]:
    """Ten new recovery codes for the signed-in user (the old ones stop working), against a
    current code from the app. Audited."""
    code = _normalise(code)
    with db.unit_of_work() as s:
        row = _open_session(s, token, ("active",))
        user = s.get(User, row.username)
        if not user.mfa_secret:
            raise InvalidInput("set up a second factor first")
        step = _matching_step(user.mfa_secret, code, time.time()) if _TOTP.match(code) else None
        if step is not None and step > (user.mfa_last_step or -1):
            user.mfa_last_step = step
            codes = _new_recovery_codes(s, user.username)
            audit.record(s, case_id=None, actor=user.username,
                         kind="mfa.recovery_codes_renewed", after={"username": user.username})
            return codes
    raise _refuse(db, token, "wrong_code", WRONG_CODE)


def reset_mfa(db: Database, username: str, *, actor: str) -> None:
    """An admin removes a user's second factor (a lost phone): the recovery codes go too,
    the user's sessions end, and they set it up again at their next sign-in. Audited."""
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.MANAGE_USERS)
        user = s.get(User, username)
        if user is None:
            raise NotFound(f"user {username!r} not found")
        if not user.mfa_secret:
            raise InvalidInput(f"{username} has no second factor to reset")
        user.mfa_secret = user.mfa_enrolled_at = user.mfa_last_step = None
        s.execute(delete(RecoveryCode).where(RecoveryCode.username == username))
        end_sessions_of(s, username, "mfa_reset", actor)
        audit.record(s, case_id=None, actor=actor, kind="mfa.reset",
                     after={"username": username})
