"""SLA breaches for the Overview (core/worklist/breaches.py): per day and per reviewer, late
(left the status after its due time) and open (still overdue)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.cases import actions as ca
from core.store.models import Case, utcnow
from core.worklist.breaches import breaches_per_day, breaches_per_reviewer
from tests.factories import make_case, version_of


def _due(db, case_id, due):
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(due_at=due))


def test_breaches_per_day_and_per_reviewer(db):
    now = utcnow()
    make_case(db, "C-LATE", assignee="reviewer", reviewed=True)
    make_case(db, "C-OPEN", assignee="reviewer2")
    make_case(db, "C-OPEN-FREE")
    make_case(db, "C-ONTIME", assignee="reviewer", reviewed=True)
    make_case(db, "C-OLD")
    _due(db, "C-LATE", now - timedelta(days=1))
    _due(db, "C-OPEN", now - timedelta(days=1))
    _due(db, "C-OPEN-FREE", now - timedelta(minutes=5))
    _due(db, "C-OLD", now - timedelta(days=40))  # before a 7-day period
    ca.approve_case(db, "C-LATE", actor="reviewer", expected_version=version_of(db, "C-LATE"))
    ca.approve_case(db, "C-ONTIME", actor="reviewer", expected_version=version_of(db, "C-ONTIME"))

    days = breaches_per_day(db, 7, now)
    assert len(days) == 7 and days[-1].day == now.date()
    by_day = {d.day: (d.late, d.open) for d in days if d.total}
    yesterday = (now - timedelta(days=1)).date()
    today_open = 1 if (now - timedelta(minutes=5)).date() == now.date() else 0
    assert by_day[yesterday][0] == 1 and by_day[yesterday][1] == 2 - today_open
    assert sum(d.total for d in days) == 3

    reviewers = {r.assignee: (r.late, r.open) for r in breaches_per_reviewer(db, 7, now)}
    assert reviewers == {"reviewer": (1, 0), "reviewer2": (0, 1), None: (0, 1)}
    assert {r.assignee for r in breaches_per_reviewer(db, 90, now)} == {
        "reviewer", "reviewer2", None}
    assert sum(r.total for r in breaches_per_reviewer(db, 90, now)) == 4
