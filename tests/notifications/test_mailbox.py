"""The demo mailbox: with no SMTP server set and DOCKET_DEMO_MAILBOX on, an email is kept in
the app, its re-upload link minted and working; off (or with an SMTP server) nothing changes."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core import settings_store
from core.cases import actions as ca
from core.errors import NotAllowed
from core.notifications import mailbox
from core.notifications.reupload_tokens import verify_reupload_token
from core.store.models import CapturedEmail, Delivery, Document
from tests.factories import make_case, version_of
from tests.receivers import SmtpSink, drain


@pytest.fixture(autouse=True)
def public_url(monkeypatch):
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://docket.example")


def ask_for_reupload(db, case_id: str, name: str = "Acme <b>Trading</b> Ltd") -> None:
    make_case(db, case_id, assignee="reviewer", name=name, email="owner@acme.example")
    with db.read() as s:
        doc_id = s.scalar(select(Document.id).where(Document.case_id == case_id))
    v = version_of(db, case_id)
    ca.ask_to_reupload_block(db, case_id, f"document:{doc_id}", actor="reviewer",
                             expected_version=v, reason="Expired document")
    ca.ask_for_reuploads(db, case_id, actor="reviewer", expected_version=v + 1)


def email_states(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Delivery.state).where(Delivery.channel == "email")))


def test_without_smtp_the_demo_mailbox_keeps_the_email_and_its_working_link(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "on")
    ask_for_reupload(db, "C-1")
    drain(db)
    assert email_states(db) == ["delivered"]
    (mail,), total = mailbox.list_mail(db, actor="admin")
    assert total == 1 and mail.case_id == "C-1" and mail.to_address == "owner@acme.example"
    assert mail.event_type == "case.revision_requested" and "C-1" in mail.subject
    assert mail.link.startswith("https://docket.example/?reupload=")
    assert mail.link in mail.text_body and "Expired document" in mail.text_body
    token = mail.link.split("reupload=", 1)[1]
    assert verify_reupload_token(db, token).case_id == "C-1"  # the applicant's page opens
    assert mailbox.get_mail(db, mail.id, actor="admin") == mail


def test_a_retried_notification_is_kept_once(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "on")
    ask_for_reupload(db, "C-1")
    drain(db)
    (mail,), _ = mailbox.list_mail(db, actor="admin")
    with db.read() as s:
        message_id = s.scalar(select(CapturedEmail.message_id))
    mailbox.keep(db, message_id=message_id, case_id="C-1", event_type="x", to_address="a@b.c",
                 to_name="", subject="again", text_body="again", link="")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CapturedEmail)) == 1


def test_with_the_mailbox_off_an_email_without_smtp_is_skipped_as_before(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "off")
    ask_for_reupload(db, "C-1")
    drain(db)
    assert email_states(db) == ["skipped"]
    assert mailbox.list_mail(db, actor="admin") == ([], 0)


def test_with_an_smtp_server_the_email_is_sent_not_kept(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "on")
    with SmtpSink() as sink:
        for k, v in {"smtp.host": "127.0.0.1", "smtp.port": str(sink.port),
                     "smtp.security": "none", "smtp.sender": "kyc@docket.example"}.items():
            settings_store.set_setting(db, k, v, actor="admin")
        ask_for_reupload(db, "C-1")
        drain(db)
        assert len(sink.messages) == 1
    assert email_states(db) == ["delivered"]
    assert mailbox.list_mail(db, actor="admin") == ([], 0)


def test_auto_follows_demo_mode(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "auto")
    monkeypatch.setenv("DOCKET_DEMO_MODE", "on")
    assert mailbox.is_on(db)
    monkeypatch.setenv("DOCKET_DEMO_MODE", "off")
    assert not mailbox.is_on(db)


def test_only_admins_read_the_mailbox(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "on")
    ask_for_reupload(db, "C-1")
    drain(db)
    (mail,), _ = mailbox.list_mail(db, actor="admin")
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            mailbox.list_mail(db, actor=who)
        with pytest.raises(NotAllowed):
            mailbox.get_mail(db, mail.id, actor=who)
