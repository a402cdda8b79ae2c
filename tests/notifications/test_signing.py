"""Standard Webhooks signing: the `whsec_` secret format, and signatures checked by the
independent `standardwebhooks` package (rotation, tampering)."""
from __future__ import annotations

import base64
import json
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.errors import InvalidInput
from core.notifications import signing


def whsec(raw: bytes) -> str:
    return "whsec_" + base64.b64encode(raw).decode()


BODY = json.dumps({"type": "case.approved", "data": {"case": {"id": "C-1", "name": "Zoë"}}},
                  ensure_ascii=False).encode()


# --- secret format ------------------------------------------------------------------------

def test_new_secrets_are_whsec_base64_of_32_random_bytes():
    secrets = {signing.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for s in secrets:
        assert s.startswith("whsec_")
        assert len(signing.secret_bytes(s)) == 32
        assert base64.b64decode(s[6:], validate=True) == signing.secret_bytes(s)


@pytest.mark.parametrize("size", [24, 32, 48, 64])
def test_secret_bytes_accepts_24_to_64_bytes(size):
    raw = bytes(range(size))
    assert signing.secret_bytes(whsec(raw)) == raw


@pytest.mark.parametrize("secret", [
    "", "whsec", "WHSEC_" + base64.b64encode(b"k" * 32).decode(),
    "whsk_" + base64.b64encode(b"k" * 32).decode(), base64.b64encode(b"k" * 32).decode(),
    " whsec_" + base64.b64encode(b"k" * 32).decode(),
])
def test_secret_without_the_whsec_prefix_is_refused(secret):
    with pytest.raises(InvalidInput, match="^a webhook secret starts with whsec_$"):
        signing.secret_bytes(secret)


@pytest.mark.parametrize("tail", [
    "not base64!!",
    base64.b64encode(b"k" * 32).decode().rstrip("="),          # padding missing
    base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),       # base64url alphabet (- _)
    base64.b64encode(b"k" * 32).decode() + " ",
    "QUJD\nREVG" * 4,
])
def test_secret_that_is_not_base64_is_refused(tail):
    with pytest.raises(InvalidInput, match="^a webhook secret is whsec_ followed by base64$"):
        signing.secret_bytes("whsec_" + tail)


@pytest.mark.parametrize("size", [0, 1, 16, 23, 65, 128])
def test_secret_of_the_wrong_length_is_refused(size):
    with pytest.raises(InvalidInput, match="^a webhook secret decodes to 24 to 64 bytes$"):
        signing.secret_bytes(whsec(b"\x01" * size))


def test_signing_with_a_bad_secret_refuses_rather_than_signs():
    with pytest.raises(InvalidInput):
        signing.headers(["whsec_short"], "msg_1", int(time.time()), BODY)


# --- signatures verified by standardwebhooks -------------------------------------------

def test_signature_verifies_with_standardwebhooks_and_matches_its_own():
    secret, ts = signing.new_secret(), int(time.time())
    headers = signing.headers([secret], "msg_2f9a", ts, BODY)
    assert headers["webhook-id"] == "msg_2f9a" and headers["webhook-timestamp"] == str(ts)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    expected = Webhook(secret).sign("msg_2f9a", datetime.fromtimestamp(ts, tz=timezone.utc),
                                    BODY.decode())
    assert headers["webhook-signature"] == expected
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(BODY, headers)


def test_rotation_signs_with_every_secret_each_verifiable_alone():
    secrets = [signing.new_secret() for _ in range(3)]
    ts = int(time.time())
    headers = signing.headers(secrets, "msg_rot", ts, BODY)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 3 and len(set(signatures)) == 3
    assert all(s.startswith("v1,") for s in signatures)
    for secret, signature in zip(secrets, signatures):
        Webhook(secret).verify(BODY, headers)                                # the full header
        Webhook(secret).verify(BODY, {**headers, "webhook-signature": signature})  # its own
        assert signature == signing.sign([secret], "msg_rot", ts, BODY)
    other = signatures[1]
    with pytest.raises(WebhookVerificationError):  # a signature made with another secret
        Webhook(secrets[0]).verify(BODY, {**headers, "webhook-signature": other})
    with pytest.raises(WebhookVerificationError):  # a secret that is not among the active
        Webhook(signing.new_secret()).verify(BODY, headers)


@pytest.mark.parametrize("change", ["body", "one byte", "timestamp", "id", "truncated"])
def test_tampering_fails_verification(change):
    secret, ts = signing.new_secret(), int(time.time())
    headers = signing.headers([secret], "msg_t", ts, BODY)
    body = BODY
    if change == "body":
        body = BODY.replace(b"C-1", b"C-2")
    elif change == "one byte":
        body = BODY[:-2] + bytes([BODY[-2] ^ 1]) + BODY[-1:]
    elif change == "timestamp":
        headers = {**headers, "webhook-timestamp": str(ts - 1)}
    elif change == "id":
        headers = {**headers, "webhook-id": "msg_u"}
    else:
        body = BODY[:-1]
    assert body != BODY or headers != signing.headers([secret], "msg_t", ts, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    Webhook(secret).verify(BODY, signing.headers([secret], "msg_t", ts, BODY))  # untampered ok


def test_timestamp_is_part_of_the_signature_so_an_old_one_is_not_reusable():
    secret = signing.new_secret()
    old = int(time.time()) - 3600
    headers = signing.headers([secret], "msg_old", old, BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(BODY, headers)
    now = int(time.time())
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(BODY, {**headers, "webhook-timestamp": str(now)})


def test_signature_is_over_the_exact_bytes_not_a_re_serialisation():
    secret, ts = signing.new_secret(), int(time.time())
    spaced = json.dumps(json.loads(BODY), indent=2, ensure_ascii=True).encode()
    headers = signing.headers([secret], "msg_b", ts, BODY)
    assert json.loads(spaced) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(spaced, headers)
