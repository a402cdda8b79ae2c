"""Email over a real SMTP server (aiosmtpd), editable templates in a sandbox, SMTP settings
with write-only secrets, and the re-upload token (forged / expired / used / out of scope)."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select, update

from core import settings_store
from core.cases import actions as ca
from core.errors import InvalidInput, NotAllowed
from core.notifications import templates
from core.notifications.email import EmailError, build_message, send, smtp_settings
from core.notifications.reupload_tokens import (
    InvalidReuploadToken,
    consume_reupload_token,
    create_reupload_token,
    reupload_link,
    verify_reupload_token,
)
from core.store.models import Delivery, DeliveryAttempt, ReuploadToken, utcnow
from tests.factories import make_case, version_of
from tests.receivers import (
    SmtpSink,
    TcpTap,
    drain,
    fast_config,
    make_tls_files,
    text_part,
)


@pytest.fixture(autouse=True)
def public_url(monkeypatch):
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://docket.example/")


def use_smtp(db, sink, **extra):
    values = {"smtp.host": "127.0.0.1", "smtp.port": str(sink.port), "smtp.security": "none",
              "smtp.sender": "KYC team <kyc@docket.example>", **extra}
    for k, v in values.items():
        settings_store.set_setting(db, k, v, actor="admin")


def email_deliveries(db):
    with db.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.channel == "email")))


def reject(db, case_id, name="Acme Trading Ltd", email="owner@acme.example"):
    make_case(db, case_id, assignee="reviewer", name=name, email=email)
    ca.reject_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id),
                   reason="Documents <b>forged</b>")


def test_decision_notice_text_and_escaped_html(db):
    with SmtpSink() as sink:
        use_smtp(db, sink)
        reject(db, "C-1", name="Evil <script>alert(1)</script> Ltd")
        drain(db)
        (msg,) = sink.messages
    assert msg["From"] == "KYC team <kyc@docket.example>" and "C-1" in msg["Subject"]
    assert sink.envelopes[0].rcpt_tos == ["owner@acme.example"]
    assert msg["Message-ID"].startswith("<msg_")
    text, html = text_part(msg), text_part(msg, "html")
    assert "Evil <script>alert(1)</script> Ltd" in text and "Documents <b>forged</b>" in text
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;forged" in html


def test_edited_template_is_used_and_bad_templates_are_refused(db):
    with pytest.raises(InvalidInput, match="line"):
        templates.set_template(db, "email.case.rejected.subject", "{% if %}", actor="admin")
    with pytest.raises(InvalidInput, match="undefined"):
        templates.set_template(db, "email.case.rejected.subject", "{{ nope.x }}", actor="admin")
    with pytest.raises(InvalidInput, match="unsafe|not safely|access"):
        templates.set_template(db, "email.case.rejected.text",
                               "{{ ''.__class__.__mro__[1].__subclasses__() }}", actor="admin")
    with pytest.raises(InvalidInput, match="JSON"):
        templates.set_template(db, "crm.request", "not json {{ case.id }}", actor="admin")
    with pytest.raises(NotAllowed):
        templates.set_template(db, "email.case.rejected.subject", "Hi", actor="reviewer")
    templates.set_template(db, "email.case.rejected.subject",
                           "Decision on {{ case.id }} for {{ entity.name }}", actor="admin")
    with SmtpSink() as sink:
        use_smtp(db, sink)
        reject(db, "C-1")
        drain(db)
        assert sink.messages[0]["Subject"] == "Decision on C-1 for Acme Trading Ltd"
    info = {t.name: t for t in templates.list_templates(db)}
    assert not info["email.case.rejected.subject"].is_default
    templates.reset_template(db, "email.case.rejected.subject", actor="admin")
    assert templates.source(db, "email.case.rejected.subject") == \
        templates.DEFAULTS["email.case.rejected.subject"]


def test_smtp_login_with_write_only_password(db):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == b"mailer" and auth_data.password == b"smtp-secret-pass-42"
        return AuthResult(success=ok, handled=False)

    with SmtpSink(authenticator=authenticator, auth_require_tls=False) as sink:
        use_smtp(db, sink, **{"smtp.user": "mailer", "smtp.password": "wrong-password-00"})
        reject(db, "C-1")
        drain(db, fast_config(schedule=()))
        (d,) = email_deliveries(db)
        assert d.state == "failed" and "login refused" in d.last_error
        settings_store.set_setting(db, "smtp.password", "smtp-secret-pass-42", actor="admin")
        from core.notifications.deliveries import replay_delivery
        replay_delivery(db, d.id, actor="admin")
        drain(db)
        assert len(sink.messages) == 1 and email_deliveries(db)[0].state == "delivered"
    listed = {i.key: i for i in settings_store.list_settings(db)}
    assert listed["smtp.password"].value is None and listed["smtp.password"].is_set
    with db.read() as s:
        texts = " ".join(f"{a.error} {a.response_excerpt}" for a in s.scalars(select(DeliveryAttempt)))
    assert "smtp-secret-pass-42" not in texts and "wrong-password-00" not in texts
    assert "smtp-secret-pass-42" not in repr(__import__("core.notifications.email", fromlist=["x"])
                                             .smtp_settings(db))


def test_smtp_5xx_fails_and_4xx_retries(db):
    codes = ["450 mailbox busy", "250 OK"]

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("nobody@"):
                return "550 no such user"
            reply = codes.pop(0) if codes else "250 OK"
            if reply.startswith("250"):
                envelope.rcpt_tos.append(address)
            return reply

        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    with SmtpSink(Handler()) as sink:
        use_smtp(db, sink)
        reject(db, "C-1", email="nobody@acme.example")
        reject(db, "C-2")
        drain(db)
    by_case = {d.case_id: d for d in email_deliveries(db)}
    assert by_case["C-1"].state == "failed" and "550" in by_case["C-1"].last_error
    assert by_case["C-1"].attempts == 1
    assert by_case["C-2"].state == "delivered" and by_case["C-2"].attempts == 2


def test_missing_address_is_skipped(db):
    with SmtpSink() as sink:
        use_smtp(db, sink)
        reject(db, "C-1", email="")
        drain(db)
    (d,) = email_deliveries(db)
    assert d.state == "skipped" and "no valid email address" in d.last_error


def test_settings_validation_and_admin_only(db):
    with pytest.raises(InvalidInput, match="smtp.security"):
        settings_store.set_setting(db, "smtp.security", "tls1", actor="admin")
    with pytest.raises(InvalidInput, match="unknown setting"):
        settings_store.set_setting(db, "smtp.hostname", "x", actor="admin")
    with pytest.raises(NotAllowed):
        settings_store.set_setting(db, "smtp.host", "mail.example", actor="analyst")
    settings_store.set_setting(db, "smtp.host", "mail.example", actor="admin")
    assert {i.key: i.value for i in settings_store.list_settings(db)}["smtp.host"] == "mail.example"
    settings_store.clear_setting(db, "smtp.host", actor="admin")


# --- re-upload tokens ---------------------------------------------------------------------

def test_reupload_token_round_trip_and_single_use(db):
    link = reupload_link(db, "C-1", ["document:2", "kyc:1"], message_id="msg_1")
    assert link.startswith("https://docket.example/?reupload=v1.")
    token = link.split("reupload=")[1]
    assert reupload_link(db, "C-1", ["document:2", "kyc:1"], message_id="msg_1") == link  # retry
    scope = verify_reupload_token(db, token, case_id="C-1", block="kyc:1")
    assert scope.blocks == ("document:2", "kyc:1")
    assert (scope.expires_at - utcnow()).days in (29, 30)
    with db.unit_of_work() as s:
        consume_reupload_token(s, scope.token_id)
    with pytest.raises(InvalidReuploadToken, match="already used") as err:
        verify_reupload_token(db, token)
    assert err.value.reason == "used"
    with pytest.raises(InvalidReuploadToken):
        with db.unit_of_work() as s:
            consume_reupload_token(s, scope.token_id)


def test_forged_expired_and_out_of_scope_tokens_are_refused(db):
    token = create_reupload_token(db, "C-1", ["document:2"])
    head, body, sig = token.split(".")
    import base64
    import json
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["b"] = ["document:2", "document:3"]
    widened = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    for forged in (f"{head}.{widened}.{sig}", token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
                   "garbage", "", "v1..", "v2." + body + "." + sig, "x" * 5000):
        with pytest.raises(InvalidReuploadToken) as err:
            verify_reupload_token(db, forged)
        assert err.value.reason == "forged"
    with pytest.raises(InvalidReuploadToken) as err:
        verify_reupload_token(db, token, case_id="C-2")
    assert err.value.reason == "scope"
    with pytest.raises(InvalidReuploadToken) as err:
        verify_reupload_token(db, token, block="document:3")
    assert err.value.reason == "scope"
    expired = create_reupload_token(db, "C-1", ["document:2"], ttl=timedelta(seconds=-1))
    with pytest.raises(InvalidReuploadToken, match="expired") as err:
        verify_reupload_token(db, expired)
    assert err.value.reason == "expired"
    with db.unit_of_work() as s:  # moving the expiry in the table does not re-validate the link
        s.execute(update(ReuploadToken).values(expires_at=utcnow() + timedelta(days=1)))
    with pytest.raises(InvalidReuploadToken):
        verify_reupload_token(db, expired)
    settings_store.set_setting(db, "reupload.token_secret", "another-key-" + "k" * 40, actor="admin")
    with pytest.raises(InvalidReuploadToken) as err:  # signed with the old key
        verify_reupload_token(db, token)
    assert err.value.reason == "forged"


# --- SMTP over TLS: STARTTLS and implicit TLS against a throwaway CA ----------------------
# Docket builds its TLS contexts with ssl.create_default_context() (certificate and host name
# verified) and has no setting of its own for a private CA; OpenSSL's SSL_CERT_FILE is the
# route to trust one, so these tests point it at a CA generated at test time. A TcpTap between
# Docket and the server records what Docket put on the wire, to check what went in clear.

SMTP_USER, SMTP_PASSWORD = "mailer", "smtp-secret-pass-42"
AUTH_PLAIN = base64.b64encode(f"\0{SMTP_USER}\0{SMTP_PASSWORD}".encode())
NOT_IN_CLEAR = (SMTP_PASSWORD.encode(), AUTH_PLAIN, b"AUTH ", b"MAIL FROM",
                b"owner@acme.example", b"Documents <b>forged</b>")


@pytest.fixture
def tls(tmp_path):
    return make_tls_files(tmp_path)


@pytest.fixture
def trusted_tls(tls, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", tls.ca_cert)
    return tls


class AuthLog:
    """aiosmtpd authenticator recording (user, password, whether the connection was TLS)."""

    def __init__(self):
        self.calls: list[tuple[str, str, bool]] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        over_tls = server.transport.get_extra_info("ssl_object") is not None
        self.calls.append((auth_data.login.decode(), auth_data.password.decode(), over_tls))
        ok = (auth_data.login, auth_data.password) == (SMTP_USER.encode(), SMTP_PASSWORD.encode())
        return AuthResult(success=ok, handled=False)


def tls_sink(mode: str, tls, auth: AuthLog) -> SmtpSink:
    if mode == "starttls":  # AUTH is neither offered nor accepted before STARTTLS
        return SmtpSink(tls_context=tls.server_context(), require_starttls=True,
                        authenticator=auth, auth_require_tls=True)
    # aiosmtpd counts only STARTTLS as TLS for AUTH; AuthLog checks the transport itself
    return SmtpSink(ssl_context=tls.server_context(), authenticator=auth, auth_require_tls=False)


def use_smtp_login(db, tap, security: str, host: str = "127.0.0.1"):
    use_smtp(db, tap, **{"smtp.host": host, "smtp.security": security,
                         "smtp.user": SMTP_USER, "smtp.password": SMTP_PASSWORD})


def tls_test_message():
    return build_message(sender="kyc@docket.example", to="owner@acme.example", to_name="Acme",
                         subject="Your application C-9", text="Documents <b>forged</b>",
                         html=None, message_id="msg_tls_test")


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_email_over_tls_arrives_and_logs_in_only_under_tls(db, trusted_tls, mode):
    auth = AuthLog()
    with tls_sink(mode, trusted_tls, auth) as sink, TcpTap(sink.port) as tap:
        use_smtp_login(db, tap, mode)
        reject(db, "C-1")
        drain(db, fast_config(schedule=()))
    (d,) = email_deliveries(db)
    assert d.state == "delivered" and d.attempts == 1, d.last_error
    (msg,) = sink.messages
    assert msg["Subject"] == "Your application C-1"
    assert msg["To"] == "Acme Trading Ltd <owner@acme.example>"
    assert sink.envelopes[0].rcpt_tos == ["owner@acme.example"]
    assert "Reason: Documents <b>forged</b>" in text_part(msg)
    assert auth.calls == [(SMTP_USER, SMTP_PASSWORD, True)]
    wire = bytes(tap.client_bytes)
    assert tap.connections == 1
    if mode == "starttls":
        clear, sep, encrypted = wire.partition(b"STARTTLS\r\n")
        assert sep and clear.lower().startswith(b"ehlo ")
        assert encrypted[:1] == b"\x16"  # a TLS handshake record right after STARTTLS
    else:
        assert wire[:1] == b"\x16"      # TLS from the first byte
        assert b"ehlo" not in wire.lower()
    for clear_text in NOT_IN_CLEAR:
        assert clear_text not in wire


def test_starttls_setting_never_falls_back_to_plain_text(db):
    """A server without STARTTLS (that would take the password in clear) gets no login and no
    message; the delivery fails for good (a configuration problem), not retried."""
    auth = AuthLog()
    with SmtpSink(authenticator=auth, auth_require_tls=False) as sink, TcpTap(sink.port) as tap:
        use_smtp_login(db, tap, "starttls")
        reject(db, "C-1")
        drain(db, fast_config(schedule=(0.05, 0.05, 0.05)))
    (d,) = email_deliveries(db)
    assert d.state == "failed" and d.attempts == 1
    assert "does not support STARTTLS" in d.last_error and SMTP_PASSWORD not in d.last_error
    assert sink.messages == [] and auth.calls == []
    wire = bytes(tap.client_bytes)
    assert wire.lower().startswith(b"ehlo ")  # the tap did see the session
    for clear_text in NOT_IN_CLEAR:
        assert clear_text not in wire


def test_implicit_tls_setting_refuses_a_plain_text_server(db):
    auth = AuthLog()
    with SmtpSink(authenticator=auth, auth_require_tls=False) as sink, TcpTap(sink.port) as tap:
        use_smtp_login(db, tap, "ssl")
        with pytest.raises(EmailError) as err:
            send(smtp_settings(db), tls_test_message(), timeout=10)
    assert err.value.transient
    assert sink.messages == [] and auth.calls == []
    wire = bytes(tap.client_bytes)
    assert wire[:1] == b"\x16" and b"ehlo" not in wire.lower()
    for clear_text in NOT_IN_CLEAR:
        assert clear_text not in wire


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_untrusted_or_misnamed_certificate_is_refused(db, tls, monkeypatch, mode):
    """The certificate is verified: a CA Docket does not trust, or a certificate for another
    name, stops the session before the login and the message."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    auth = AuthLog()
    with tls_sink(mode, tls, auth) as sink, TcpTap(sink.port) as tap:
        use_smtp_login(db, tap, mode)
        with pytest.raises(EmailError, match="SSLCertVerificationError") as untrusted:
            send(smtp_settings(db), tls_test_message(), timeout=10)
        monkeypatch.setenv("SSL_CERT_FILE", tls.ca_cert)
        use_smtp_login(db, tap, mode, host="localhost")  # the certificate names 127.0.0.1 only
        with pytest.raises(EmailError, match="SSLCertVerificationError"):
            send(smtp_settings(db), tls_test_message(), timeout=10)
        use_smtp_login(db, tap, mode)  # the same server, trusted and named: accepted
        send(smtp_settings(db), tls_test_message(), timeout=10)
    assert SMTP_PASSWORD not in str(untrusted.value)
    assert auth.calls == [(SMTP_USER, SMTP_PASSWORD, True)]
    (msg,) = sink.messages
    assert msg["Subject"] == "Your application C-9" and tap.connections == 3


def test_server_requiring_starttls_refuses_a_plain_text_client(db, tls):
    with SmtpSink(tls_context=tls.server_context(), require_starttls=True) as sink:
        use_smtp(db, sink)  # smtp.security none
        with pytest.raises(EmailError, match="SMTP 530") as err:
            send(smtp_settings(db), tls_test_message(), timeout=10)
    assert not err.value.transient and sink.messages == []
