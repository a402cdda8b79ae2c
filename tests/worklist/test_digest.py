"""The daily overdue digest (core/worklist/digest.py): one email per assignee with their
overdue cases and one per admin with the team's, through the outbox; once per day."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.access.users import add_user
from core.notifications import mailbox
from core.store.models import Case, OutboxMessage, User, utcnow
from core.worklist.digest import EVENT_TYPE, send_overdue_digest
from tests.factories import make_case
from tests.receivers import drain


def _overdue(db, case_id, hours):
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id)
                  .values(due_at=utcnow() - timedelta(hours=hours)))


def _emails(db):
    with db.unit_of_work() as s:
        s.execute(update(User).values(email=User.username + "@docket.example"))


def test_one_email_per_assignee_and_per_admin_once_a_day(db):
    _emails(db)
    add_user(db, "boss", "The Boss", "admin", "a long password 9", actor="system")  # no email
    make_case(db, "C-1", assignee="reviewer", name="Acme Ltd")
    make_case(db, "C-2", assignee="reviewer2")
    make_case(db, "C-3")
    make_case(db, "C-4", assignee="reviewer")  # not overdue
    for case_id, hours in (("C-1", 30), ("C-2", 2), ("C-3", 5)):
        _overdue(db, case_id, hours)
    result = send_overdue_digest(db)
    assert result.overdue == 3
    assert result.enqueued == ["admin (team)", "lead (team)", "reviewer", "reviewer2"]
    assert result.no_email == ["boss (team)"]
    with db.read() as s:
        rows = {r.payload["data"]["recipient"]["username"]: r
                for r in s.scalars(select(OutboxMessage))}
    assert all(r.event_type == EVENT_TYPE and r.channel == "email" for r in rows.values())
    mine = rows["reviewer"].payload["data"]["digest"]
    assert (mine["role"], mine["total"], [c["id"] for c in mine["cases"]]) == (
        "assignee", 1, ["C-1"])
    team = rows["admin"].payload["data"]["digest"]
    assert [c["id"] for c in team["cases"]] == ["C-1", "C-3", "C-2"]  # most overdue first
    assert {a["assignee"]: a["count"] for a in team["by_assignee"]} == {
        "reviewer": 1, "reviewer2": 1, None: 1}

    again = send_overdue_digest(db)  # the same day: nothing new
    assert again.enqueued == [] and again.already_sent == ["admin (team)", "lead (team)",
                                                           "reviewer", "reviewer2"]
    with db.read() as s:
        assert len(s.scalars(select(OutboxMessage)).all()) == 4  # the demo lead gets the team's
    tomorrow = send_overdue_digest(db, now=utcnow() + timedelta(days=1))
    assert tomorrow.enqueued == ["admin (team)", "lead (team)", "reviewer", "reviewer2"]


def test_nothing_overdue_sends_nothing(db):
    _emails(db)
    make_case(db, "C-1", assignee="reviewer")
    result = send_overdue_digest(db)
    assert (result.overdue, result.enqueued) == (0, [])


def test_the_worker_sends_it_rendered_to_the_recipient(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DEMO_MAILBOX", "on")
    _emails(db)
    make_case(db, "C-1", assignee="reviewer", name="Acme Ltd")
    _overdue(db, "C-1", 26)
    send_overdue_digest(db)
    drain(db)
    mails, _ = mailbox.list_mail(db, actor="admin")
    mail = next(m for m in mails if m.to_address == "reviewer@docket.example")
    assert mail.subject.startswith("1 overdue case assigned to you")
    assert "C-1 Acme Ltd (Manual review" in mail.text_body and "overdue 26 h)" in mail.text_body
