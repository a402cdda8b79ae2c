""""Send test" for the Settings page: one test message through the email, SMS or CRM channel
with the settings as they are now, the outcome told in one sentence.

It uses the channels' own pieces (`core.notifications.email`, `safe_http`, `settings_store`)
so the test travels the way a real notification would: same SMTP login and security, same
SSRF policy and allow-list, same auth headers. Secrets never appear in the outcome (the
`Redactor` masks them). Admin only (MANAGE_INTEGRATIONS); each test is audited, without
secrets.
"""
from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass

from core import config, settings_store
from core.access.actors import require_integrations_admin
from core.errors import InvalidInput
from core.notifications import email as email_channel
from core.notifications import safe_http
from core.notifications.redact import Redactor
from core.store import audit
from core.store.db import Database

CHANNELS = ("email", "sms", "crm")
TEST_TEXT = "This is a test message from Docket. No action is needed."


@dataclass(frozen=True)
class TestOutcome:
    channel: str
    ok: bool
    message: str


def _timeout() -> tuple[float, float]:
    return (float(config.setting("DOCKET_HTTP_CONNECT_TIMEOUT")),
            float(config.setting("DOCKET_HTTP_READ_TIMEOUT")))


def _email(db: Database, recipient: str) -> TestOutcome:
    settings = email_channel.smtp_settings(db)
    if settings is None:
        return TestOutcome("email", False, "email is not configured: set the SMTP host first")
    address = email_channel.valid_address(recipient)
    if address is None:
        raise InvalidInput("give an email address to send the test email to")
    redact = Redactor([settings.password])
    msg = email_channel.build_message(
        sender=settings.sender, to=address, to_name="", subject="Docket test email",
        text=TEST_TEXT, html=None, message_id=f"test_{secrets.token_hex(8)}")
    try:
        reply = email_channel.send(settings, msg, timeout=sum(_timeout()))
    except email_channel.EmailError as e:
        return TestOutcome("email", False, redact(f"not sent: {e}"))
    return TestOutcome("email", True, redact(f"sent to {address} ({reply})".strip()))


def _http(db: Database, channel: str, method: str, url: str, headers: dict[str, str],
          body: dict, redact: Redactor) -> TestOutcome:
    try:
        result = safe_http.request(method, url, headers=headers,
                                   body=json.dumps(body).encode(), timeout=_timeout(), db=db)
    except (safe_http.UnsafeDestination, InvalidInput) as e:
        return TestOutcome(channel, False, redact(f"refused, nothing sent: {e}"))
    except safe_http.TransportError as e:
        return TestOutcome(channel, False, redact(f"not sent: {e}"))
    ok = 200 <= result.status < 300
    excerpt = " ".join((result.excerpt or "").split())[:200]
    return TestOutcome(channel, ok, redact(f"the server answered HTTP {result.status}"
                                           + (f": {excerpt}" if excerpt else "")))


def _sms(db: Database, recipient: str) -> TestOutcome:
    v = settings_store.values(db, "sms.url", "sms.user", "sms.password")
    if not v["sms.url"].strip():
        return TestOutcome("sms", False, "SMS is not configured: set the gateway URL first")
    if not recipient.strip():
        raise InvalidInput("give a phone number to send the test SMS to")
    redact = Redactor()
    redact.add_basic_auth(v["sms.user"], v["sms.password"])
    headers = {"Content-Type": "application/json"}
    if v["sms.user"]:
        token = base64.b64encode(f"{v['sms.user']}:{v['sms.password']}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    elif v["sms.password"]:
        headers["Authorization"] = f"Bearer {v['sms.password']}"
    return _http(db, "sms", "POST", v["sms.url"].strip(), headers,
                 {"to": recipient.strip()[:40], "text": TEST_TEXT, "test": True}, redact)


def _crm(db: Database) -> TestOutcome:
    v = settings_store.values(db, "crm.url", "crm.method", "crm.headers")
    if not v["crm.url"].strip():
        return TestOutcome("crm", False, "the CRM call is not configured: set the CRM URL first")
    try:
        extra = json.loads(v["crm.headers"]) if v["crm.headers"].strip() else {}
    except json.JSONDecodeError:
        extra = None
    if not isinstance(extra, dict):
        return TestOutcome("crm", False, "the CRM headers are not a JSON object")
    redact = Redactor(str(x) for x in extra.values())
    for value in extra.values():
        for part in str(value).split():
            redact.add(part if len(part) >= 8 else None)
    headers = {"Content-Type": "application/json", **{str(k): str(x) for k, x in extra.items()}}
    return _http(db, "crm", (v["crm.method"] or "POST").upper(), v["crm.url"].strip(), headers,
                 {"type": "docket.test", "message": TEST_TEXT}, redact)


def send_test(db: Database, channel: str, *, actor: str, recipient: str = "") -> TestOutcome:
    """Sends one test message through `channel` (email, sms, crm) and says what happened."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(CHANNELS)}")
    with db.read() as s:
        require_integrations_admin(s, actor)
    if channel == "email":
        outcome = _email(db, recipient)
    elif channel == "sms":
        outcome = _sms(db, recipient)
    else:
        outcome = _crm(db)
    with db.unit_of_work() as s:
        audit.record(s, case_id=None, actor=actor, kind="settings.test_sent",
                     after={"channel": channel, "ok": outcome.ok, "outcome": outcome.message[:500]})
    return outcome
