"""The Cases page's worklist controls (ui/worklist_bar.py) under AppTest: who gets Next case,
what it opens, and J/K. The browser tests (tests/browser/test_browser_worklist.py) press the
keys and race two reviewers."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.store.models import Case, utcnow
from tests.app.harness import new_app, sign_in, texts
from tests.factories import make_case


def _app(monkeypatch, database_url, role):
    return sign_in(new_app(monkeypatch, database_url), role)


def _keys(at) -> set[str]:
    return {b.key for b in at.button}


def test_analysts_get_no_next_case_but_the_list_keys(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _app(monkeypatch, database_url, "analyst")
    assert not at.exception
    assert "next_case" not in _keys(at)
    assert {"row_previous", "row_next"} <= _keys(at)


def test_next_case_assigns_and_opens_the_overdue_case_first(db, database_url, monkeypatch):
    for case_id in ("C-OLD", "C-LATE", "C-NEW"):
        make_case(db, case_id)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-LATE")
                  .values(due_at=utcnow() - timedelta(hours=2)))
    at = _app(monkeypatch, database_url, "reviewer")
    at = at.button(key="next_case").click().run()
    assert not at.exception
    assert at.query_params["case"] == "C-LATE"
    with db.read() as s:
        assert s.get(Case, "C-LATE").assignee == "reviewer"
    at = at.button(key="row_next").click().run()  # J: the case below it, newest first
    assert at.query_params["case"] == "C-OLD"


def test_nothing_left_is_said(db, database_url, monkeypatch):
    make_case(db, "C-FLOW", collection_completed=False)  # not waiting for a decision
    at = _app(monkeypatch, database_url, "reviewer")
    at = at.button(key="next_case").click().run()
    assert not at.exception
    assert any("Nothing left to take" in t for t in texts(at))
    assert "case" not in at.query_params
