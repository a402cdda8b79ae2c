"""A search within a view (core/worklist/search_clause.py, migration 0029): on PostgreSQL the
full-text index also holds each case's view dimensions, and the list asks for them with the
search's words. The list's page and total equal a plain reference — the cases' own columns
and the entity's own full-text index — for every default view and a few others, after
random writes that change a case's workflow, entity, country, kind or entity name; a word
typed in the search box that equals part of a view term matches no case through it; and
the list's expression is the migration's, so the index serves it."""
from __future__ import annotations

import random
from dataclasses import replace

from alembic.script import ScriptDirectory
from sqlalchemy import text, update

from core.store.db import alembic_config
from core.store.models import Case, Entity
from core.worklist.query import CaseFilter, count_upto, list_cases, page_query
from core.worklist.search import fts_query
from core.worklist.search_clause import CASE_TERMS, view_terms
from core.worklist.views import ViewInfo
from tests.worklist.test_case_search import by_entity
from tests.worklist.test_tag_view_rows import _reference, _seed, _views

NAMES = ("Golden Dragon Ltd", "Golden Harbour Trading", "Goldenrod Co", "Silver Dragon",
         "Acme Onboarding Services", "Business Kind Country Ltd", "wf entity Co")
# words of the view terms (=wf=onboarding, =entity=HK=business, ...) as a user would type them
TERM_WORDS = ("wf", "entity", "country", "kind", "hk", "business", "person", "onboarding",
              "=wf=onboarding", "=entity=HK=business", "ongoing_monitoring")
SEARCHES = ("golden", "gold", "dragon", "silver", "tag case", "T-03", *TERM_WORDS)


def _all_views(db) -> list[ViewInfo]:
    return _views(db) + [
        ViewInfo(0, "country only", 99, (), ({"field": "country", "op": "equals", "value": "CN"},)),
        ViewInfo(0, "kind in", 99, (), ({"field": "entity_type", "op": "in",
                                         "value": ["person", "business"]},)),
        ViewInfo(0, "both workflows, HK person", 99, ("onboarding", "ongoing_monitoring"), (
            {"field": "country", "op": "in", "value": ["HK", "DE"]},
            {"field": "entity_type", "op": "equals", "value": "person"}))]


def _filters(db) -> list[CaseFilter]:
    out = []
    for view in _all_views(db):
        for search in SEARCHES:
            out.append(CaseFilter(view=view, search=search))
        out.append(CaseFilter(view=view, search="golden", workflows=("onboarding",)))
    return out


def _expected(db, flt: CaseFilter) -> list[str]:
    found = set(by_entity(db, flt.search))
    return [i for i in _reference(db, replace(flt, search="")) if i in found]


def mismatches(db, filters: list[CaseFilter]) -> list[str]:
    wrong = []
    for flt in filters:
        want = _expected(db, flt)
        page = list_cases(db, flt, page_size=500)
        first = list_cases(db, flt, page_size=2, count_cap=3)
        got = ([r.id for r in page.rows], page.total, [r.id for r in first.rows],
               count_upto(db, flt, 3))
        expect = (want, len(want), want[:2], (3, False) if len(want) > 3 else (len(want), True))
        if got != expect:
            wrong.append(f"{flt.view.name} / {flt.search!r}: got {got}, expected {expect}")
    return wrong


def _write(db, rng: random.Random, ids: list[str]) -> None:
    case_id = rng.choice(ids)
    kind = rng.choice(("workflow", "move", "entity", "rename", "rename"))
    with db.unit_of_work() as s:
        entity_id = s.get(Case, case_id).entity_id
        if kind == "workflow":
            s.execute(update(Case).where(Case.id == case_id).values(
                workflow=rng.choice(("onboarding", "ongoing_monitoring"))))
        elif kind == "move":  # to another case's entity: its name, country and kind
            s.execute(update(Case).where(Case.id == case_id).values(
                entity_id=s.get(Case, rng.choice(ids)).entity_id))
        elif kind == "entity":  # the entity's country or kind: every case of it follows
            s.execute(update(Entity).where(Entity.id == entity_id).values(
                country=rng.choice(("HK", "CN", "DE")), kind=rng.choice(("business", "person"))))
        else:
            s.execute(update(Entity).where(Entity.id == entity_id).values(
                name=rng.choice(NAMES)))


def test_a_search_within_every_view_matches_the_reference_after_random_writes(db):
    ids = _seed(db)
    with db.unit_of_work() as s:  # names with the searched words
        for i, case_id in enumerate(ids):
            entity_id = s.get(Case, case_id).entity_id
            s.execute(update(Entity).where(Entity.id == entity_id).values(
                name=NAMES[i % len(NAMES)]))
    filters = _filters(db)
    if db.dialect == "postgresql":  # the index's arm asks for the view's terms
        assert sum(view_terms(f) is not None for f in filters) > len(filters) // 2
    assert mismatches(db, filters) == []
    rng = random.Random(29)
    for round_ in range(3):
        for _ in range(12):
            _write(db, rng, ids)
        assert mismatches(db, filters) == [], f"after round {round_}"
    assert max(len(_expected(db, f)) for f in filters) >= 3  # not trivially empty


def test_a_typed_word_never_matches_a_case_through_a_view_term(db):
    ids = _seed(db)
    for word in TERM_WORDS:  # the fts query keeps word characters only: no "=" ever
        query = fts_query(word, db.dialect)
        assert query is None or "=" not in query.replace("'", "")
    if db.dialect != "postgresql":
        return
    with db.read() as s:
        for word in TERM_WORDS:  # the index's own terms, asked for directly
            query = fts_query(word, "postgresql")
            hit = s.scalar(text(f"SELECT count(*) FROM cases WHERE {CASE_TERMS.format(t='')} "
                                "@@ to_tsquery('simple', :q) AND search_vector IS NOT NULL AND "
                                "NOT (search_vector @@ to_tsquery('simple', :q))"
                                ).bindparams(q=query))
            assert hit == 0, word  # nothing beyond what the entity's own terms match
        # and the terms are there: each case has its own (removing them fails this)
        terms = s.scalar(text(f"SELECT count(*) FROM cases WHERE {CASE_TERMS.format(t='')} "
                              "@@ ('''=wf=' || workflow || '''')::tsquery "
                              "AND entity_country IS NOT NULL AND entity_kind IS NOT NULL AND "
                              f"{CASE_TERMS.format(t='')} @@ ('''=entity=' || entity_country "
                              "|| '=' || entity_kind || '''')::tsquery"))
        assert terms == len(ids)


def test_the_list_asks_the_index_the_migration_built(db):
    migration = ScriptDirectory.from_config(alembic_config(db)).get_revision("0029").module
    assert migration.CASE_TERMS == CASE_TERMS.format(t="")
    if db.dialect != "postgresql":
        return
    _seed(db)
    # no view: nothing but the primary key and the terms' index can answer it
    stmt = page_query(CaseFilter(search="golden"), "postgresql", "created_at", True, 50, 0)
    compiled = stmt.compile(dialect=db.write_engine.dialect,
                            compile_kwargs={"render_postcompile": True})
    with db.write_engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a few rows: a walk would do
        conn.execute(text("SET enable_indexscan = off"))
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(compiled),
                                                              compiled.params))
    assert "ix_cases_search_vector_terms" in plan, plan


def test_a_search_read_in_one_pass_pages_as_the_general_path(db):
    """The first pass (core/worklist/search_page.py: the matches read once, numbered and
    sorted by the database) gives every page, both orders, exactly what the general path
    (a count, then `page_query`) gives; a page past the end shows the last one; and above the
    cap the total says so."""
    ids = _seed(db)
    with db.unit_of_work() as s:  # equal created times: the case id breaks the tie
        s.execute(update(Case).where(Case.id.in_(ids[:6])).values(created_at=s.get(
            Case, ids[0]).created_at))
    kinds = next(v for v in _all_views(db) if v.name == "kind in")
    for flt in (CaseFilter(search="tag"), CaseFilter(view=kinds, search="case")):
        for descending in (True, False):
            general = list_cases(db, flt, descending=descending, page_size=500)
            assert len(general.rows) >= 4
            for page in range(1, 6):
                one = list_cases(db, flt, descending=descending, page=page, page_size=3,
                                 count_cap=500)
                plain = list_cases(db, flt, descending=descending, page=page, page_size=3)
                assert ([r.id for r in one.rows], one.total, one.page, one.total_capped) == (
                    [r.id for r in plain.rows], plain.total, plain.page, False)
                assert [r.id for r in one.rows] == [r.id for r in general.rows][
                    (one.page - 1) * 3:one.page * 3]
        capped = list_cases(db, flt, page_size=2, count_cap=1)  # "1+": the page as always
        assert (capped.total, capped.total_capped) == (1, True)
        assert [r.id for r in capped.rows] == [r.id for r in list_cases(
            db, flt, page_size=2).rows]
