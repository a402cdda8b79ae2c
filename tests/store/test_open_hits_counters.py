"""The counters with open hits in their key (migration 0022): after any sequence of intake,
screening hits recorded and dispositioned, assignments, status changes, an entity's country
changing, restriction (an erasure request) and erasure, every total the counters give — the
case list's, the sidebar's per status and per view, the overdue counts — equals COUNT(*) over
the cases, for every filter the counters answer, the open-hits filter included."""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from core.cases.actions import approve_case, ask_for_reuploads, assign_case, reject_case
from core.cases.read import case_detail
from core.cases.status import CaseStatus
from core.demo import bulk_load
from core.demo import generate as demo_data
from core.demo.simulator import CaseTemplate, create_case, play, world_steps
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound
from core.records.retention import request_erasure
from core.records.retention_erase import erase_case
from core.screening.dispositions import disposition_hit
from core.screening.hits import record_screening
from core.store.case_counts import compact_case_counts
from core.store.models import Case, ScreeningHit, utcnow
from core.worklist.overdue import compact_due_counts, count_overdue, real_overdue_count
from core.worklist.query import (
    CaseFilter,
    count_cases,
    count_upto,
    counter_clauses,
    counts_by_status,
    counts_by_view,
    real_count,
)
from core.worklist.views import ViewInfo, draft_view, ensure_default_views, list_views

REFUSED = (ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound)
ASSIGNEES = ("anyone", "unassigned", "someone")
OPEN_HITS = (None, "open", "none")
ENTRY = {"entry_id": "SDN-1", "dataset": "OFAC SDN", "name": "A Person", "score": 90,
         "matched_fields": ["name"]}
DISPOSITIONS = ("true_match", "false_positive", "needs_information")
# later than any due time the activity sets (Manual review: 24 h; monitoring: 72 h), so the
# overdue counts read the counters' past hours, not only the cases due this hour
LATER = timedelta(days=5)


def _hit_views() -> list[ViewInfo]:
    """Views whose open-hits predicate the counters answer (and one they cannot)."""
    return [
        draft_view("open hits", [], [{"field": "open_hits", "op": "range", "value": [1, None]}]),
        draft_view("HK, no open hits", ["onboarding"], [
            {"field": "country", "op": "equals", "value": "HK"},
            {"field": "open_hits", "op": "range", "value": [None, 0]}]),
        draft_view("none, equals", [], [{"field": "open_hits", "op": "equals", "value": 0}]),
        draft_view("any", [], [{"field": "open_hits", "op": "range", "value": [0, None]}]),
        ViewInfo(1001, "decided", 0, (), (), ("approved", "rejected")),
    ]


def assert_counters_exact(db, views: list[ViewInfo], now) -> None:
    """Every view x assignee x open hits x status: counters == COUNT(*); overdue too."""
    for v in views + _hit_views():
        for assignee, hits in itertools.product(ASSIGNEES, OPEN_HITS):
            flt = CaseFilter(view=v, assignee=assignee, open_hits=hits)
            where = (v.name, assignee, hits)
            assert counter_clauses(flt) is not None, where
            expected = real_count(db, flt)
            assert count_cases(db, flt) == expected, where
            assert count_upto(db, flt, 1) == (expected, True), where
            by_status = counts_by_status(db, flt)
            assert by_status == {s.value: real_count(db, replace(flt, statuses=(s.value,)))
                                 for s in CaseStatus}, where
            assert count_overdue(db, flt, now=now) == real_overdue_count(db, flt, now=now), where
    assert counts_by_view(db, views) == {v.id: real_count(db, CaseFilter(view=v)) for v in views}


@pytest.fixture
def views(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    return list_views(db)


def _ids(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Case.id).order_by(Case.id)))


def _version(db, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


def _intake(db, case_id: str | None, pick: int) -> None:
    create_case(db, CaseTemplate(kind=("business", "person")[pick % 2],
                                 workflow=("onboarding", "ongoing_monitoring")[pick % 3 // 2],
                                 country=("HK", "CN", "SG", "FR")[pick % 4],
                                 collection_completed=bool(pick % 5)), actor="admin")


def _screen(db, case_id: str, pick: int) -> None:
    """0 to 2 hits on the entity (none: the earlier hits are gone, no longer open)."""
    entries = [{**ENTRY, "entry_id": f"SDN-{pick % 3 + i}"} for i in range(pick % 3)]
    record_screening(db, case_id, "entity", "api", entries, actor="admin")


def _disposition(db, case_id: str, pick: int) -> None:
    with db.read() as s:
        hits = list(s.scalars(select(ScreeningHit.id).where(ScreeningHit.case_id == case_id)
                              .order_by(ScreeningHit.id)))
    if hits:
        disposition_hit(db, hits[pick % len(hits)], DISPOSITIONS[pick % 3], "checked",
                        actor="admin", expected_version=_version(db, case_id))


def _assign(db, case_id: str, pick: int) -> None:
    assign_case(db, case_id, ("reviewer", "admin", None)[pick % 3], actor="admin",
                expected_version=_version(db, case_id))


def _decide(db, case_id: str, pick: int) -> None:
    detail = case_detail(db, case_id, "admin", with_timeline=False)
    if detail.assignee != "admin":
        assign_case(db, case_id, "admin", actor="admin", expected_version=detail.version)
    allowed = [a.action for a in case_detail(db, case_id, "admin", with_timeline=False)
               .case_actions if a.allowed]
    if not allowed:
        return
    action, version = allowed[pick % len(allowed)], _version(db, case_id)
    if action == "approve":
        approve_case(db, case_id, actor="admin", expected_version=version)
    elif action == "reject":
        reject_case(db, case_id, actor="admin", expected_version=version, reason="risk")
    else:
        ask_for_reuploads(db, case_id, actor="admin", expected_version=version)


def _world(db, case_id: str, pick: int) -> None:
    steps = world_steps(case_detail(db, case_id, "admin", with_timeline=False))
    if steps:
        play(db, case_id, steps[pick % len(steps)], actor="admin")


def _move_entity(db, case_id: str, pick: int) -> None:
    """Hand-written SQL: nothing in the app moves an entity, the triggers must follow."""
    with db.unit_of_work() as s:
        s.execute(text("UPDATE entities SET country = :country, kind = :kind WHERE id = "
                       "(SELECT entity_id FROM cases WHERE id = :case)"),
                  {"country": ("HK", "US", "CN")[pick % 3],
                   "kind": ("business", "person")[pick % 2], "case": case_id})


def _restrict(db, case_id: str, pick: int) -> None:
    request_erasure(db, case_id, actor="admin", reason="the subject's email")


def _erase(db, case_id: str, pick: int) -> None:
    """A rejected case erased once its retention is over (a tombstone entity, same key)."""
    with db.read() as s:
        case = s.get(Case, case_id)
        rejected = case.case_status == "rejected" and case.erased_at is None
    if rejected:
        erase_case(db, case_id, actor="admin", now=utcnow() + timedelta(days=6 * 366))


STEPS = {"intake": _intake, "screen": _screen, "disposition": _disposition, "assign": _assign,
         "decide": _decide, "world": _world, "move_entity": _move_entity,
         "restrict": _restrict, "erase": _erase}
ACTIVITY = st.lists(st.tuples(st.sampled_from(sorted(STEPS)), st.integers(0, 10_000)),
                    min_size=4, max_size=14)


# no shrinking (each step is a transaction; a failure prints its example as found), no
# example database written to the tree
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          phases=(Phase.explicit, Phase.generate),
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(activity=ACTIVITY)
def test_counters_equal_count_star_after_any_activity(db, views, monkeypatch, activity):
    """The examples share one database: each adds its activity to what came before."""
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    if not _ids(db):
        for pick in range(8):
            _intake(db, None, pick)
    for step, pick in activity:
        ids = _ids(db)
        if step != "intake":  # a screening or a decision is likelier on an open case
            with db.read() as s:
                ids = [i for i in ids if s.get(Case, i).case_status in (
                    "manual_review", "revisions", "pending_process")] or ids
        try:
            STEPS[step](db, ids[pick % len(ids)], pick)
        except REFUSED:
            pass  # a refused command writes nothing; the counts must still agree
    assert_counters_exact(db, views, utcnow() + LATER)


def test_open_hits_move_a_case_only_when_they_cross_zero(db, views, monkeypatch):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    for pick in range(4):
        _intake(db, None, pick)
    case_id = _ids(db)[0]
    _screen(db, case_id, 2)  # two open hits
    with db.read() as s:
        assert s.get(Case, case_id).open_hits == 2
    assert count_cases(db, CaseFilter(open_hits="open")) == 1
    with db.unit_of_work() as s:  # 2 -> 1: still "open", the trigger does not fire
        s.execute(text("UPDATE cases SET open_hits = 1 WHERE id = :id"), {"id": case_id})
    assert count_cases(db, CaseFilter(open_hits="open")) == 1
    with db.unit_of_work() as s:  # 1 -> 0 by hand-written SQL: the counters follow
        s.execute(text("UPDATE cases SET open_hits = 0 WHERE id = :id"), {"id": case_id})
    assert count_cases(db, CaseFilter(open_hits="open")) == 0 == real_count(
        db, CaseFilter(open_hits="open"))
    assert_counters_exact(db, views, utcnow() + LATER)


def test_bulk_load_recounts_open_hits_and_compaction_keeps_them(db, views, monkeypatch):
    """A demo bulk load (triggers off, one recount) on top of cases with open hits; then the
    counters are folded (PostgreSQL's appended rows) and still agree."""
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 10)
    for pick in range(6):
        _intake(db, None, pick)
    for case_id in _ids(db)[:4]:
        _screen(db, case_id, 1)
    assert count_cases(db, CaseFilter(open_hits="open")) == 4
    demo_data.generate_cases(db, 40, seed=11)  # bulk: at least as many as exist
    now = utcnow() + LATER
    assert count_cases(db, CaseFilter(open_hits="open")) >= 4
    assert_counters_exact(db, views, now)
    compact_case_counts(db)
    compact_due_counts(db, now)
    assert_counters_exact(db, views, now)
