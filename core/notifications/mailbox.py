"""The demo mailbox: a mail catcher inside the app.

A newcomer trying Docket has no SMTP server, so re-upload emails used to be skipped and no
applicant link was ever minted: the applicant's side could not be seen. With
DOCKET_DEMO_MAILBOX on (auto: in demo mode) and no SMTP host set, the email channel renders
the message as it would send it and keeps it here instead; admins read it on the Sent emails
page and follow its link to the applicant's page. Outside that mode nothing changes: emails
without an SMTP server are skipped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import config
from core.access.actors import require_integrations_admin
from core.errors import NotFound
from core.store.db import Database
from core.store.models import CapturedEmail

PAGE_LIMIT = 200


@dataclass(frozen=True)
class MailItem:
    id: int
    case_id: str
    event_type: str
    to_address: str
    to_name: str
    subject: str
    text_body: str
    link: str
    captured_at: datetime


def is_on(db: Database) -> bool:
    return config.demo_mailbox_enabled(db.url)


def keep(db: Database, *, message_id: str, case_id: str, event_type: str, to_address: str,
         to_name: str, subject: str, text_body: str, link: str) -> None:
    """Keeps one notification's email (a retry of the same notification keeps nothing new)."""
    try:
        with db.unit_of_work() as s:
            if s.scalar(select(CapturedEmail.id).where(CapturedEmail.message_id == message_id)):
                return
            s.add(CapturedEmail(message_id=message_id, case_id=case_id, event_type=event_type,
                                to_address=to_address, to_name=to_name[:300],
                                subject=subject[:1000], text_body=text_body, link=link))
    except IntegrityError:
        pass  # kept by another worker at the same moment


def _item(row: CapturedEmail) -> MailItem:
    return MailItem(row.id, row.case_id, row.event_type, row.to_address, row.to_name,
                    row.subject, row.text_body, row.link, row.captured_at)


def list_mail(db: Database, *, actor: str, limit: int = PAGE_LIMIT) -> tuple[list[MailItem], int]:
    """The newest kept emails (admins: they hold applicants' links) and how many there are."""
    with db.read() as s:
        require_integrations_admin(s, actor)
        rows = s.scalars(select(CapturedEmail).order_by(CapturedEmail.id.desc())
                         .limit(max(1, min(limit, PAGE_LIMIT))))
        total = s.scalar(select(func.count()).select_from(CapturedEmail)) or 0
        return [_item(r) for r in rows], int(total)


def get_mail(db: Database, mail_id: int, *, actor: str) -> MailItem:
    with db.read() as s:
        require_integrations_admin(s, actor)
        row = s.get(CapturedEmail, mail_id)
        if row is None:
            raise NotFound(f"no kept email {mail_id}")
        return _item(row)
