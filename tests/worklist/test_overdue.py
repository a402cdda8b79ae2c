"""Overdue cases (core/worklist/overdue.py and the list's overdue filter and due-time sort):
the counters of migration 0007 must give the same numbers as COUNT(*) over the cases, for
every filter and view, after commands, hand-written SQL, compaction and a demo bulk load."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from core.cases import actions as ca
from core.demo import bulk_load
from core.demo import generate as demo_data
from core.store.counter_models import CaseDueCount
from core.store.models import Case, utcnow
from core.worklist import overdue
from core.worklist.cursors import list_cases_after
from core.worklist.query import CaseFilter, count_cases, list_cases
from core.worklist.views import draft_view, ensure_default_views, list_views
from tests.factories import make_case, version_of

NOW = utcnow()


@pytest.fixture(autouse=True)
def fresh_compaction_clock(monkeypatch):
    monkeypatch.setattr(overdue, "compact_checked_at", {})


def _filters(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    views = list_views(db)
    found = [CaseFilter(), CaseFilter(assignee="unassigned"), CaseFilter(assignee="someone"),
             CaseFilter(statuses=("manual_review",)), CaseFilter(workflows=("onboarding",)),
             CaseFilter(search="Acme"), CaseFilter(assignee="me", me="reviewer"),
             CaseFilter(view=draft_view("HK", [], [{"field": "country", "op": "in",
                                                    "value": ["HK", "GB"]}]))]
    return found + [CaseFilter(view=v) for v in views]


def _assert_counts_agree(db, now):
    for flt in _filters(db):
        assert overdue.count_overdue(db, flt, now=now) == \
            overdue.real_overdue_count(db, flt, now=now), flt
    by_view = overdue.overdue_counts_by_view(db, now=now)
    for v in list_views(db):
        assert by_view[v.id] == overdue.real_overdue_count(db, CaseFilter(view=v), now=now)


def _cases(db, n=24, seed=7):
    rng = random.Random(seed)
    for i in range(n):
        make_case(db, f"C-{i:03d}", workflow=rng.choice(["onboarding", "ongoing_monitoring"]),
                  country=rng.choice(["HK", "GB", "CN"]), kind=rng.choice(["business", "person"]),
                  assignee=rng.choice([None, "reviewer", "reviewer2"]),
                  name=rng.choice(["Acme Ltd", "Zeta Holdings"]), reviewed=True)
        due = NOW + timedelta(minutes=rng.randint(-5 * 24 * 60, 2 * 24 * 60))
        with db.unit_of_work() as s:
            s.execute(update(Case).where(Case.id == f"C-{i:03d}").values(due_at=due))


def test_counters_agree_with_count_star_as_time_passes(db):
    _cases(db)
    for hours in (0, 1, 5, 30, 60):
        _assert_counts_agree(db, NOW + timedelta(hours=hours, minutes=7))
    assert overdue.real_overdue_count(db, now=NOW + timedelta(hours=60)) > \
        overdue.real_overdue_count(db, now=NOW) > 0


def test_counters_agree_after_commands_sql_and_compaction(db):
    _cases(db)
    for case_id in ("C-001", "C-002", "C-003"):  # decisions end the clock
        with db.unit_of_work() as s:
            s.execute(update(Case).where(Case.id == case_id).values(assignee="reviewer"))
        ca.approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))
    ca.assign_case(db, "C-004", "reviewer2", actor="admin", expected_version=version_of(db, "C-004"))
    with db.unit_of_work() as s:  # hand-written SQL: the triggers keep up
        s.execute(text("UPDATE entities SET country = 'FR' WHERE id IN "
                       "(SELECT entity_id FROM cases WHERE id IN ('C-005', 'C-006'))"))
        s.execute(text("UPDATE cases SET due_at = NULL WHERE id = 'C-007'"))
        s.execute(text("UPDATE cases SET workflow = 'ongoing_monitoring' WHERE id = 'C-008'"))
        s.execute(text("DELETE FROM documents WHERE case_id = 'C-009'"))
        s.execute(text("DELETE FROM cases WHERE id = 'C-009'"))
    _assert_counts_agree(db, NOW)
    later = NOW + timedelta(hours=20)
    assert overdue.compact_due_counts(db, later) > 0
    with db.read() as s:  # folded: long-past hours are one row per key
        hours = s.scalars(select(CaseDueCount.due_hour)).all()
    assert 0 in hours and all(h == 0 or h >= overdue.hour_of(later) - 2 for h in hours)
    _assert_counts_agree(db, later)
    _assert_counts_agree(db, later + timedelta(hours=40))


def test_the_overdue_filter_lists_and_counts_overdue_cases(db):
    _cases(db)
    flt = CaseFilter(overdue=True)
    page = list_cases(db, flt, sort="due_at", descending=False, page_size=500)
    now = utcnow()
    assert page.total == count_cases(db, flt) == overdue.real_overdue_count(db, now=now)
    assert all(r.due_at < now for r in page.rows)
    assert [r.due_at for r in page.rows] == sorted(r.due_at for r in page.rows)


@pytest.mark.parametrize("descending", [False, True])
def test_due_sort_puts_cases_without_a_due_time_last_and_cursors_walk_it(db, descending):
    _cases(db, n=16)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id.in_(["C-002", "C-005", "C-011"])).values(due_at=None))
        s.execute(update(Case).where(Case.id == "C-007").values(
            due_at=select(Case.due_at).where(Case.id == "C-003").scalar_subquery()))
    rows = list_cases(db, CaseFilter(), sort="due_at", descending=descending, page_size=500).rows
    key = [(r.due_at is None, r.due_at or NOW, r.id) for r in rows]
    assert key == sorted(key, reverse=descending)
    walked, cursor = [], None
    while True:
        page = list_cases_after(db, CaseFilter(), sort="due_at", descending=descending,
                                cursor=cursor, page_size=3)
        walked += [r.id for r in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert walked == [r.id for r in rows]


def test_a_demo_bulk_load_recounts_the_counters(db, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 50)
    _cases(db, n=3)
    demo_data.generate_cases(db, 400, seed=3)
    with db.read() as s:
        due = s.scalar(select(func.count()).where(Case.due_at.is_not(None)))
        wrong = s.scalar(select(func.count()).where(
            Case.case_status == "manual_review", Case.due_at.is_(None)))
    assert due > 0 and wrong == 0
    _assert_counts_agree(db, utcnow())
    _assert_counts_agree(db, utcnow() + timedelta(days=2))


def test_time_left_reads_like_a_person_says_it():
    assert overdue.time_left(None, NOW) == ""
    assert overdue.time_left(NOW + timedelta(hours=5, minutes=3), NOW) == "5 h left"
    assert overdue.time_left(NOW + timedelta(days=3), NOW) == "3 d left"
    assert overdue.time_left(NOW - timedelta(minutes=20), NOW) == "overdue 20 min"
    assert overdue.time_left(NOW - timedelta(days=2, hours=1), NOW) == "overdue 2 d"
