"""Webhooks end to end: decisions taken through core.cases.actions reach a real HTTP receiver
on loopback, signed per Standard Webhooks (checked with the `standardwebhooks` package), with
the payload's fields; emails reach a real SMTP server; SMS and CRM calls are real HTTP."""
from __future__ import annotations

import json
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from core import settings_store
from core.cases import actions as ca
from core.errors import InvalidInput, NotAllowed
from core.notifications import deliveries as dl
from core.notifications import endpoints as ep
from core.notifications.outbox import API_VERSION
from core.notifications.reupload_tokens import verify_reupload_token
from core.store.models import AuditEvent, Delivery, DeliveryAttempt, OutboxMessage, Workflow
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, SmtpSink, drain, text_part


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://docket.example")


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def endpoint(db, receiver, **kw):
    created = ep.create_endpoint(db, receiver.url, actor="admin", **kw)
    receiver.secrets.append(created.secret)
    return created


def decide(db, case_id, action, **kw):
    make_case(db, case_id, documents=kw.pop("documents", 1), ubos=kw.pop("ubos", 0),
              assignee="reviewer", reviewed=action == "approve", email=kw.pop("email", "owner@acme.example"))
    v = version_of(db, case_id)
    if action == "approve":
        ca.approve_case(db, case_id, actor="reviewer", expected_version=v, reason="all good")
    elif action == "reject":
        ca.reject_case(db, case_id, actor="reviewer", expected_version=v, reason="fake papers")
    elif action == "ask_for_reuploads":
        ca.ask_to_reupload_block(db, case_id, "document:" + str(_doc_id(db, case_id, 1)),
                                 actor="reviewer", expected_version=v, reason="Expired document")
        ca.ask_for_reuploads(db, case_id, actor="reviewer", expected_version=v + 1)
    elif action == "kyc":
        ca.ask_to_reupload_block(db, case_id, "kyc:" + str(_ubo_id(db, case_id)),
                                 actor="reviewer", expected_version=v, reason="Blurry photo")


def _doc_id(db, case_id, index):
    from core.store.models import Document
    with db.read() as s:
        return s.scalars(select(Document.id).where(Document.case_id == case_id)
                         .order_by(Document.id)).all()[index]


def _ubo_id(db, case_id):
    from core.store.models import Ubo
    with db.read() as s:
        return s.scalar(select(Ubo.id).where(Ubo.case_id == case_id))


def smtp_to(db, sink):
    for key, value in (("smtp.host", "127.0.0.1"), ("smtp.port", str(sink.port)),
                       ("smtp.security", "none"), ("smtp.sender", "KYC team <kyc@docket.example>")):
        settings_store.set_setting(db, key, value, actor="admin")


def test_decisions_deliver_signed_webhooks_and_emails(db, receiver):
    created = endpoint(db, receiver)
    with SmtpSink() as sink:
        smtp_to(db, sink)
        decide(db, "C-1", "approve")
        decide(db, "C-2", "reject")
        decide(db, "C-3", "ask_for_reuploads", documents=2)
        decide(db, "C-4", "kyc", ubos=1)
        drain(db)
        assert len(sink.messages) == 4
        messages = {m["To"].split("<")[-1].rstrip(">"): m for m in sink.messages}
        by_message_id = {m["X-Docket-Message-Id"]: m for m in sink.messages}
        assert len(by_message_id) == 4

    got = receiver.ok()
    assert len(got) == 3 and all(r["verified"] for r in got), [r["verify_error"] for r in got]
    by_case = {r["payload"]["data"]["case"]["id"]: r for r in got}
    with db.read() as s:
        outbox = {(o.case_id, o.channel): o for o in s.scalars(select(OutboxMessage))}
    expected = {"C-1": ("case.approved", "approve", "all good"),
                "C-2": ("case.rejected", "reject", "fake papers"),
                "C-3": ("case.revision_requested", "ask_for_reuploads", None)}
    for case_id, (event, action, reason) in expected.items():
        rec = by_case[case_id]
        p = rec["payload"]
        assert rec["headers"]["webhook-id"] == outbox[(case_id, "webhook")].message_id
        assert rec["headers"]["content-type"] == "application/json"
        assert p["type"] == event and p["api_version"] == API_VERSION and p["timestamp"]
        d = p["data"]["decision"]
        assert (d["action"], d["reason"], d["actor"]) == (action, reason, "reviewer") and d["at"]
        assert p["data"]["case"]["entity"]["name"] == "Acme Trading Ltd"
        assert p["data"]["case"]["workflow"] == "onboarding"
    assert by_case["C-3"]["payload"]["data"]["reuploads"][0]["reason"] == "Expired document"
    assert by_case["C-1"]["payload"]["data"]["case"]["status"] == "approved"
    assert "kyc.reupload_requested" not in {r["payload"]["type"] for r in got}  # email only

    # the revision email lists the document with its reason and a working link
    msg = [m for m in sink.messages if "new documents" in m["Subject"]][0]
    text = text_part(msg)
    assert "Passport: Expired document" in text
    link = [w for w in text.split() if w.startswith("https://docket.example/?reupload=")][0]
    token = parse_qs(urlsplit(link).query)["reupload"][0]
    scope = verify_reupload_token(db, token)
    assert scope.case_id == "C-3" and scope.blocks == (f"document:{_doc_id(db, 'C-3', 1)}",)
    assert "Expired document" in text_part(msg, "html")
    kyc = messages["o0@acme.example"]
    assert "verify your identity" in text_part(kyc)
    assert verify_reupload_token(db, parse_qs(urlsplit(
        [w for w in text_part(kyc).split() if "reupload=" in w][0]).query)["reupload"][0]
    ).blocks == (f"kyc:{_ubo_id(db, 'C-4')}",)
    # the approval email: the one sent for C-1's email notification, about C-1 and its entity
    approval = by_message_id[outbox[("C-1", "email")].message_id]
    assert approval["Subject"] == "Your application C-1 has been approved"
    assert approval["To"] == "Acme Trading Ltd <owner@acme.example>"
    assert "Hello Acme Trading Ltd," in text_part(approval)
    assert "application C-1 has been approved" in text_part(approval)
    assert "Note from our team: all good" in text_part(approval)

    with db.read() as s:
        states = {(d.case_id, d.channel): d.state for d in s.scalars(select(Delivery))}
        assert set(states.values()) == {"delivered"}
        assert all(o.state == "delivered" for o in s.scalars(select(OutboxMessage)))
        attempts = s.scalars(select(DeliveryAttempt)).all()
        assert {a.status_code for a in attempts if a.status_code} == {200}
        assert all(a.duration_ms >= 0 and a.outcome == "delivered" for a in attempts)
        kinds = [e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == "C-1"))]
    assert kinds.count("notification.delivered") == 2
    assert created.secret not in json.dumps([a.__dict__ for a in dl.list_deliveries(db)], default=str)


def test_endpoint_filters_secret_once_and_admin_only(db, receiver):
    with pytest.raises(NotAllowed):
        ep.create_endpoint(db, receiver.url, actor="reviewer")
    approved_only = endpoint(db, receiver, event_types=["case.approved"])
    other_wf = ep.create_endpoint(db, receiver.url, actor="admin", workflow="ongoing_monitoring")
    assert approved_only.secret.startswith("whsec_") and "***" in repr(approved_only)
    assert not any(hasattr(e, "secrets") or hasattr(e, "secret") for e in ep.list_endpoints(db))
    with pytest.raises(InvalidInput, match="unknown event type"):
        ep.create_endpoint(db, receiver.url, actor="admin", event_types=["case.nope"])
    decide(db, "C-1", "approve")
    decide(db, "C-2", "reject")
    drain(db)
    got = receiver.ok()
    assert [r["payload"]["type"] for r in got] == ["case.approved"]
    with db.read() as s:
        targets = {d.target for d in s.scalars(select(Delivery).where(Delivery.channel == "webhook"))}
    assert targets == {f"endpoint:{approved_only.endpoint.id}", "webhook"}  # C-2: none matched
    assert other_wf.endpoint.workflow == "ongoing_monitoring"
    skipped = dl.list_deliveries(db, status="skipped")
    assert any("no enabled webhook endpoint" in (d.last_error or "") for d in skipped)


def test_secret_rotation_signs_with_old_and_new(db, receiver):
    created = endpoint(db, receiver)
    new = ep.rotate_secret(db, created.endpoint.id, actor="admin")
    receiver.secrets = [new]
    decide(db, "C-1", "approve")
    drain(db)
    assert receiver.ok()[0]["verified"]
    sig = receiver.ok()[0]["headers"]["webhook-signature"].split(" ")
    assert len(sig) == 2 and all(p.startswith("v1,") for p in sig)
    receiver.secrets = [created.secret]  # the old one still verifies during the rotation
    ep.drop_previous_secrets(db, created.endpoint.id, actor="admin")
    decide(db, "C-2", "approve")
    drain(db)
    assert not receiver.ok()[-1]["verified"]  # old secret dropped: no longer signs


def test_unconfigured_channels_are_skipped_not_retried(db, monkeypatch):
    monkeypatch.delenv("DOCKET_SMTP_HOST", raising=False)
    with db.unit_of_work() as s:
        wf = s.get(Workflow, "onboarding")
        wf.definition = {**wf.definition, "notifications": {
            "approve": ["webhook", "email", "sms", "crm"]}}
    decide(db, "C-1", "approve")
    drain(db)
    with db.read() as s:
        rows = {d.channel: d for d in s.scalars(select(Delivery))}
        assert {c: d.state for c, d in rows.items()} == {c: "skipped" for c in
                                                        ("webhook", "email", "sms", "crm")}
        assert "SMTP host" in rows["email"].last_error and "SMS" in rows["sms"].last_error
        assert rows["email"].attempts == 1 and rows["email"].next_attempt_at is not None
        assert {o.state for o in s.scalars(select(OutboxMessage))} == {"skipped"}


def test_sms_and_crm_are_real_http_and_secrets_stay_out(db, receiver, caplog):
    receiver.behaviour = lambda rec: (500 if len(receiver.all()) < 2 else 200, {},
                                      json.dumps(rec["headers"]).encode())  # echoes credentials
    with db.unit_of_work() as s:
        wf = s.get(Workflow, "onboarding")
        wf.definition = {**wf.definition, "notifications": {"reject": ["sms", "crm"]}}
    for k, v in (("sms.url", receiver.url.replace("/hook", "/sms")), ("sms.user", "docket"),
                 ("sms.password", "sms-pass-0123456789"),
                 ("crm.url", receiver.url.replace("/hook", "/crm")), ("crm.method", "PUT"),
                 ("crm.headers", json.dumps({"Authorization": "Bearer crm-token-abcdef123456"}))):
        settings_store.set_setting(db, k, v, actor="admin")
    with pytest.raises(NotAllowed):
        settings_store.set_setting(db, "sms.password", "x" * 12, actor="reviewer")
    caplog.set_level("DEBUG")
    decide(db, "C-1", "reject")
    drain(db)
    ok = {r["path"]: r for r in receiver.ok()}
    sms = json.loads(ok["/sms"]["body"])
    assert sms["to"] == "+852 5555 0100" and "could not be approved" in sms["text"]
    assert ok["/sms"]["headers"]["authorization"].startswith("Basic ")
    crm = json.loads(ok["/crm"]["body"])
    assert ok["/crm"]["method"] == "PUT" and crm["case_id"] == "C-1"
    assert crm["event"] == "case.rejected" and crm["decision"]["reason"] == "fake papers"
    assert ok["/crm"]["headers"]["idempotency-key"] == crm["message_id"]
    with db.read() as s:
        stored = json.dumps([(a.response_excerpt, a.error) for a in s.scalars(select(DeliveryAttempt))])
        audit_text = json.dumps([(e.before, e.after) for e in s.scalars(select(AuditEvent))])
    listed = json.dumps([x.__dict__ for x in settings_store.list_settings(db)], default=str)
    for secret in ("sms-pass-0123456789", "crm-token-abcdef123456"):
        for text in (stored, audit_text, listed, caplog.text):
            assert secret not in text
    assert "***" in stored  # the echoed credentials were there, redacted
    info = {i.key: i for i in settings_store.list_settings(db)}
    assert info["sms.password"].value is None and info["sms.password"].is_set
    assert info["sms.url"].source == "database"


def run_cli(database_url, *args, env_extra=None):
    import os
    env = {**os.environ, "DOCKET_DATABASE_URL": database_url,
           "DOCKET_OUTBOUND_ALLOWLIST": LOOPBACK_ALLOWLIST, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "core", *args], capture_output=True, text=True,
                          env=env, timeout=60)


def test_cli_endpoints_worker_deliveries(db, database_url, receiver):
    out = run_cli(database_url, "endpoints", "add", receiver.url, "--event", "case.approved")
    assert out.returncode == 0, out.stderr
    secret = out.stdout.split("shown once, keep it now): ")[1].strip()
    receiver.secrets.append(secret)
    listed = run_cli(database_url, "endpoints", "list")
    assert receiver.url in listed.stdout and secret not in listed.stdout
    decide(db, "C-1", "approve")
    worker = run_cli(database_url, "worker", "--once",
                     env_extra={"DOCKET_SMTP_HOST": ""})
    assert worker.returncode == 0, worker.stderr
    assert receiver.ok() and receiver.ok()[0]["verified"]
    table = run_cli(database_url, "deliveries", "--status", "delivered")
    assert "delivered: 1" in table.stdout and "endpoint:1" in table.stdout
    did = [d.id for d in dl.list_deliveries(db, status="delivered")][0]
    replay = run_cli(database_url, "deliveries", "--replay", str(did))
    assert replay.returncode == 0, replay.stderr
    run_cli(database_url, "worker", "--once")
    assert len({r["id"] for r in receiver.ok()}) == 1 and len(receiver.ok()) == 2  # same id
    attempts = run_cli(database_url, "deliveries", "--attempts", str(did))
    assert "delivered" in attempts.stdout and secret not in attempts.stdout
    disable = run_cli(database_url, "endpoints", "disable", "1", "--reason", "maintenance")
    assert disable.returncode == 0 and "DISABLED (maintenance)" in run_cli(
        database_url, "endpoints", "list").stdout


def test_embedded_background_dispatcher_delivers(db, receiver, monkeypatch):
    from core.notifications.dispatcher import (
        start_background_dispatcher,
        stop_background_dispatcher,
    )
    from tests.receivers import HANG_TIMEOUT, fast_config, wait_until
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "on")
    endpoint(db, receiver)
    thread = start_background_dispatcher(db, fast_config())
    try:
        assert thread.daemon and start_background_dispatcher(db) is thread  # one per process
        decide(db, "C-1", "approve")
        # nothing else sends it: the webhook arriving at all shows the thread at work
        wait_until("the background dispatcher's webhook", receiver.ok)
        assert receiver.ok()[0]["verified"]
        assert receiver.ok()[0]["payload"]["data"]["case"]["id"] == "C-1"
    finally:
        stop_background_dispatcher(HANG_TIMEOUT)
    assert not thread.is_alive()
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "off")
    assert start_background_dispatcher(db) is None
