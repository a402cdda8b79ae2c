"""Sending one delivery through its channel: webhook, email, SMS gateway or CRM call.

Each sender returns an `Outcome` (delivered / retry / failed / skipped) and never raises for
a delivery problem. Webhooks are signed per Standard Webhooks and POSTed through `safe_http`;
SMS and CRM are templated HTTP calls through the same client; email goes over SMTP. A channel
that is not configured gives `skipped` with the reason. Every text in an outcome (error,
response excerpt) has passed the `Redactor`, so no secret reaches the attempt log.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass, field, replace
from typing import Any

from core import settings_store
from core.errors import InvalidInput
from core.notifications import email as email_channel
from core.notifications import mailbox, safe_http, signing, templates
from core.notifications.redact import Redactor
from core.notifications.retry import parse_retry_after
from core.notifications.reupload_tokens import reupload_link, token_expiry
from core.store.db import Database
from core.workflows.definitions import definition_of

DEMO_SENDER = "Docket demo <docket@demo.invalid>"


@dataclass
class Outcome:
    kind: str                       # delivered | retry | failed | skipped
    status_code: int | None = None
    excerpt: str = ""
    error: str | None = None
    retry_after: float | None = None
    disable_endpoint: str | None = None  # set: disable the webhook endpoint with this reason


@dataclass
class Job:
    """What the dispatcher read about one delivery, enough to send it."""
    delivery_id: int
    message_id: str
    case_id: str
    channel: str
    event_type: str
    target: str
    payload: dict[str, Any]
    endpoint_id: int | None = None
    endpoint_url: str | None = None
    endpoint_secrets: list[str] = field(default_factory=list)
    endpoint_enabled: bool = True
    endpoint_disabled_reason: str | None = None

    def __repr__(self) -> str:  # keep secrets out of any log of the job
        return (f"Job(delivery_id={self.delivery_id}, message_id={self.message_id!r}, "
                f"target={self.target!r}, event_type={self.event_type!r})")


@dataclass(frozen=True)
class HttpOptions:
    timeout: tuple[float, float]
    allowlist: list | None = None  # None: the stored allow-list, else DOCKET_OUTBOUND_ALLOWLIST
    pools: safe_http.ConnectionPools | None = field(default=None, compare=False)  # keep-alive


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, sort_keys=False).encode()


def from_http(result: safe_http.HttpResult, redact: Redactor, *, gone_disables: bool) -> Outcome:
    status = result.status
    excerpt = redact(result.excerpt) or ""
    if 200 <= status < 300:
        return Outcome("delivered", status, excerpt)
    retry_after = parse_retry_after(result.headers.get("retry-after"))
    if status == 410:
        reason = "the receiver answered 410 Gone (it asked us to stop)"
        return Outcome("failed", status, excerpt, f"HTTP 410 Gone; {'endpoint disabled' if gone_disables else 'not retried'}",
                       disable_endpoint=reason if gone_disables else None)
    if 300 <= status < 400:
        location = redact((result.headers.get("location") or "")[:300])
        return Outcome("retry", status, excerpt,
                       f"HTTP {status}: redirects are not followed (Location: {location})",
                       retry_after)
    return Outcome("retry", status, excerpt, f"HTTP {status}", retry_after)


def _http(method: str, url: str, headers: dict[str, str], body: bytes, redact: Redactor,
          opts: HttpOptions, *, gone_disables: bool = False) -> Outcome:
    try:
        result = safe_http.request(method, url, headers=headers, body=body,
                                   timeout=opts.timeout, allowlist=opts.allowlist,
                                   pools=opts.pools)
    except safe_http.UnsafeDestination as e:
        return Outcome("failed", error=redact(str(e)))
    except safe_http.TransportError as e:
        return Outcome("retry", error=redact(str(e)))
    return from_http(result, redact, gone_disables=gone_disables)


# --- webhook ------------------------------------------------------------------------------

def send_webhook(db: Database, job: Job, opts: HttpOptions) -> Outcome:
    redact = Redactor(job.endpoint_secrets)
    if not job.endpoint_url:
        return Outcome("failed", error="the webhook endpoint no longer exists")
    if not job.endpoint_enabled:
        return Outcome("failed", error=f"endpoint disabled: {job.endpoint_disabled_reason or ''}")
    if not job.endpoint_secrets:
        return Outcome("failed", error="the endpoint has no signing secret; rotate its secret")
    body = body_of(job.payload)
    headers = {"Content-Type": "application/json",
               **signing.headers(job.endpoint_secrets, job.message_id, int(time.time()), body)}
    return _http("POST", job.endpoint_url, headers, body, redact, opts, gone_disables=True)


# --- message context shared by email, SMS, CRM --------------------------------------------

def message_context(db: Database, job: Job, *, with_link: bool) -> dict[str, Any]:
    data = job.payload.get("data") or {}
    case = data.get("case") or {}
    with db.read() as s:
        doc_types = definition_of(s, case.get("workflow", "onboarding")).get("document_types", {})
    reuploads = [{**r, "label": doc_types.get(r.get("document_type"),
                                              str(r.get("document_type", "")).replace("_", " ").capitalize())}
                 for r in data.get("reuploads") or []]
    ctx: dict[str, Any] = {
        "event_type": job.event_type, "message_id": job.message_id, "case": case,
        "entity": case.get("entity") or {}, "decision": data.get("decision") or {},
        "reuploads": reuploads, "ubo": data.get("ubo") or {}, "reason": data.get("reason"),
        "reupload_link": "", "link_expires": "", "payload": job.payload,
        "recipient": data.get("recipient") or {}, "digest": data.get("digest") or {},
    }
    if with_link:
        blocks = [r["block"] for r in reuploads]
        if job.event_type == "kyc.reupload_requested" and ctx["ubo"].get("id") is not None:
            blocks = [f"kyc:{ctx['ubo']['id']}"]
        if blocks:
            ctx["reupload_link"] = reupload_link(db, job.case_id, blocks, message_id=job.message_id)
            expires = token_expiry(db, job.message_id)
            ctx["link_expires"] = f"{expires:%d %B %Y}" if expires else ""
    return ctx


# --- email --------------------------------------------------------------------------------

def send_email(db: Database, job: Job, opts: HttpOptions) -> Outcome:
    settings = email_channel.smtp_settings(db)
    if settings is None and not mailbox.is_on(db):  # else kept in the demo mailbox
        return Outcome("skipped", error="email is not configured: set the SMTP host in "
                                        "Settings or DOCKET_SMTP_HOST")
    redact = Redactor([settings.password] if settings else [])
    data = job.payload.get("data") or {}
    if job.event_type == "kyc.reupload_requested":
        person = data.get("ubo") or {}
        to, name = person.get("email"), person.get("full_name", "")
    elif data.get("recipient"):  # an email to staff (outbox.enqueue_staff_email)
        to, name = data["recipient"].get("email"), data["recipient"].get("name", "")
    else:
        entity = (data.get("case") or {}).get("entity") or {}
        to, name = entity.get("email"), entity.get("name", "")
    address = email_channel.valid_address(to)
    if address is None:
        return Outcome("skipped", error="the recipient has no valid email address")
    try:
        ctx = message_context(db, job, with_link=True)
        base = f"email.{job.event_type}"
        subject = templates.render(db, base + ".subject", ctx)
        text = templates.render(db, base + ".text", ctx)
        msg = email_channel.build_message(
            sender=settings.sender if settings else DEMO_SENDER, to=address, to_name=name,
            message_id=job.message_id, subject=subject, text=text,
            html=templates.render(db, base + ".html", ctx))
    except InvalidInput as e:
        return Outcome("failed", error=redact(f"template problem: {e}"))
    except Exception as e:  # a template error: fix the template, then replay
        return Outcome("failed", error=redact(f"template problem: {type(e).__name__}: {e}"))
    if settings is None:  # the demo mailbox (core/notifications/mailbox.py)
        mailbox.keep(db, message_id=job.message_id, case_id=job.case_id,
                     event_type=job.event_type, to_address=address, to_name=name,
                     subject=str(msg["Subject"]), text_body=text, link=ctx["reupload_link"])
        return Outcome("delivered", excerpt="kept in the demo mailbox (no SMTP server is set): "
                                            "see the Sent emails page")
    try:
        reply = email_channel.send(settings, msg, timeout=opts.timeout[0] + opts.timeout[1])
    except email_channel.EmailError as e:
        return Outcome("retry" if e.transient else "failed", error=redact(str(e)))
    return Outcome("delivered", excerpt=reply)


# --- SMS gateway ----------------------------------------------------------------------------

def send_sms(db: Database, job: Job, opts: HttpOptions) -> Outcome:
    v = settings_store.values(db, "sms.url", "sms.user", "sms.password")
    if not v["sms.url"].strip():
        return Outcome("skipped", error="SMS is not configured: set the SMS gateway URL in "
                                        "Settings or DOCKET_SMS_URL")
    redact = Redactor()
    redact.add_basic_auth(v["sms.user"], v["sms.password"])
    data = job.payload.get("data") or {}
    phone = ((data.get("case") or {}).get("entity") or {}).get("phone", "")
    if job.event_type == "kyc.reupload_requested":
        phone = (data.get("ubo") or {}).get("phone", "")
    if not phone or not str(phone).strip():
        return Outcome("skipped", error="the recipient has no phone number")
    name = f"sms.{job.event_type}"
    try:
        ctx = message_context(db, job, with_link=False)
        text = templates.render(db, name, ctx) if name in templates.DEFAULTS else ""
        body = templates.render(db, "sms.request", {**ctx, "to": str(phone).strip(), "text": text})
    except Exception as e:
        return Outcome("failed", error=redact(f"template problem: {type(e).__name__}: {e}"))
    headers = {"Content-Type": "application/json", "Idempotency-Key": job.message_id}
    if v["sms.user"] or v["sms.password"]:
        if v["sms.user"]:
            token = base64.b64encode(f"{v['sms.user']}:{v['sms.password']}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        else:
            headers["Authorization"] = f"Bearer {v['sms.password']}"
    return _http("POST", v["sms.url"].strip(), headers, body.encode(), redact, opts)


# --- CRM call -----------------------------------------------------------------------------

def send_crm(db: Database, job: Job, opts: HttpOptions) -> Outcome:
    v = settings_store.values(db, "crm.url", "crm.method", "crm.headers")
    if not v["crm.url"].strip():
        return Outcome("skipped", error="the CRM call is not configured: set the CRM URL in "
                                        "Settings or DOCKET_CRM_URL")
    try:
        extra = json.loads(v["crm.headers"]) if v["crm.headers"].strip() else {}
    except json.JSONDecodeError:
        return Outcome("failed", error="crm.headers is not a JSON object")
    if not isinstance(extra, dict):
        return Outcome("failed", error="crm.headers is not a JSON object")
    redact = Redactor(str(x) for x in extra.values())
    for value in extra.values():  # "Bearer abc": hide the token alone too
        for part in str(value).split():
            redact.add(part if len(part) >= 8 else None)
    try:
        body = templates.render(db, "crm.request", message_context(db, job, with_link=False))
    except Exception as e:
        return Outcome("failed", error=redact(f"template problem: {type(e).__name__}: {e}"))
    headers = {"Content-Type": "application/json", "Idempotency-Key": job.message_id,
               **{str(k): str(x) for k, x in extra.items()}}
    method = (v["crm.method"] or "POST").upper()
    return _http(method, v["crm.url"].strip(), headers, body.encode(), redact, opts)


SENDERS = {"webhook": send_webhook, "email": send_email, "sms": send_sms, "crm": send_crm}


def send(db: Database, job: Job, opts: HttpOptions) -> Outcome:
    sender = SENDERS.get(job.channel)
    if sender is None:
        return Outcome("skipped", error=f"unknown channel {job.channel!r}")
    if opts.allowlist is None and job.channel != "email":  # read at each delivery: a change
        opts = replace(opts, allowlist=safe_http.configured_allowlist(db))  # applies at once
    return sender(db, job, opts)
