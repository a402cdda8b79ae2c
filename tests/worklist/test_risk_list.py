"""The risk level as a case-list field (core/worklist/): the filter, the Risk sort with its
keyset cursors, the view predicate, saved filters and export links, the CSV columns — all SQL
on the indexed columns. Runs on SQLite and on PostgreSQL (DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text

from core.errors import InvalidInput
from core.store.models import Case
from core.worklist.cursors import list_cases_after
from core.worklist.export import export_cases
from core.worklist.export_links import filter_from_json, filter_to_json
from core.worklist.query import CaseFilter, count_cases, list_cases, page_query, real_count
from core.worklist.saved_filters import case_filter_of, list_saved_filters, save_filter
from core.worklist.views import ViewInfo, validate_predicates
from tests.factories import make_case

# country IR: +40 (medium); + Gambling: +25 (high); GB: 0 (low)
CASES = {"H-1": ("IR", "Gambling"), "H-2": ("IR", "Gambling"), "M-1": ("IR", "Software"),
         "M-2": ("IR", "Software"), "M-3": ("IR", "Software"), "L-1": ("GB", "Software"),
         "L-2": ("GB", "Software")}


@pytest.fixture
def scored(db):
    for case_id, (country, industry) in CASES.items():
        make_case(db, case_id, country=country, user_data={"industry": industry})
    return db


def _ids(rows) -> list[str]:
    return [r.id for r in rows]


def test_the_filter_finds_the_cases_at_the_levels_asked(scored):
    page = list_cases(scored, CaseFilter(risk_levels=("high",)))
    assert sorted(_ids(page.rows)) == ["H-1", "H-2"] and page.total == 2
    assert {r.risk_level for r in page.rows} == {"high"} and page.rows[0].risk_points == 65
    both = CaseFilter(risk_levels=("medium", "low"))
    assert count_cases(scored, both) == real_count(scored, both) == 5
    with pytest.raises(InvalidInput, match="risk level must be among low, medium, high"):
        list_cases(scored, CaseFilter(risk_levels=("severe",)))


def test_the_risk_sort_orders_by_points_and_cursors_walk_it_whole(scored):
    highest = _ids(list_cases(scored, CaseFilter(), sort="risk", descending=True).rows)
    assert highest[:2] == ["H-2", "H-1"] and highest[-2:] == ["L-2", "L-1"]  # id breaks ties
    lowest = _ids(list_cases(scored, CaseFilter(), sort="risk", descending=False).rows)
    assert lowest == list(reversed(highest))
    for descending in (True, False):
        walked, cursor = [], None
        while True:
            page = list_cases_after(scored, CaseFilter(), sort="risk", descending=descending,
                                    cursor=cursor, page_size=2)
            walked += _ids(page.rows)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert walked == (highest if descending else lowest)


def test_a_view_segments_by_risk_level_and_checks_the_values(scored):
    view = ViewInfo(1, "Risky", 0, (), ({"field": "risk_level", "op": "in",
                                         "value": ["high", "medium"]},))
    assert count_cases(scored, CaseFilter(view=view)) == 5
    points = ViewInfo(2, "60+", 0, (), ({"field": "risk_points", "op": "range",
                                         "value": [60, None]},))
    assert sorted(_ids(list_cases(scored, CaseFilter(view=points)).rows)) == ["H-1", "H-2"]
    assert validate_predicates([{"field": "risk_level", "op": "equals", "value": "severe"},
                                {"field": "risk_level", "op": "contains", "value": "hi"}]) == [
        "predicate 1: risk_level is one of low, medium, high",
        "predicate 2: risk_level takes equals or in"]


def test_saved_filters_and_export_links_keep_the_levels(scored):
    flt = CaseFilter(risk_levels=("high",))
    assert filter_from_json(filter_to_json(flt)).risk_levels == ("high",)
    save_filter(scored, "reviewer", "High risk", {"risk_levels": ["high", "low"], "sort": "risk"})
    saved = list_saved_filters(scored, "reviewer")[0]
    assert saved.filters["risk_levels"] == ["low", "high"]   # in the levels' order
    assert case_filter_of(saved, [], "reviewer").risk_levels == ("low", "high")
    with pytest.raises(InvalidInput) as refused:
        save_filter(scored, "reviewer", "Bad", {"risk_levels": ["severe"]})
    assert refused.value.problems == ["risk_levels must be among low, medium, high"]


def test_the_export_ends_with_the_level_and_points(scored):
    body = "".join(export_cases(scored, CaseFilter(risk_levels=("high", "medium")),
                                actor="analyst", sort="risk"))
    rows = list(csv.reader(io.StringIO(body, newline="")))
    assert rows[0][-2:] == ["risk_level", "risk_points"]
    assert [(r[0], r[-2], r[-1]) for r in rows[1:]] == [
        ("H-2", "high", "65"), ("H-1", "high", "65"), ("M-3", "medium", "40"),
        ("M-2", "medium", "40"), ("M-1", "medium", "40")]


def test_the_level_filter_and_the_sort_read_their_indexes(scored):
    """SQLite: the plan names the index (PostgreSQL picks by its statistics: not asserted)."""
    if not scored.is_sqlite:
        pytest.skip("SQLite's plan only: PostgreSQL chooses by its statistics")
    with scored.read() as s:
        s.execute(text("ANALYZE"))
        stmt = page_query(CaseFilter(risk_levels=("high",)), "sqlite", "created_at", True, 50, 0)
        sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "ix_cases_risk_level" in plan, plan
        stmt = page_query(CaseFilter(), "sqlite", "risk", True, 50, 0, walk=True)
        sql = str(stmt.compile(compile_kwargs={"literal_binds": True}))
        plan = " ".join(str(r[-1]) for r in s.execute(text(f"EXPLAIN QUERY PLAN {sql}")))
        assert "ix_cases_risk_points" in plan, plan
        assert s.scalar(select(Case.risk_level).where(Case.id == "H-1")) == "high"
