"""Standard Webhooks signatures: `whsec_` secrets and the `webhook-signature` header.

Signed content is `{webhook-id}.{webhook-timestamp}.{body}`, HMAC-SHA256 with the secret's
base64-decoded bytes; during a rotation every active secret signs (space-separated `v1,...`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as _secrets

from core.errors import InvalidInput

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(_secrets.token_bytes(32)).decode()


def secret_bytes(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise InvalidInput("a webhook secret starts with whsec_")
    try:
        raw = base64.b64decode(secret[len(PREFIX):], validate=True)
    except ValueError:
        raise InvalidInput("a webhook secret is whsec_ followed by base64") from None
    if not 24 <= len(raw) <= 64:
        raise InvalidInput("a webhook secret decodes to 24 to 64 bytes")
    return raw


def sign(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> str:
    to_sign = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_bytes(s), to_sign, hashlib.sha256).digest()).decode()
        for s in secrets)


def headers(secrets: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secrets, msg_id, timestamp, body)}
