"""The sign-in history: every sign-in step, second-factor change and ended session from the
audit log, newest first, for the Users page's Sign-ins tab (admins only).

Read straight from `audit_events` in SQL. Each kind is read on its own through the index
`ix_audit_kind (kind, id)`, newest first and at most one page of it, and the pieces are merged:
the database walks only the rows it returns, however many case events the log holds. Pages
go on by id (`before_id`: the last id shown), so a page is as fast at the end as at the start.

Whose events: every one of these kinds names its user in `after.username` (the name as typed,
for a refused sign-in: it may be a name nobody has, or an attacker's text). The user filter
matches that field, case-insensitively, read with SQLAlchemy's JSON path (SQLite
`JSON_EXTRACT`, PostgreSQL `->>`); and, for the kinds the user does themself (their own
sign-ins, codes, refusals at the second step), the `actor` column too, which holds the
normalised name of a known user (so " Ada" typed with a space is found under "ada"). A refused
sign-in with an unknown name has the actor "anonymous" and is found by the name as typed.
The `actor` of an admin's act (a reset second factor, an ended session) is the admin, shown as
"by", never taken for the subject."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all

from core.access.actors import require_permission
from core.access.roles import Permission
from core.errors import InvalidInput
from core.store.db import Database
from core.store.models import AuditEvent

OUTCOMES: dict[str, tuple[str, ...]] = {
    "succeeded": ("signin.succeeded",),
    "failed": ("signin.failed", "user.locked"),
    "mfa": ("mfa.enrolled", "mfa.reset", "mfa.recovery_code_used", "mfa.recovery_codes_renewed"),
    "session": ("session.ended",),
}
KINDS = tuple(k for kinds in OUTCOMES.values() for k in kinds)
# The kinds whose actor is the user the event is about (not an admin, not "system").
_ACTOR_IS_SUBJECT = ("signin.succeeded", "signin.failed", "user.locked", "mfa.enrolled",
                     "mfa.recovery_code_used", "mfa.recovery_codes_renewed")
MAX_LIMIT = 500
MAX_USERNAME_FILTER = 200

OUTCOME_TEXT = {
    "signin.succeeded": "signed in",
    "signin.failed": "refused",
    "user.locked": "locked",
    "mfa.enrolled": "second factor set up",
    "mfa.reset": "second factor reset",
    "mfa.recovery_code_used": "recovery code used",
    "mfa.recovery_codes_renewed": "recovery codes renewed",
    "session.ended": "session ended",
}
REFUSAL_TEXT = {
    "wrong_password": "wrong password",
    "unknown_user": "unknown user",
    "disabled": "account disabled",
    "locked": "account locked",
    "wrong_code": "wrong code",
    "replayed_code": "code already used",
    "malformed_code": "malformed code",
    "invalid_username": "invalid username",
    "sso_only": "password sign-in is off (SSO only)",
    "sso_unknown_user": "SSO account not known here",
    "sso_unverified_email": "SSO email not verified by the provider",
    "sso_no_email": "SSO sign-in without an email",
    "sso_ambiguous_email": "SSO email shared by two accounts",
    "sso_invalid_claims": "SSO sign-in with incomplete claims",
    "sso_stale": "SSO sign-in too old",
    "sso_replayed": "SSO sign-in replayed",
}
END_TEXT = {
    "signed_out": "signed out",
    "idle": "idle",
    "lifetime": "lifetime reached",
    "ended_by_admin": "ended by admin",
    "signed_out_everywhere": "signed out everywhere",
    "key_rotated": "sign-in key changed",
    "disabled": "account disabled",
    "locked": "account locked",
    "mfa_reset": "second factor reset",
}
FACTOR_TEXT = {
    "none": "",
    "totp": " and an authenticator code",
    "recovery_code": " and a recovery code",
    "enrolled": ", setting up a second factor",
}


@dataclass(frozen=True)
class SignInEvent:
    id: int
    at: datetime
    kind: str
    username: str          # as recorded: for a refused sign-in, the name as typed
    method: str            # password | sso | "" (not said)
    outcome: str           # a short label: signed in, refused, session ended…
    reason: str            # the recorded reason code (wrong_password, idle…), "" if none
    client_addr: str
    by: str                # who did it: the user, an admin, "system", "anonymous"
    sentence: str          # the event in words: "Sign-in refused: wrong password"


def _words(code: str, table: dict[str, str]) -> str:
    return table.get(code) or code.replace("_", " ") or "no reason recorded"


def sentence(kind: str, after: dict[str, Any], by: str) -> str:
    """One event in words, for people (the reason codes stay in their own column)."""
    method = after.get("method") or ""
    if kind == "signin.succeeded":
        if method == "sso":
            provider = after.get("provider")
            return "Signed in through single sign-on" + (f" ({provider})" if provider else "")
        return "Signed in with password" + FACTOR_TEXT.get(after.get("mfa") or "none", "")
    if kind == "signin.failed":
        step = " (second step)" if after.get("step") == "second_factor" else ""
        return f"Sign-in refused: {_words(str(after.get('reason') or ''), REFUSAL_TEXT)}{step}"
    if kind == "user.locked":
        return "Account locked after repeated failed sign-ins"
    if kind == "mfa.enrolled":
        return "Second factor set up"
    if kind == "mfa.reset":
        return "Second factor reset by admin"     # which admin: the "by" column
    if kind == "mfa.recovery_code_used":
        left = after.get("codes_left")
        return "Recovery code used" + (f" ({left} left)" if left is not None else "")
    if kind == "mfa.recovery_codes_renewed":
        return "New recovery codes made"
    if kind == "session.ended":
        reason = str(after.get("reason") or "")
        return f"Session ended: {_words(reason, END_TEXT)}"
    return kind


def _event(row: AuditEvent) -> SignInEvent:
    after = row.after if isinstance(row.after, dict) else {}
    by = str(after.get("by") or row.actor or "")
    return SignInEvent(
        id=row.id, at=row.at, kind=row.kind, username=str(after.get("username") or ""),
        method=str(after.get("method") or ""), outcome=OUTCOME_TEXT.get(row.kind, row.kind),
        reason=str(after.get("reason") or ""), client_addr=str(after.get("client_addr") or ""),
        by=by, sentence=sentence(row.kind, after, by))


def _bound(value: date | datetime | None, *, end: bool) -> datetime | None:
    """A date means the whole day (UTC, as stored): `until` a date runs to its end."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1) if end else value, time.min)


def sign_in_events(db: Database, *, actor: str, username: str | None = None,
                   outcome: str | None = None, since: date | datetime | None = None,
                   until: date | datetime | None = None, before_id: int | None = None,
                   limit: int = 100) -> list[SignInEvent]:
    """The sign-in events an admin may read, newest first: at most `limit`, older than
    `before_id` if given (the last id of the page before). `outcome` is one of OUTCOMES
    (succeeded, failed, mfa, session); `username` as described in the module's docstring;
    `since`/`until` bound the time (UTC; a date counts whole, `until` included)."""
    if outcome and outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    limit = max(1, min(int(limit), MAX_LIMIT))
    conditions = []
    if before_id is not None:
        conditions.append(AuditEvent.id < before_id)
    start, end = _bound(since, end=False), _bound(until, end=True)
    if start is not None:
        conditions.append(AuditEvent.at >= start)
    if end is not None:
        conditions.append(AuditEvent.at < end if not isinstance(until, datetime)
                          else AuditEvent.at <= end)
    name = (username or "").strip()[:MAX_USERNAME_FILTER]
    if name:
        typed = func.lower(AuditEvent.after["username"].as_string())
        conditions.append(or_(typed == name.lower(),
                              and_(AuditEvent.kind.in_(_ACTOR_IS_SUBJECT),
                                   AuditEvent.actor == name.lower())))
    kinds = OUTCOMES[outcome] if outcome else KINDS
    # One piece per kind, each walking ix_audit_kind backwards and stopping at `limit`.
    pieces = [select(AuditEvent.id).where(AuditEvent.kind == kind, *conditions)
              .order_by(AuditEvent.id.desc()).limit(limit).subquery() for kind in kinds]
    merged = union_all(*(select(p.c.id) for p in pieces)).subquery()
    with db.read() as s:
        require_permission(s, actor, Permission.MANAGE_USERS)
        ids = list(s.scalars(select(merged.c.id).order_by(merged.c.id.desc()).limit(limit)))
        if not ids:
            return []
        rows = s.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids))
                         .order_by(AuditEvent.id.desc()))
        return [_event(row) for row in rows]
