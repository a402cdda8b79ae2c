"""Email to applicants over SMTP (STARTTLS, implicit TLS or plain), settings from the app's
Settings (settings table) or the environment.

Builds a text + HTML message with a stable Message-ID (the notification's id, so a retry is
recognisable), and sorts SMTP failures into "try again" (4xx, network) and "give up" (5xx).
The password never appears in an error: messages are built from codes, not from the session.
"""
from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr

from core import settings_store
from core.store.db import Database


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str    # starttls | ssl | none
    user: str
    password: str
    sender: str

    def __repr__(self) -> str:  # never print the password
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, security={self.security!r}, "
                f"user={self.user!r}, password={'***' if self.password else ''!r}, "
                f"sender={self.sender!r})")


class EmailError(Exception):
    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


def smtp_settings(db: Database) -> SmtpSettings | None:
    """None when no SMTP host is configured (emails are then skipped)."""
    v = settings_store.values(db, "smtp.host", "smtp.port", "smtp.security", "smtp.user",
                              "smtp.password", "smtp.sender")
    if not v["smtp.host"].strip():
        return None
    return SmtpSettings(v["smtp.host"].strip(), int(v["smtp.port"] or 587),
                        (v["smtp.security"] or "starttls").strip().lower(), v["smtp.user"],
                        v["smtp.password"], v["smtp.sender"])


def valid_address(address: str | None) -> str | None:
    """The bare address if it looks like one (no header tricks), else None."""
    if not address or any(c in address for c in "\r\n") or len(address) > 254:
        return None
    name, addr = parseaddr(address)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
        return None
    return addr


def build_message(*, sender: str, to: str, to_name: str, subject: str, text: str,
                  html: str | None, message_id: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = formataddr((to_name.replace("\n", " ")[:100], to)) if to_name else to
    msg["Subject"] = " ".join(subject.split())[:250]
    domain = (parseaddr(sender)[1].split("@")[-1] or "docket.invalid")
    msg["Message-ID"] = f"<{message_id}@{domain}>"
    msg["X-Docket-Message-Id"] = message_id
    msg.set_content(text)
    if html:
        msg.add_alternative(html, subtype="html")
    return msg


def send(settings: SmtpSettings, msg: EmailMessage, *, timeout: float = 15.0) -> str:
    """Send one message; returns the server's reply summary or raises EmailError."""
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                                    context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        try:
            client.ehlo()
            if settings.security == "starttls":
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if settings.user:
                client.login(settings.user, settings.password)
            refused = client.send_message(msg)
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPRecipientsRefused as e:
        codes = sorted({code for code, _ in e.recipients.values()})
        raise EmailError(f"recipient refused (SMTP {codes})",
                         transient=all(400 <= c < 500 for c in codes)) from None
    except smtplib.SMTPAuthenticationError as e:
        raise EmailError(f"SMTP login refused ({e.smtp_code}); check the SMTP user and password",
                         transient=False) from None
    except smtplib.SMTPNotSupportedError:
        raise EmailError("the SMTP server does not support STARTTLS or login; check "
                         "smtp.security", transient=False) from None
    except smtplib.SMTPResponseException as e:
        text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        raise EmailError(f"SMTP {e.smtp_code}: {text[:200]}",
                         transient=not 500 <= e.smtp_code < 600) from None
    except (smtplib.SMTPException, ssl.SSLError) as e:
        raise EmailError(f"SMTP error: {type(e).__name__}", transient=True) from None
    except socket.timeout:
        raise EmailError(f"SMTP server timed out after {timeout:g} s", transient=True) from None
    except OSError as e:
        raise EmailError(f"cannot reach the SMTP server: {e.strerror or type(e).__name__}",
                         transient=True) from None
    if refused:
        raise EmailError(f"recipient refused: {sorted(refused)}", transient=False)
    return f"accepted by {settings.host}:{settings.port}"
