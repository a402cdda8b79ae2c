"""`case_counts` (kept by database triggers, migration 0003) must always give the same numbers
as COUNT(*) over the cases: after a demo bulk load, after service-layer commands, intake
events, imports, and hand-written SQL on cases and entities."""
from __future__ import annotations

import random
from datetime import date

import pytest
from sqlalchemy import func, select, text

from core.cases.actions import (
    approve_block,
    approve_case,
    ask_for_reuploads,
    ask_to_reupload_block,
    assign_case,
    reject_case,
)
from core.cases.read import case_detail
from core.cases.status import CaseStatus
from core.demo import bulk_load
from core.demo import generate as demo_data
from core.demo.simulator import CaseTemplate, create_case, play, world_steps
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound
from core.store import case_counts
from core.store.case_counts import compact_case_counts
from core.store.counter_models import CaseCount
from core.store.models import AuditEvent, Case
from core.worklist import query as case_query
from core.worklist.query import (
    CaseFilter,
    count_cases,
    counter_clauses,
    counts_by_status,
    counts_by_view,
    list_cases,
    real_count,
)
from core.worklist.views import ViewInfo, draft_view, ensure_default_views, list_views

REFUSED = (ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound)
ASSIGNEES = ("anyone", "unassigned", "someone")


@pytest.fixture
def views(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    return list_views(db)


def _extra_views() -> list[ViewInfo]:
    return [
        ViewInfo(1001, "HK or SG people", 0, ("onboarding",),
                 ({"field": "country", "op": "in", "value": ["HK", "SG"]},
                  {"field": "entity_type", "op": "equals", "value": "person"})),
        ViewInfo(1002, "decided", 0, (), (), ("approved", "rejected")),
    ]


def assert_counters_exact(db, views: list[ViewInfo]) -> None:
    """Every default view (and a few more) x every status x assignee: counters == COUNT(*)."""
    views = views + _extra_views()
    by_view = counts_by_view(db, views)
    for v in views:
        assert counter_clauses(CaseFilter(view=v)) is not None, v.name
        assert by_view[v.id] == real_count(db, CaseFilter(view=v)), v.name
        for assignee in ASSIGNEES:
            flt = CaseFilter(view=v, assignee=assignee)
            by_status = counts_by_status(db, flt)
            for status in CaseStatus:
                one = CaseFilter(view=v, assignee=assignee, statuses=(status.value,))
                expected = real_count(db, one)
                assert by_status[status.value] == expected, (v.name, assignee, status)
                assert count_cases(db, one) == expected, (v.name, assignee, status)
            assert count_cases(db, flt) == real_count(db, flt), (v.name, assignee)
    for workflows in (("onboarding",), ("ongoing_monitoring",), ("onboarding", "ongoing_monitoring")):
        flt = CaseFilter(workflows=workflows, statuses=("manual_review", "revisions"))
        assert count_cases(db, flt) == real_count(db, flt)


def _counter_rows(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(CaseCount))


def _random_command(db, rng: random.Random, case_id: str) -> None:
    """A reviewer's command on the case, chosen among what the rules allow now (mostly)."""
    detail = case_detail(db, case_id, "admin", with_timeline=False)
    version = detail.version
    if rng.random() < 0.2:
        assign_case(db, case_id, rng.choice(["reviewer", "reviewer2", "admin", None]),
                    actor="admin", expected_version=version)
        return
    if detail.assignee is None:
        assign_case(db, case_id, "reviewer", actor="admin", expected_version=version)
    detail = case_detail(db, case_id, detail.assignee or "reviewer", with_timeline=False)
    version, actor = detail.version, detail.assignee
    allowed = [a.action for a in detail.case_actions if a.allowed]
    blocks = [b.ref for b in [*detail.documents, *detail.kyc_blocks]
              if b.status in ("awaiting_review", "pending_review", None) or rng.random() < 0.3]
    roll = rng.random()
    if allowed and roll < 0.5:
        action = rng.choice(allowed)
        if action == "approve":
            approve_case(db, case_id, actor=actor, expected_version=version)
        elif action == "reject":
            reject_case(db, case_id, actor=actor, expected_version=version, reason="risk")
        else:
            ask_for_reuploads(db, case_id, actor=actor, expected_version=version)
    elif blocks and roll < 0.85:
        approve_block(db, case_id, rng.choice(blocks), actor=actor, expected_version=version)
    elif blocks:
        ask_to_reupload_block(db, case_id, rng.choice(blocks), actor=actor,
                              expected_version=version, reason="Document expired")


def _random_world_step(db, rng: random.Random, case_id: str) -> None:
    steps = world_steps(case_detail(db, case_id, "admin", with_timeline=False))
    if steps:
        play(db, case_id, rng.choice(steps), actor="admin")


def _open_case_ids(db) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(Case.id).where(
            Case.case_status.not_in(("approved", "rejected"))).order_by(Case.id)))


@pytest.mark.parametrize("seed", [1, 2])
def test_counters_equal_count_star_through_random_activity(db, views, monkeypatch, seed):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 1000)  # the bulk path (triggers dropped)
    assert demo_data.generate_cases(db, 2500, seed=seed) == 2500
    assert_counters_exact(db, views)
    assert _counter_rows(db) < 1000  # the grain stays small

    rng = random.Random(seed)
    demo_data.generate_cases(db, 300, seed=seed + 10)  # small load: triggers fire per row
    assert_counters_exact(db, views)
    done = 0
    for round_ in range(4):
        ids = _open_case_ids(db)
        for _ in range(40):
            case_id = rng.choice(ids)
            try:
                if rng.random() < 0.5:
                    _random_command(db, rng, case_id)
                else:
                    _random_world_step(db, rng, case_id)
                done += 1
            except REFUSED:
                pass  # refused commands write nothing; the counts must still agree
        for _ in range(3):
            template = CaseTemplate(kind=rng.choice(["business", "person"]),
                                    workflow=rng.choice(["onboarding", "ongoing_monitoring"]),
                                    country=rng.choice(["HK", "CN", "SG", "FR"]))
            create_case(db, template, actor="admin")
        assert_counters_exact(db, views)
    assert done >= 60  # most of the activity really happened
    with db.read() as s:
        moved = s.scalar(select(func.count()).select_from(AuditEvent)
                         .where(AuditEvent.kind == "case.status_changed"))
    assert moved >= 20


def test_hand_written_sql_moves_the_counters_too(db, views):
    demo_data.generate_cases(db, 200, seed=3)
    with db.unit_of_work() as s:
        s.execute(text("UPDATE cases SET workflow = 'ongoing_monitoring' "
                       "WHERE id IN (SELECT id FROM cases ORDER BY id LIMIT 20)"))
        s.execute(text("UPDATE cases SET assignee = NULL "
                       "WHERE id IN (SELECT id FROM cases ORDER BY id DESC LIMIT 30)"))
        s.execute(text("UPDATE cases SET case_status = 'manual_review' "
                       "WHERE id IN (SELECT id FROM cases ORDER BY created_at LIMIT 15)"))
        # an entity moving country and kind moves its cases between views
        s.execute(text("UPDATE entities SET country = 'HK', kind = 'business' "
                       "WHERE id IN (SELECT entity_id FROM cases ORDER BY id LIMIT 25)"))
        s.execute(text("UPDATE entities SET name = name || ' X' WHERE id < 10"))  # no effect
        # a case moved to another entity
        s.execute(text("UPDATE cases SET entity_id = (SELECT max(id) FROM entities) "
                       "WHERE id = (SELECT min(id) FROM cases)"))
    assert_counters_exact(db, views)
    with db.unit_of_work() as s:  # a case without children can be deleted
        s.execute(text(
            "DELETE FROM cases WHERE id NOT IN (SELECT case_id FROM documents) "
            "AND id NOT IN (SELECT case_id FROM ubos) AND id NOT IN (SELECT case_id FROM processes) "
            "AND id NOT IN (SELECT case_id FROM decisions)"))
        s.execute(text("INSERT INTO cases (id, workflow, entity_id, case_status, "
                       "collection_completed, tags, user_data, registry_data, created_at, "
                       "updated_at, status_changed_at, version) SELECT 'RAW-1', 'onboarding', "
                       "min(id), 'revisions', false, '[]', '{}', '{}', CURRENT_TIMESTAMP, "
                       "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1 FROM entities"))
    assert_counters_exact(db, views)


def test_filters_outside_the_grain_fall_back_to_count_star(db, views):
    demo_data.generate_cases(db, 300, seed=4)
    outside = [
        CaseFilter(search="golden"),
        CaseFilter(assignee="me", me="reviewer"),
        CaseFilter(created_from=date(2000, 1, 1)),
        CaseFilter(view=draft_view("risky", [], [{"field": "risk_score", "op": "range",
                                                  "value": [50, None]}])),
        CaseFilter(view=draft_view("vip", [], [{"field": "tags", "op": "contains",
                                                "value": "vip"}])),
        CaseFilter(view=draft_view("name", [], [{"field": "name", "op": "contains",
                                                 "value": "ltd"}])),
    ]
    for flt in outside:
        assert counter_clauses(flt) is None
        assert count_cases(db, flt) == real_count(db, flt)
        assert sum(counts_by_status(db, flt).values()) == real_count(db, flt)
    with pytest.raises(InvalidInput):  # validation is the same on both paths
        count_cases(db, CaseFilter(statuses=("nope",)))
    with pytest.raises(InvalidInput):
        counts_by_status(db, CaseFilter(assignee="me"))


def test_demo_bulk_load_keeps_triggers_and_recounts(db, views, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 1000)

    def triggers():
        with db.read() as s:
            if db.is_sqlite:
                return sorted(s.execute(text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")).all())
            return sorted(s.execute(text(
                "SELECT tgname, tgenabled, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal "
                "AND c.relnamespace = current_schema()::regnamespace")).all())

    before = triggers()
    # 4 of 0003 (case_counts) and 4 of 0007 (case_due_counts, sharing the prefix the loader uses)
    assert sum(name.startswith("case_counts_") for name, *_ in before) == 8
    demo_data.generate_cases(db, 1500, seed=5)   # bulk: triggers off, recount at the end
    assert triggers() == before
    demo_data.generate_cases(db, 1500, seed=6)   # bulk again on top of existing counts
    assert triggers() == before
    assert_counters_exact(db, views)


def test_compaction_keeps_the_counts(db, views):
    demo_data.generate_cases(db, 300, seed=7)  # small: one trigger firing per case
    before = {v.id: real_count(db, CaseFilter(view=v)) for v in views}
    rows = _counter_rows(db)
    removed = compact_case_counts(db)
    assert counts_by_view(db, views) == before
    assert _counter_rows(db) == rows - removed
    if not db.is_sqlite:  # appended +1 rows folded into one row per key
        assert removed > 0
        with db.read() as s:
            assert s.scalar(text(
                "SELECT count(*) - count(DISTINCT (workflow, case_status, country, kind, "
                "assigned)) FROM case_counts")) == 0


def test_postgres_compacts_on_read_when_rows_pile_up(db, views, monkeypatch):
    if db.is_sqlite:
        pytest.skip("SQLite keeps one row per key")
    monkeypatch.setattr(case_counts, "COMPACT_MIN_EXTRA_ROWS", 50)
    monkeypatch.setattr(case_counts, "compact_checked_at", {})
    demo_data.generate_cases(db, 300, seed=8)
    assert _counter_rows(db) >= 300
    expected = {v.id: real_count(db, CaseFilter(view=v)) for v in views}
    assert counts_by_view(db, views) == expected
    assert _counter_rows(db) < 300


def test_deep_page_joins_entities_only_for_its_rows(db, views):
    demo_data.generate_cases(db, 400, seed=9)
    for flt in (CaseFilter(), CaseFilter(statuses=("manual_review",)),
                CaseFilter(view=views[3]), CaseFilter(search="limited")):
        for sort in ("created_at", "name", "status", "updated_at"):
            for descending in (True, False):
                with db.read() as s:
                    expected = [r[0] for r in s.execute(
                        case_query.rows_query(flt, db.dialect)
                        .order_by(*case_query.sort_columns(sort, descending)))]
                got, page, pages = [], 1, 1
                while page <= pages:
                    result = list_cases(db, flt, sort=sort, descending=descending, page=page,
                                        page_size=50)
                    got += [r.id for r in result.rows]
                    page, pages = page + 1, result.pages
                assert got == expected, (flt, sort, descending)
