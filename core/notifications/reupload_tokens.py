"""Signed, expiring, single-use re-upload links for applicants (and UBOs' new KYC flow).

A token is `v1.<payload>.<signature>`: the payload (token id, case id, block refs, expiry)
in base64url JSON, HMAC-SHA256 signed with DOCKET_REUPLOAD_TOKEN_SECRET (or a key generated
once into the settings table). Each token id is recorded in `reupload_tokens`, which makes it
single-use (`consume_reupload_token`) and lets an email retry re-send the very same link.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import settings_store
from core.errors import InvalidInput
from core.store.db import Database
from core.store.models import ReuploadToken, utcnow

TTL = timedelta(days=30)  # the default lifetime; in force: settings_store.reupload_link_lifetime
SECRET_KEY = "reupload.token_secret"
MAX_TOKEN = 4000


class InvalidReuploadToken(InvalidInput):
    """`reason` is forged, expired, used or scope: the page shows a clear message for each."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ReuploadScope:
    token_id: str
    case_id: str
    blocks: tuple[str, ...]
    expires_at: datetime


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(db: Database) -> bytes:
    return settings_store.stored_or_create_secret(
        db, SECRET_KEY, lambda: secrets.token_urlsafe(48)).encode()


def _encode(key: bytes, row: ReuploadToken) -> str:
    payload = {"t": row.id, "c": row.case_id, "b": list(row.blocks),
               "e": int((row.expires_at - datetime(1970, 1, 1)).total_seconds())}
    body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    sig = _b64(hmac.new(key, f"v1.{body}".encode(), hashlib.sha256).digest())
    return f"v1.{body}.{sig}"


def create_reupload_token(db: Database, case_id: str, blocks: list[str], *,
                          message_id: str | None = None, ttl: timedelta | None = None) -> str:
    """A new token for these blocks of the case; with `message_id`, the same token is returned
    again for the same notification (an email retry sends the same link). `ttl` None: the
    lifetime set on the Settings page, else DOCKET_REUPLOAD_LINK_DAYS (30 days)."""
    if not blocks:
        raise InvalidInput("a re-upload link needs at least one block")
    key = _key(db)
    if ttl is None:
        ttl = settings_store.reupload_link_lifetime(db)
    with db.unit_of_work() as s:
        row = None
        if message_id:
            row = s.scalars(select(ReuploadToken).where(
                ReuploadToken.message_id == message_id,
                ReuploadToken.case_id == case_id)).first()
        if row is None:
            now = utcnow().replace(microsecond=0)
            row = ReuploadToken(id=secrets.token_hex(16), case_id=case_id,
                                blocks=[str(b) for b in blocks], message_id=message_id,
                                created_at=now, expires_at=now + ttl)
            s.add(row)
        return _encode(key, row)


def public_url(db: Database) -> str:
    return settings_store.public_url(db)[0]


def reupload_link(db: Database, case_id: str, blocks: list[str], *,
                  message_id: str | None = None) -> str:
    """The link an applicant follows: `{public address}/?reupload=<token>`, the address as
    `core.settings_store.public_url` finds it."""
    token = create_reupload_token(db, case_id, blocks, message_id=message_id)
    return f"{public_url(db)}/?reupload={quote(token, safe='')}"


def token_expiry(db: Database, message_id: str) -> datetime | None:
    with db.read() as s:
        return s.scalar(select(ReuploadToken.expires_at)
                        .where(ReuploadToken.message_id == message_id))


_FORGED = "This link is not valid: it was changed or not issued by us."


def verify_reupload_token(db: Database, token: str, *, case_id: str | None = None,
                          block: str | None = None) -> ReuploadScope:
    """The scope a token grants, or InvalidReuploadToken (forged / expired / used / scope).
    With `case_id` or `block`, the token must cover them."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise InvalidReuploadToken("forged", _FORGED)
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != "v1":
        raise InvalidReuploadToken("forged", _FORGED)
    try:
        given = _unb64(parts[2])
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, json.JSONDecodeError):
        raise InvalidReuploadToken("forged", _FORGED) from None
    expected = hmac.new(_key(db), f"v1.{parts[1]}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(given, expected) or not isinstance(payload, dict):
        raise InvalidReuploadToken("forged", _FORGED)
    with db.read() as s:
        row = s.get(ReuploadToken, str(payload.get("t")))
    if row is None or row.case_id != payload.get("c") or list(row.blocks) != payload.get("b"):
        raise InvalidReuploadToken("forged", _FORGED)
    signed_expiry = payload.get("e")
    if not isinstance(signed_expiry, int):
        raise InvalidReuploadToken("forged", _FORGED)
    now = utcnow()
    if now >= row.expires_at or (now - datetime(1970, 1, 1)).total_seconds() >= signed_expiry:
        raise InvalidReuploadToken(
            "expired", f"This link expired on {row.expires_at:%d %B %Y}. Please ask us for a new one.")
    if row.used_at is not None:
        raise InvalidReuploadToken(
            "used", f"This link was already used on {row.used_at:%d %B %Y at %H:%M} UTC. "
                    "Each link works once; ask us for a new one if needed.")
    if case_id is not None and case_id != row.case_id:
        raise InvalidReuploadToken("scope", "This link is for another application.")
    if block is not None and str(block) not in row.blocks:
        raise InvalidReuploadToken("scope", "This link does not cover that document.")
    return ReuploadScope(row.id, row.case_id, tuple(row.blocks), row.expires_at)


def consume_reupload_token(session: Session, token_id: str) -> None:
    """Mark the token used, in the caller's transaction (the one storing the upload); a
    second use, even a concurrent one, raises InvalidReuploadToken('used')."""
    result = session.execute(update(ReuploadToken)
                             .where(ReuploadToken.id == token_id, ReuploadToken.used_at.is_(None))
                             .values(used_at=utcnow()))
    if result.rowcount != 1:
        raise InvalidReuploadToken("used", "This link was already used. Each link works once.")
