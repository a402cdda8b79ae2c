"""Signing in through the team's identity provider (OpenID Connect single sign-on).

The dashboard runs the OpenID Connect round trip with Streamlit's `st.login()` (Authlib:
authorization code flow with state, nonce and PKCE; the ID token's signature, issuer,
audience and expiry are checked there) and hands the ID token's claims to
`sign_in_with_sso`, which decides, here in core, whether they sign a Docket user in:

- the claims carry an email address the provider says it verified: `email_verified` is true
  (or, for Microsoft Entra ID, `xms_edov` is true). A missing `email_verified` counts as not
  verified (reason `sso_unverified_email`), a missing email as `sso_no_email`;
- the claims are fresh and used once: `iat` (when the provider issued them) is at most
  FRESH_FOR old and at most CLOCK_SKEW in the future (else `sso_stale`), and one (provider,
  issuer, sub, iat) signs in once (else `sso_replayed`). Streamlit keeps the claims in its own
  identity cookie for 30 days; these two rules make sure only a new round trip through the
  provider signs anyone in, never a cookie left behind after "Sign out" or after an admin
  ended the session. The record of use is the `signin.succeeded` audit event itself (its
  `sso_ref`, a digest of the four values; see `_used_before`), so no table is needed;
- the email names one Docket user (case-insensitive; two users with it: `sso_ambiguous_email`).
  An email nobody has is refused (`sso_unknown_user`) unless its domain is one of the allowed
  domains: then an account is made (username from the email's local part, a random password
  nobody knows, role from the groups or the default role), audited `user.added` via sso;
- a disabled user is refused (`disabled`), whatever the provider says;
- with a groups claim configured, the highest role the user's mapped groups give is applied
  at each sign-in (audited `user.role_changed`); the last active admin is never demoted this
  way (the change is skipped and audited `user.role_change_skipped`). No mapped group: the
  role stays as it is.

Success opens an active session (method "sso": the provider did the second factor; Docket's
own codes are for password sign-ins) and is audited `signin.succeeded` with the provider.
Every refusal is audited `signin.failed` with its reason (core/signin/password.record_failure).
Tokens are never seen here, and nothing here logs a claim besides the email and the digest.
"""
from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access.actors import SYSTEM_ACTOR
from core.access.roles import Role
from core.access.users import USERNAME, UserInfo, hash_password
from core.errors import SignInRefused
from core.signin.password import SignInStart, record_failure
from core.signin.policy import SignInPolicy, read_policy
from core.signin.sessions import Client, open_session
from core.store import audit
from core.store.db import Database
from core.store.models import AuditEvent, User, utcnow

FRESH_FOR = timedelta(minutes=10)      # claims older than this were not issued for this sign-in
CLOCK_SKEW = timedelta(minutes=2)      # the provider's clock may run this much ahead of ours
MAX_EMAIL_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ROLE_RANK = {role.value: rank for rank, role in enumerate(Role)}  # analyst < ... < admin
_PAGE = 200                            # audit events read at a time when looking for a reuse


@dataclass
class _Attempt:
    """Who a refusal is recorded under: the matched username, else the email (else "")."""
    who: str = ""


def sign_in_with_sso(db: Database, claims: Mapping[str, Any], *, provider: str, client: Client,
                     key_id: str, display_name: str = "") -> SignInStart:
    """Signs the person the provider vouches for in, by the claims of their ID token (see
    the module's docstring for every rule). `provider` is the configured provider's name
    (recorded), `display_name` how messages name it ("Okta"; default: the name). Returns the
    user and the session's token (the next step is always "": the provider did the second
    factor). A refusal raises SignInRefused, whose message is for the person and whose
    reason is audited."""
    attempt = _Attempt()
    shown = (display_name or provider or "").strip()[:60] or "your organisation's sign-in"
    try:
        try:
            return _sign_in(db, claims, provider, shown, client, key_id, attempt)
        except IntegrityError:
            # Two first sign-ins of a new user at once: the other made the account (and, if
            # these were the same claims, used them); run the checks again against it.
            return _sign_in(db, claims, provider, shown, client, key_id, attempt)
    except SignInRefused as e:
        record_failure(db, attempt.who, "sso", e.reason, client)
        raise


def _sign_in(db: Database, claims: Mapping[str, Any], provider: str, shown: str,
             client: Client, key_id: str, attempt: _Attempt) -> SignInStart:
    email = _verified_email(claims, shown, attempt)
    issued = _issued_at(claims, shown)
    ref = claims_ref(provider, claims)
    with db.unit_of_work() as s:
        policy = read_policy(s)
        user = _matching_user(s, email, attempt)
        if _used_before(s, ref, issued - CLOCK_SKEW):
            raise SignInRefused(f"This sign-in with {shown} was already used. Sign in with "
                                f"{shown} again.", "sso_replayed")
        wanted_role = group_role(claims, policy)
        if user is None:
            user = _add_user(s, email, claims, wanted_role or policy.default_role, policy,
                             provider)
            attempt.who = user.username
        elif user.disabled:
            raise SignInRefused(f"Your Docket account ({user.username}) is disabled; ask an "
                                "admin to enable it.", "disabled")
        elif wanted_role and wanted_role != user.role:
            _apply_role(s, user, wanted_role, provider)
        token = open_session(s, username=user.username, method="sso", state="active",
                             client=client, key_id=key_id)
        audit.record(s, case_id=None, actor=user.username, kind="signin.succeeded",
                     after={"username": user.username, "method": "sso", "provider": provider,
                            "mfa": "provider", "sso_ref": ref, "client_addr": client.addr[:64]})
        info = UserInfo(user.username, user.name, user.email, user.role, bool(user.disabled),
                        bool(user.is_demo))
    return SignInStart(info, token, "")


def _verified_email(claims: Mapping[str, Any], shown: str, attempt: _Attempt) -> str:
    email = claims.get("email")
    email = email.strip() if isinstance(email, str) else ""
    if not email or len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        raise SignInRefused(f"{shown} did not give Docket your email address, so Docket "
                            "cannot tell which account is yours. Ask your IT team to release "
                            "the email claim to Docket.", "sso_no_email")
    attempt.who = email
    if not (_true(claims.get("email_verified")) or _true(claims.get("xms_edov"))):
        raise SignInRefused(f"{shown} did not confirm that {email} is verified, so Docket "
                            "cannot match it to an account. Ask an admin to check the "
                            "single sign-on settings.", "sso_unverified_email")
    return email


def _true(value: Any) -> bool:
    """A claim's true: the JSON boolean, or "true" (some providers send booleans as text)."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _issued_at(claims: Mapping[str, Any], shown: str) -> datetime:
    iat = claims.get("iat")
    now = utcnow()
    when = None
    if isinstance(iat, (int, float)) and not isinstance(iat, bool):
        try:
            when = datetime.fromtimestamp(iat, timezone.utc).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            when = None
    if when is None or not isinstance(claims.get("sub"), str) or not claims.get("sub"):
        raise SignInRefused(f"The answer from {shown} lacks what Docket checks (sub, iat). "
                            "Ask an admin to check the provider's settings.", "sso_invalid_claims")
    if when < now - FRESH_FOR or when > now + CLOCK_SKEW:
        raise SignInRefused(f"This sign-in with {shown} is too old to be used. Sign in with "
                            f"{shown} again.", "sso_stale")
    return when


def claims_ref(provider: str, claims: Mapping[str, Any]) -> str:
    """What makes one sign-in's claims unique (provider, issuer, subject, issued-at), as a
    digest: the record that they were used, kept in the `signin.succeeded` event."""
    parts = (provider, str(claims.get("iss") or ""), str(claims.get("sub") or ""),
             str(claims.get("iat") or ""))
    return hashlib.sha256("\0".join(("docket.sso", *parts)).encode()).hexdigest()[:32]


def _used_before(s: Session, ref: str, since: datetime) -> bool:
    """Whether a sign-in with these claims succeeded already. Reads the `signin.succeeded`
    events newest first through the index `ix_audit_kind (kind, id)`, a page at a time, and
    stops at the first one older than `since` (the claims' issue time, less the clock skew):
    only the sign-ins of the last few minutes are read, however long the log. Two sign-ins
    with the same claims at once take turns: the user's row is locked (PostgreSQL), SQLite
    writers queue (BEGIN IMMEDIATE), so the second sees the first's event."""
    before_id = None
    used = AuditEvent.after["sso_ref"].as_string()
    while True:
        stmt = select(AuditEvent.id, AuditEvent.at, used).where(
            AuditEvent.kind == "signin.succeeded")
        if before_id is not None:
            stmt = stmt.where(AuditEvent.id < before_id)
        rows = s.execute(stmt.order_by(AuditEvent.id.desc()).limit(_PAGE)).all()
        for _, at, seen in rows:
            if at < since:
                return False
            if seen == ref:
                return True
        if len(rows) < _PAGE:
            return False
        before_id = rows[-1][0]


def _matching_user(s: Session, email: str, attempt: _Attempt) -> User | None:
    users = list(s.scalars(select(User).where(func.lower(User.email) == email.lower())
                           .order_by(User.username).limit(2).with_for_update()))
    if len(users) > 1:
        raise SignInRefused(f"More than one Docket account uses the email {email}; ask an "
                            "admin to give each account its own email.", "sso_ambiguous_email")
    if users:
        attempt.who = users[0].username
        return users[0]
    return None


def group_role(claims: Mapping[str, Any], policy: SignInPolicy) -> str | None:
    """The highest role the person's groups map to (sso.groups_claim, sso.group_roles), or
    None: no groups claim configured, none in the claims, or no group mapped. The claim may
    be a list of names (or ids) or one name as a string."""
    if not policy.groups_claim or not policy.group_roles:
        return None
    value = claims.get(policy.groups_claim)
    groups = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    roles = [policy.group_roles[g] for g in groups
             if isinstance(g, str) and g in policy.group_roles]
    return max(roles, key=_ROLE_RANK.__getitem__) if roles else None


def username_from_email(s: Session, email: str) -> str:
    """A free username from the email's local part: ASCII letters and digits (accents
    dropped: "Zoë" gives "zoe"), other characters as "-", made unique with a number."""
    local = email.rsplit("@", 1)[0]
    plain = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9_.-]+", "-", plain)
    base = re.sub(r"^[^a-z0-9]+", "", base)[:56].rstrip("-.") or "user"
    if len(base) < 2:
        base = f"{base}-user"
    candidate, n = base, 1
    while s.get(User, candidate) is not None:
        n += 1
        candidate = f"{base}{n}"
    assert USERNAME.match(candidate), candidate
    return candidate


def _add_user(s: Session, email: str, claims: Mapping[str, Any], role: str,
              policy: SignInPolicy, provider: str) -> User:
    domain = email.rsplit("@", 1)[1].lower()
    if domain not in policy.allowed_domains:
        raise SignInRefused(f"No Docket account uses the email {email}; ask an admin to add "
                            "you.", "sso_unknown_user")
    name = claims.get("name")
    name = name.strip()[:200] if isinstance(name, str) and name.strip() else email
    user = User(username=username_from_email(s, email), name=name, email=email, role=role,
                # a password nobody knows: this account signs in through the provider only
                password_hash=hash_password(secrets.token_urlsafe(32)), is_demo=False,
                created_at=utcnow())
    s.add(user)
    s.flush()  # a username taken meanwhile fails here (IntegrityError: the caller retries)
    with audit.through("sso"):
        audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind="user.added",
                     after={"username": user.username, "role": role, "email": email,
                            "provider": provider})
    return user


def _apply_role(s: Session, user: User, role: str, provider: str) -> None:
    with audit.through("sso"):
        if user.role == Role.ADMIN.value and _other_active_admins(s, user.username) == 0:
            audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind="user.role_change_skipped",
                         after={"username": user.username, "role": user.role, "wanted": role,
                                "reason": "last_admin", "provider": provider})
            return
        audit.record(s, case_id=None, actor=SYSTEM_ACTOR, kind="user.role_changed",
                     before={"username": user.username, "role": user.role},
                     after={"username": user.username, "role": role, "provider": provider})
        user.role = role


def _other_active_admins(s: Session, username: str) -> int:
    """core.access.users' rule (never leave Docket without an active admin), read here in
    this unit of work."""
    return s.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.disabled.is_(False),
        User.username != username)) or 0
