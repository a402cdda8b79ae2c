"""The case list query: views, filters, full-text search, sorting, paging and counts in SQL."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from core.errors import InvalidInput
from core.store.models import Case, utcnow
from core.worklist.cursors import list_cases_after
from core.worklist.query import (
    CaseFilter,
    count_cases,
    counts_by_status,
    counts_by_view,
    iter_cases,
    list_cases,
)
from core.worklist.views import ViewInfo, ensure_default_views, find_view, list_views, save_view
from tests.factories import make_case

CASES = [  # id, name, kind, country, workflow, collection completed, assignee, email, reg no
    ("K-1", "Golden Dragon Trading Ltd", "business", "HK", "onboarding", True, "reviewer",
     "ops@golden-dragon.hk", "HK-0001111"),
    ("K-2", "Harbour Light Shipping", "business", "HK", "ongoing_monitoring", True, None,
     "info@harbourlight.hk", "HK-0002222"),
    ("K-3", "Shenzhen Bright Electronics", "business", "CN", "onboarding", False, None,
     "sales@brightelec.cn", "CN-91440300"),
    ("K-4", "Marie Dubois", "person", "FR", "onboarding", True, "reviewer2",
     "marie.dubois@example.fr", ""),
    ("K-5", "Li Wei", "person", "CN", "ongoing_monitoring", True, None, "li.wei@example.cn", ""),
]


@pytest.fixture
def cases(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    for i, (cid, name, kind, country, wf, done, assignee, email, reg) in enumerate(CASES):
        make_case(db, cid, name=name, kind=kind, country=country, workflow=wf,
                  collection_completed=done, assignee=assignee, email=email,
                  registration_number=reg)
    now = utcnow()
    with db.unit_of_work() as s:  # created one day apart, K-1 oldest
        for i, (cid, *_rest) in enumerate(CASES):
            s.execute(update(Case).where(Case.id == cid).values(
                created_at=now - timedelta(days=len(CASES) - i)))
    return db


def ids(db, flt, **kw):
    return [r.id for r in list_cases(db, flt, **kw).rows]


def test_default_views_segment_by_workflow_and_properties(cases):
    counts = {v.name: n for v, n in zip(list_views(cases), counts_by_view(cases).values())}
    assert counts == {"All cases": 5, "Onboarding": 3, "Ongoing monitoring": 2,
                      "Hong Kong companies": 2, "China companies": 1}
    assert ids(cases, CaseFilter(view=find_view(cases, "China companies"))) == ["K-3"]
    assert ids(cases, CaseFilter(view=find_view(cases, "Hong Kong companies"))) == ["K-2", "K-1"]


@pytest.mark.parametrize("search,expected", [
    ("golden", ["K-1"]),
    ("Golden Drag", ["K-1"]),          # prefix of the last word while typing
    ("harbourlight", ["K-2"]),         # part of an email
    ("marie.dubois@example.fr", ["K-4"]),
    ("CN-91440300", ["K-3"]),          # registration number
    ("K-5", ["K-5"]),                  # case id
    ("k-5", ["K-5"]),
    ("dubois marie", ["K-4"]),         # word order does not matter
    ("nobody", []),
    ("'; DROP TABLE cases; --", []),   # hostile input is just words
    ('"*', []),
])
def test_search(cases, search, expected):
    assert ids(cases, CaseFilter(search=search)) == expected


def test_status_assignee_and_date_filters(cases):
    assert ids(cases, CaseFilter(statuses=("collection_flow",))) == ["K-3"]
    assert ids(cases, CaseFilter(assignee="me", me="reviewer")) == ["K-1"]
    assert ids(cases, CaseFilter(assignee="unassigned")) == ["K-5", "K-3", "K-2"]
    assert ids(cases, CaseFilter(assignee="someone")) == ["K-4", "K-1"]
    today = utcnow().date()
    assert ids(cases, CaseFilter(created_from=today - timedelta(days=2))) == ["K-5", "K-4"]
    assert ids(cases, CaseFilter(created_to=today - timedelta(days=4))) == ["K-2", "K-1"]
    assert ids(cases, CaseFilter(workflows=("ongoing_monitoring",))) == ["K-5", "K-2"]


def test_sort_and_paging(cases):
    page = list_cases(cases, CaseFilter(), sort="name", descending=False, page=2, page_size=2)
    assert (page.total, page.pages, page.page) == (5, 3, 2)
    assert [r.entity_name for r in page.rows] == ["Li Wei", "Marie Dubois"]
    last = list_cases(cases, CaseFilter(), page=99, page_size=2)
    assert last.page == 3 and [r.id for r in last.rows] == ["K-1"]
    assert ids(cases, CaseFilter(), sort="created_at", descending=False) == [
        "K-1", "K-2", "K-3", "K-4", "K-5"]


def test_counts_by_status_ignore_the_status_choice(cases):
    counts = counts_by_status(cases, CaseFilter(statuses=("manual_review",)))
    assert counts["manual_review"] == 4 and counts["collection_flow"] == 1
    assert sum(counts.values()) == 5 and set(counts) >= {"approved", "rejected"}
    assert count_cases(cases, CaseFilter(statuses=("manual_review",))) == 4


def test_iter_cases_streams_everything_in_batches(cases):
    assert [r.id for r in iter_cases(cases, CaseFilter(), batch_size=2)] == [
        "K-5", "K-4", "K-3", "K-2", "K-1"]


@pytest.mark.parametrize("flt,kw,message", [
    (CaseFilter(statuses=("done",)), {}, "unknown status"),
    (CaseFilter(assignee="me"), {}, "who you are"),
    (CaseFilter(created_from=date(2026, 2, 1), created_to=date(2026, 1, 1)), {}, "ends before"),
    (CaseFilter(search="x" * 201), {}, "at most"),
    (CaseFilter(), {"sort": "password_hash"}, "cannot sort"),
    (CaseFilter(), {"page_size": 100_000}, "page size"),
])
def test_bad_filters_get_clear_errors(cases, flt, kw, message):
    with pytest.raises(InvalidInput, match=message):
        list_cases(cases, flt, **kw)


@pytest.mark.parametrize("predicates,expected", [
    ([{"field": "country", "op": "in", "value": ["FR", "CN"]}], ["K-5", "K-4", "K-3"]),
    ([{"field": "name", "op": "contains", "value": "light"}], ["K-2"]),
    ([{"field": "name", "op": "contains", "value": "100%_"}], []),
    ([{"field": "entity_type", "op": "equals", "value": "person"}], ["K-5", "K-4"]),
    ([{"field": "user_data.industry", "op": "equals", "value": "trading"}],
     ["K-5", "K-4", "K-3", "K-2", "K-1"]),
])
def test_view_predicates_compile_to_sql(cases, predicates, expected):
    view = save_view(cases, "Test view", [], predicates)
    assert ids(cases, CaseFilter(view=view)) == expected


def test_tags_and_risk_score_predicates(cases):
    with cases.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "K-2").values(tags=["vip", "shipping"], risk_score=80))
        s.execute(update(Case).where(Case.id == "K-4").values(tags=["vip"], risk_score=20))
    vip = save_view(cases, "VIP", [], [{"field": "tags", "op": "contains", "value": "vip"}])
    assert ids(cases, CaseFilter(view=vip)) == ["K-4", "K-2"]
    risky = save_view(cases, "Risky", [], [{"field": "risk_score", "op": "range", "value": [50, None]}])
    assert ids(cases, CaseFilter(view=risky)) == ["K-2"]


def test_the_tag_filter_keeps_cases_carrying_every_tag(cases):
    with cases.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "K-2").values(tags=["vip", "shipping"]))
        s.execute(update(Case).where(Case.id == "K-4").values(tags=["vip"]))
    assert ids(cases, CaseFilter(tags=("vip",))) == ["K-4", "K-2"]
    assert ids(cases, CaseFilter(tags=("vip", "shipping"))) == ["K-2"]
    assert ids(cases, CaseFilter(tags=("nobody",))) == []
    # counted without the counters (their grain has no tags), and like the rows
    assert count_cases(cases, CaseFilter(tags=("vip",))) == 2
    assert sum(counts_by_status(cases, CaseFilter(tags=("vip", "shipping"))).values()) == 1
    for bad in ("", " ", "x" * 51, "a\x00b"):
        with pytest.raises(InvalidInput, match="a tag is 1 to 50 characters"):
            list_cases(cases, CaseFilter(tags=(bad,)))


@pytest.mark.parametrize("sort", ["created_at", "updated_at", "id", "status", "name"])
@pytest.mark.parametrize("descending", [True, False])
def test_cursor_paging_walks_the_same_rows_as_page_numbers(cases, sort, descending):
    expected = ids(cases, CaseFilter(), sort=sort, descending=descending, page_size=50)
    walked, cursor, pages = [], None, 0
    while True:
        page = list_cases_after(cases, CaseFilter(), sort=sort, descending=descending,
                                cursor=cursor, page_size=2)
        assert page.total == 5
        walked += [r.id for r in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    assert walked == expected and pages == 3


def test_a_cursor_survives_new_cases_without_repeating_a_row(cases):
    first = list_cases_after(cases, CaseFilter(), cursor=None, page_size=2)
    make_case(cases, "K-9", name="Newcomer Holdings")  # newest: before the cursor
    rest = list_cases_after(cases, CaseFilter(), cursor=first.next_cursor, page_size=50)
    assert [r.id for r in first.rows] + [r.id for r in rest.rows] == ["K-5", "K-4", "K-3", "K-2",
                                                                      "K-1"]
    assert rest.total == 6 and rest.next_cursor is None


def test_a_foreign_or_mismatched_cursor_is_refused(cases):
    cursor = list_cases_after(cases, CaseFilter(), page_size=1).next_cursor
    with pytest.raises(InvalidInput, match="another sort or order"):
        list_cases_after(cases, CaseFilter(), sort="name", cursor=cursor)
    with pytest.raises(InvalidInput, match="another sort or order"):
        list_cases_after(cases, CaseFilter(), descending=False, cursor=cursor)
    for bad in ("nonsense", "e30", cursor[:-3], "eyJzIjoiaWQiLCJkIjp0cnVlLCJ2IjoxLCJpIjoiSyJ9"):
        with pytest.raises(InvalidInput, match="the cursor is not valid"):
            list_cases_after(cases, CaseFilter(), cursor=bad)


@pytest.mark.parametrize("workflows,predicates,message", [
    (["nope"], [], "workflows must be among"),
    ([], [{"field": "password_hash", "op": "equals", "value": "x"}], "unknown field"),
    ([], [{"field": "country", "op": "like", "value": "H%"}], "unknown operator"),
    ([], [{"field": "country", "op": "equals", "value": "Hong Kong"}], "2 capital letters"),
    ([], [{"field": "risk_score", "op": "range", "value": [90, 10]}], "above maximum"),
    ([], [{"field": "risk_score", "op": "equals", "value": "high"}], "numbers"),
    ([], [{"field": "name", "op": "range", "value": [1, 2]}], "range works on"),
    ([], [{"field": "user_data.a.b", "op": "equals", "value": "x"}], "unknown field"),
    ([], "country=HK", "must be a list"),
])
def test_malformed_views_are_refused(cases, workflows, predicates, message):
    before = len(list_views(cases))
    with pytest.raises(InvalidInput, match=message):
        save_view(cases, "Broken", workflows, predicates)
    assert len(list_views(cases)) == before


def test_view_names_are_unique(cases):
    with pytest.raises(InvalidInput, match="already exists"):
        save_view(cases, "Onboarding", ["onboarding"], [])


def test_unsaved_view_info_can_be_previewed(cases):
    """The views builder previews a count before saving (no row written)."""
    draft = ViewInfo(id=0, name="draft", position=0, workflows=("onboarding",),
                     predicates=({"field": "country", "op": "equals", "value": "HK"},))
    assert count_cases(cases, CaseFilter(view=draft)) == 1


def test_the_light_list_of_sort_keys_names_every_sort_column():
    from core.worklist.query import SORT_COLUMNS
    from core.worklist.sort_keys import SORT_KEYS
    assert SORT_KEYS == tuple(SORT_COLUMNS)
