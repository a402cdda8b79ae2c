"""API keys: how the onboarding stack, KYC vendors and a CRM act on Docket over HTTP.

A key acts for one Docket user, whose role decides what the key may do exactly as in the app
(the service layer checks it); the key's scopes narrow that further. The key is shown once,
stored only as a SHA-256 hash (a key is 256 random bits, so a fast hash is as safe as a slow
one), revocable, with its last use kept to within a minute (`LAST_USED_EVERY`: checking a key
is a read, and writes its last use only when the stored one is a minute old). Creating and
revoking are admin powers, audited.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, or_, select, update

from core.access.actors import SYSTEM_ACTOR, active_user, require_integrations_admin
from core.errors import InvalidInput, NotAllowed, NotFound, Unauthenticated
from core.store import audit
from core.store.db import Database
from core.store.models import ApiKey, User, utcnow

SCOPES = {
    "intake": "push cases and their documents",
    "events": "report outside events (collection, processes, KYC results)",
    "read": "read cases, views and deliveries",
    "act": "take case actions as the key's user (approve, reject, assign, notes...)",
}
KEY_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
KEY_PATTERN = re.compile(r"^dk_([0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
LAST_USED_EVERY = timedelta(minutes=1)  # a key used all day writes its last use once a minute


@dataclass(frozen=True)
class ApiKeyInfo:
    id: int
    name: str
    prefix: str           # "dk_1a2b3c4d": enough to recognise a key in a log, useless to use it
    scopes: tuple[str, ...]
    acting_user: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class CreatedKey:
    info: ApiKeyInfo
    secret: str  # shown once; Docket keeps only its hash


@dataclass(frozen=True)
class ApiPrincipal:
    """Who a request acts as: the key, its scopes, and the user whose role the service checks."""
    key_id: int
    key_name: str
    username: str
    role: str
    scopes: frozenset[str]

    @property
    def via(self) -> str:
        return f"api key {self.key_name}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(k: ApiKey) -> ApiKeyInfo:
    return ApiKeyInfo(k.id, k.name, k.prefix, tuple(k.scopes or ()), k.acting_user, k.created_by,
                      k.created_at, k.last_used_at, k.revoked_at)


def parse_scopes(scopes) -> tuple[str, ...]:
    items = scopes.split(",") if isinstance(scopes, str) else list(scopes or ())
    chosen = sorted({str(s).strip() for s in items if str(s).strip()})
    unknown = [s for s in chosen if s not in SCOPES]
    if unknown or not chosen:
        raise InvalidInput(f"scopes must be one or more of {', '.join(SCOPES)}"
                           + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
    return tuple(chosen)


def create_key(db: Database, name: str, *, scopes, acting_user: str,
               actor: str = SYSTEM_ACTOR) -> CreatedKey:
    """A new key for `acting_user` (admin only). The returned secret is never shown again."""
    name = (name or "").strip().lower()
    if not KEY_NAME.match(name):
        raise InvalidInput("a key name is 2 to 64 characters: a-z, 0-9, '_', '.', '-'")
    chosen = parse_scopes(scopes)
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        user = active_user(s, (acting_user or "").strip().lower())
        if s.scalar(select(ApiKey.id).where(ApiKey.name == name)) is not None:
            raise InvalidInput(f"an API key named {name!r} already exists")
        tag = secrets.token_hex(4)
        secret = f"dk_{tag}_{secrets.token_urlsafe(32)}"
        key = ApiKey(name=name, prefix=f"dk_{tag}", key_hash=_hash(secret), scopes=list(chosen),
                     acting_user=user.username, created_by=actor, created_at=utcnow())
        s.add(key)
        s.flush()
        audit.record(s, case_id=None, actor=actor, kind="api_key.created",
                     after={"key": name, "prefix": key.prefix, "scopes": list(chosen),
                            "acting_user": user.username})
        return CreatedKey(_info(key), secret)


def list_keys(db: Database) -> list[ApiKeyInfo]:
    with db.read() as s:
        return [_info(k) for k in s.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(db: Database, name: str, *, actor: str = SYSTEM_ACTOR) -> ApiKeyInfo:
    """Revoked at once: the next request with it is refused. The row stays for the audit."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        key = s.scalar(select(ApiKey).where(ApiKey.name == (name or "").strip().lower()))
        if key is None:
            raise NotFound(f"no API key named {name!r}")
        if key.revoked_at is None:
            key.revoked_at, key.revoked_by = utcnow(), actor
            audit.record(s, case_id=None, actor=actor, kind="api_key.revoked",
                         after={"key": key.name, "prefix": key.prefix})
        return _info(key)


# The key and its user, by the key's hash: built once (it runs on every request).
_KEY_AND_USER = (
    select(ApiKey.id, ApiKey.name, ApiKey.key_hash, ApiKey.scopes, ApiKey.revoked_at,
           ApiKey.last_used_at, User.username, User.role, User.disabled)
    .outerjoin(User, User.username == ApiKey.acting_user)
    .where(ApiKey.key_hash == bindparam("digest")))


def authenticate(db: Database, presented: str | None) -> ApiPrincipal:
    """The principal for a presented key, or Unauthenticated (never saying which part was
    wrong). A disabled acting user disables the key too.

    A read: one query, no write transaction, so requests do not queue behind the database's
    writers (on SQLite every write transaction holds the one write lock). The key's
    `last_used_at` is written only when the stored value is LAST_USED_EVERY old or more (or
    never set): it is never more than a minute behind the key's last successful use."""
    if not presented or not KEY_PATTERN.match(presented):
        raise Unauthenticated("a valid API key is required (Authorization: Bearer dk_...)")
    digest = _hash(presented)
    with db.read_engine.connect() as conn:  # Core, not a Session: this runs on every request
        key = conn.execute(_KEY_AND_USER, {"digest": digest}).first()
    if key is None or not hmac.compare_digest(key.key_hash, digest) or key.revoked_at:
        raise Unauthenticated("this API key is unknown or revoked")
    if key.username is None or key.disabled:
        raise Unauthenticated("this API key's user is disabled")
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        _note_use(db, key.id, now)
    return ApiPrincipal(key.id, key.name, key.username, key.role, frozenset(key.scopes or ()))


def _note_use(db: Database, key_id: int, now: datetime) -> None:
    """Sets the key's last use to `now` unless another request did within LAST_USED_EVERY
    (two requests seeing a stale value at once: one writes, the other's update matches
    nothing)."""
    with db.unit_of_work() as s:
        s.execute(update(ApiKey)
                  .where(ApiKey.id == key_id,
                         or_(ApiKey.last_used_at.is_(None),
                             ApiKey.last_used_at <= now - LAST_USED_EVERY))
                  .values(last_used_at=now))


def require_scope(principal: ApiPrincipal, scope: str) -> None:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    if scope not in principal.scopes:
        raise NotAllowed(f"API key {principal.key_name!r} lacks the {scope!r} scope")
