"""The case list's copies kept by triggers (migration 0011) stay equal to their source whatever
writes the rows: the entity's name, country and kind on `cases`, and `cases.tags` as
`case_tags` rows; and the capped count of the list (`count_upto`, `list_cases(count_cap=)`)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, select, text, update

from core.cases.tags import add_tag, remove_tag
from core.demo import bulk_load
from core.demo.generate import generate_cases
from core.errors import InvalidInput
from core.store.counter_models import CaseTag
from core.store.models import Case, Entity
from core.worklist.query import (
    CaseFilter,
    count_cases,
    count_upto,
    list_cases,
    page_query,
    real_count,
    rows_query,
    walk_is_cheaper,
)
from core.worklist.views import ensure_default_views, find_view
from tests.factories import make_case, version_of


def copies_differ(db) -> list[tuple]:
    """Cases whose copied entity columns differ from their entity's."""
    with db.read() as s:
        return s.execute(
            select(Case.id, Case.entity_name, Entity.name, Case.entity_country, Entity.country,
                   Case.entity_kind, Entity.kind).join(Entity, Entity.id == Case.entity_id)
            .where((Case.entity_name != Entity.name) | (Case.entity_country != Entity.country)
                   | (Case.entity_kind != Entity.kind) | Case.entity_name.is_(None)
                   | Case.entity_kind.is_(None))).all()


def tags_as_rows(db) -> tuple[set, set]:
    """(the tags the cases' JSON lists hold, the rows of case_tags), as (tag, case id)."""
    with db.read() as s:
        listed = {(t, cid) for cid, tags in s.execute(select(Case.id, Case.tags))
                  for t in (tags if isinstance(tags, list) else json.loads(tags or "[]"))}
        rows = set(s.execute(select(CaseTag.tag, CaseTag.case_id)).tuples())
    return listed, rows


def test_a_new_case_takes_its_entitys_name_country_and_kind(db):
    make_case(db, "C-1", name="Zoë Ünal-Müller", country="DE", kind="person")
    make_case(db, "C-2", name="北京中文贸易有限公司", country="CN")
    with db.read() as s:
        got = {c.id: (c.entity_name, c.entity_country, c.entity_kind)
               for c in s.scalars(select(Case))}
    assert got == {"C-1": ("Zoë Ünal-Müller", "DE", "person"),
                   "C-2": ("北京中文贸易有限公司", "CN", "business")}


def test_an_entity_change_reaches_all_its_cases_and_a_moved_case_follows(db):
    make_case(db, "C-1", name="Old Name Ltd", country="HK")
    with db.unit_of_work() as s:
        entity_id = s.get(Case, "C-1").entity_id
        other = Entity(kind="person", name="Marie Dubois", country="FR")
        s.add(other)
        s.flush()
        s.add(Case(id="C-2", workflow="onboarding", entity_id=entity_id,  # a second case
                   case_status="collection_flow", tags=[]))
    with db.unit_of_work() as s:  # hand-written SQL, as a data fix would be
        s.execute(update(Entity).where(Entity.id == entity_id)
                  .values(name="New Name GmbH", country="DE"))
    assert copies_differ(db) == []
    with db.read() as s:
        assert {c.entity_name for c in s.scalars(select(Case))} == {"New Name GmbH"}
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-2").values(entity_id=other.id))
    assert copies_differ(db) == []
    with db.read() as s:
        assert s.get(Case, "C-2").entity_name == "Marie Dubois"


def test_tags_as_rows_follow_commands_hand_written_sql_and_deletes(db):
    for cid in ("C-1", "C-2", "C-3"):
        make_case(db, cid, documents=0)  # C-2 is deleted below: nothing refers to it
    add_tag(db, "C-1", "vip", actor="admin", expected_version=version_of(db, "C-1"))
    add_tag(db, "C-1", "pep", actor="admin", expected_version=version_of(db, "C-1"))
    add_tag(db, "C-2", "pep", actor="admin", expected_version=version_of(db, "C-2"))
    listed, rows = tags_as_rows(db)
    assert rows == listed == {("vip", "C-1"), ("pep", "C-1"), ("pep", "C-2")}
    remove_tag(db, "C-1", "vip", actor="admin", expected_version=version_of(db, "C-1"))
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-3").values(tags=["crypto", "crypto"]))
        s.execute(delete(Case).where(Case.id == "C-2"))
    listed, rows = tags_as_rows(db)
    assert rows == listed == {("pep", "C-1"), ("crypto", "C-3")}
    assert count_cases(db, CaseFilter(tags=("pep",))) == 1


def test_a_bulk_load_writes_the_copies_and_the_tag_rows_itself(db, monkeypatch):
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 50)  # a bulk load: triggers off
    make_case(db, "C-1", name="Before Ltd")
    generate_cases(db, 300, seed=7)
    assert copies_differ(db) == []
    listed, rows = tags_as_rows(db)
    assert listed and rows == listed
    generate_cases(db, 20, seed=8)  # a small load, with the triggers on
    assert copies_differ(db) == []
    listed, rows = tags_as_rows(db)
    assert rows == listed


def test_a_walk_in_the_sorts_order_reads_the_same_rows(db):
    generate_cases(db, 300, seed=3)
    with db.unit_of_work() as s:
        ensure_default_views(s)
    with db.read() as s:
        tag = s.execute(select(CaseTag.tag, text("count(*) AS n")).group_by(CaseTag.tag)
                        .order_by(text("n DESC"))).first()[0]
        # a list matching 150 of 300 cases: the first page of 50 is walked, a page of 500 not
        assert walk_is_cheaper(s, db.dialect, 150, 50) is db.is_sqlite
        assert walk_is_cheaper(s, db.dialect, 150, 500) is False
        assert walk_is_cheaper(s, db.dialect, 100, 50) is False
        assert walk_is_cheaper(s, db.dialect, 0, 1) is False
    hk = find_view(db, "Hong Kong companies")
    seen: set[str] = set()
    for flt in (CaseFilter(tags=(tag,)), CaseFilter(search="limited"), CaseFilter(view=hk),
                CaseFilter(view=hk, search="limited"), CaseFilter()):
        for sort, descending in (("created_at", True), ("updated_at", False), ("name", False),
                                 ("status", True), ("due_at", False), ("id", True)):
            with db.read() as s:
                pages = [[r[0] for r in s.execute(page_query(
                    flt, db.dialect, sort, descending, 7, 14, walk))] for walk in (False, True)]
            assert pages[0] == pages[1], (flt, sort)
            seen.update(pages[0])
        assert seen, flt  # every filter here has rows past the second page
        seen.clear()
    assert count_cases(db, CaseFilter(tags=(tag,))) == real_count(db, CaseFilter(tags=(tag,)))


def test_the_list_reads_the_same_rows_as_the_join_with_entities(db):
    generate_cases(db, 200, seed=5)
    with db.unit_of_work() as s:
        ensure_default_views(s)
    hk = find_view(db, "Hong Kong companies")
    for flt in (CaseFilter(view=hk), CaseFilter(search="golden"), CaseFilter()):
        with db.read() as s:
            joined = set(s.execute(
                select(Case.id, Entity.name, Entity.kind, Entity.country)
                .join(Entity, Entity.id == Case.entity_id)
                .where(Case.id.in_(rows_query(flt, db.dialect).with_only_columns(Case.id)))))
        page = list_cases(db, flt, page_size=500)
        assert {(r.id, r.entity_name, r.entity_type, r.country) for r in page.rows} == joined
    names = [r.entity_name for r in list_cases(db, CaseFilter(), sort="name", descending=False,
                                               page_size=500).rows]
    assert names == sorted(names)


def test_a_count_above_the_cap_says_so_and_the_counters_stay_exact(db):
    for i in range(7):
        make_case(db, f"C-{i}", assignee="reviewer" if i < 5 else None)
    me = CaseFilter(assignee="me", me="reviewer")  # the counters cannot answer "me"
    assert count_upto(db, me, 5) == (5, True)
    assert count_upto(db, me, 4) == (4, False)
    assert count_upto(db, CaseFilter(), 3) == (7, True)  # the counters: exact at any size
    page = list_cases(db, me, page_size=2, count_cap=3)
    assert (page.total, page.total_capped, page.pages, len(page.rows)) == (3, True, 2, 2)
    deep = list_cases(db, me, page=3, page_size=2, count_cap=3)  # beyond the cap: exact
    assert (deep.total, deep.total_capped, deep.page, len(deep.rows)) == (5, False, 3, 1)
    exact = list_cases(db, me, page_size=2)
    assert (exact.total, exact.total_capped) == (5, False)
    with pytest.raises(InvalidInput):
        count_upto(db, me, 0)
