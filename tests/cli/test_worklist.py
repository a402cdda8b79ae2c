"""`python -m core next` and `python -m core digest` (core/cli/worklist.py)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update

from core.store.models import Case, User, utcnow
from core.worklist.views import ensure_default_views
from tests.factories import make_case


def test_next_takes_the_most_urgent_case_and_prints_its_id(cli_db, cli):
    with cli_db.unit_of_work() as s:
        ensure_default_views(s)
    make_case(cli_db, "C-1")
    make_case(cli_db, "C-2")
    make_case(cli_db, "C-3", workflow="ongoing_monitoring")
    with cli_db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-2").values(due_at=utcnow() - timedelta(hours=1)))
    assert cli("next", "--as", "reviewer") == (0, "C-2\n", "")
    code, out, _ = cli("next", "--as", "reviewer2", "--view", "Ongoing monitoring", "--json")
    assert code == 0 and json.loads(out) == {"case": "C-3", "assignee": "reviewer2"}
    code, out, _ = cli("next", "--as", "reviewer2", "--view", "Ongoing monitoring")
    assert code == 0 and out == "C-3\n"  # already theirs
    with cli_db.read() as s:
        assert s.get(Case, "C-2").assignee == "reviewer"


def test_next_with_nothing_to_take_or_as_an_analyst(cli_db, cli):
    code, out, _ = cli("next", "--as", "reviewer")
    assert code == 0 and out.startswith("no case to take in any view")
    make_case(cli_db, "C-1")
    code, _, err = cli("next", "--as", "analyst")
    assert code == 1 and err.startswith("error: analyst (analyst) may not assign self")
    code, _, err = cli("next", "--as", "reviewer", "--view", "No such view")
    assert code == 1 and "no view named" in err


def test_digest_queues_once_a_day(cli_db, cli):
    with cli_db.unit_of_work() as s:
        s.execute(update(User).values(email=User.username + "@docket.example"))
    make_case(cli_db, "C-1", assignee="reviewer")
    with cli_db.unit_of_work() as s:
        s.execute(update(Case).values(due_at=utcnow() - timedelta(hours=3)))
    code, out, _ = cli("digest")
    assert code == 0 and ("1 overdue case(s); digest emails queued for 3: admin (team), "
                          "lead (team), reviewer") in out
    code, out, _ = cli("digest", "--json")
    assert code == 0 and json.loads(out)["already_sent"] == ["admin (team)", "lead (team)",
                                                             "reviewer"]


def test_list_filters_overdue_and_sorts_by_due_time(cli_db, cli):
    make_case(cli_db, "C-1")
    make_case(cli_db, "C-2")
    with cli_db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-2").values(due_at=utcnow() - timedelta(hours=1)))
    code, out, _ = cli("list", "--overdue")
    assert code == 0 and out.splitlines()[0] == "1 cases, page 1/1" and "C-2" in out
    code, out, _ = cli("list", "--sort", "due_at", "--ascending")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["C-2", "C-1"]
