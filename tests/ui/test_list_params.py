"""The case list's URL scheme (ui/list_params.py): what a link asks for, what is written back,
and bad values left out with a note, never an exception."""
from __future__ import annotations

from datetime import date

import pytest

from core.worklist.query import MAX_SEARCH, SORT_COLUMNS
from ui.list_params import (
    LIST_KEYS,
    ListParams,
    cases_count,
    cut_search,
    parse_query,
    sort_label,
    sort_options,
    to_query,
)

VIEWS = {1: "All cases", 2: "Onboarding", 7: "German fintechs"}
WORKFLOWS = ("onboarding", "ongoing_monitoring")
TODAY = date(2025, 6, 30)


def parse(query: dict[str, list[str]]):
    return parse_query(query, views=VIEWS, workflows=WORKFLOWS, today=TODAY)


def test_a_full_link_round_trips():
    query = {"view": ["7"], "status": ["manual_review", "rejected"], "assignee": ["me"],
             "workflow": ["onboarding"], "tag": ["vip", "sar filed"], "q": ["GmbH"], "from": ["2025-01-01"],
             "to": ["2025-02-01"], "overdue": ["1"], "sort": ["name"], "order": ["asc"],
             "page": ["3"]}
    params, notes = parse(query)
    assert notes == []
    assert params == ListParams(view=7, statuses=("manual_review", "rejected"), assignee="me",
                                workflows=("onboarding",), tags=("vip", "sar filed"),
                                search="GmbH",
                                created_from=date(2025, 1, 1), created_to=date(2025, 2, 1),
                                overdue=True, sort="name", order="asc", page=3)
    assert to_query(params, default_view=1) == query


def test_defaults_are_left_out_of_the_url():
    assert parse({}) == (ListParams(), [])
    assert to_query(ListParams(), default_view=1) == {}
    assert to_query(ListParams(view=1), default_view=1) == {}  # the first view is the default
    assert to_query(ListParams(sort="created_at", order="asc"), default_view=1) == {
        "sort": ["created_at"], "order": ["asc"]}


@pytest.mark.parametrize(("query", "note"), [
    ({"view": ["99"]}, "view 99 does not exist; showing All cases"),
    ({"view": ["x"]}, "view x does not exist"),
    ({"status": ["bogus"]}, "status bogus is not a case status"),
    ({"assignee": ["boss"]}, "assignee boss is not one of"),
    ({"workflow": ["payroll"]}, "workflow payroll does not exist"),
    ({"from": ["2025-13-01"]}, "from date is not a date"),
    ({"to": ["1999-12-31"]}, "to date must be between"),
    ({"from": ["2030-01-01"]}, "from date must be between"),
    ({"from": ["2025-03-01"], "to": ["2025-02-01"]}, "ends before it starts"),
    ({"sort": ["password_hash"]}, "cannot be sorted by password\\_hash"),
    ({"order": ["up"]}, "order up is not asc or desc"),
    ({"page": ["0"]}, "page 0 is not a page number"),
    ({"overdue": ["yes"]}, "overdue yes is not 1 or 0"),
    ({"tag": ["   "]}, "is not a tag"),
    ({"tag": ["x" * 51]}, "is not a tag (1 to 50 characters"),
    ({"tag": ["a\nb"]}, "is not a tag"),
    ({"page": ["-2"]}, "page \\-2 is not a page number"),
    ({"q": ["x" * (MAX_SEARCH + 1)]}, f"Search is limited to {MAX_SEARCH} characters"),
])
def test_a_bad_value_is_left_out_with_a_note(query, note):
    params, notes = parse(query)
    assert len(notes) == 1 and note in notes[0], notes
    assert params.search == ("x" * MAX_SEARCH if "q" in query else "")
    if "from" in query and "to" in query:
        assert params.created_from == date(2025, 3, 1) and params.created_to is None


def test_overdue_is_one_or_left_out():
    assert parse({"overdue": ["1"]}) == (ListParams(overdue=True), [])
    assert parse({"overdue": ["0"]}) == (ListParams(), [])
    assert to_query(ListParams(overdue=True), default_view=1) == {"overdue": ["1"]}
    assert "overdue" not in to_query(ListParams(overdue=False), default_view=1)


def test_tags_repeat_and_are_kept_trimmed_once_each():
    params, notes = parse({"tag": [" vip ", "vip", "Batch 7", "x" * 51]})
    assert params.tags == ("vip", "Batch 7") and len(notes) == 1
    assert to_query(params, default_view=1) == {"tag": ["vip", "Batch 7"]}
    params, notes = parse({"tag": [f"t{i}" for i in range(25)]})
    assert len(params.tags) == 20 and "At most 20 tags" in notes[0]


def test_good_values_beside_bad_ones_are_kept():
    params, notes = parse({"status": ["bogus", "rejected", "rejected"], "sort": ["name"]})
    assert params.statuses == ("rejected",) and params.sort == "name" and params.order == "desc"
    assert len(notes) == 1


def test_a_hostile_value_is_shown_escaped_and_short():
    _, notes = parse({"status": ["![x](https://evil.example/" + "a" * 100 + ")"]})
    assert "https" in notes[0] and "![x]" not in notes[0]
    assert "\\!\\[x\\]" in notes[0] and "…" in notes[0] and len(notes[0]) < 200


def test_search_is_cut_to_the_core_limit():
    assert cut_search("abc") == ("abc", None)
    text, note = cut_search("y" * 250)
    assert text == "y" * MAX_SEARCH and "limited to" in note


def test_the_sort_box_offers_every_core_sort_both_ways():
    options = sort_options()
    assert {c for c, _ in options} == set(SORT_COLUMNS)
    assert len(options) == 2 * len(SORT_COLUMNS) == len(set(options))
    assert sort_label(("created_at", "desc")) == "Newest first"
    assert sort_label(("due_at", "asc")) == "Due soonest first"


def test_count_wording():
    assert [cases_count(n) for n in (0, 1, 2, 1234)] == ["0 cases", "1 case", "2 cases",
                                                         "1,234 cases"]


def test_the_open_hits_filter_is_in_the_link_named_as_in_the_api():
    params, notes = parse_query({"open_hits": ["open"]}, views={1: "All cases"}, workflows=[],
                                today=date(2026, 1, 1))
    assert (params.open_hits, notes) == ("open", [])
    assert to_query(ListParams(open_hits="none"), default_view=1) == {"open_hits": ["none"]}
    params, notes = parse_query({"open_hits": ["maybe"]}, views={1: "All cases"},
                                workflows=[], today=date(2026, 1, 1))
    assert params.open_hits is None and "link's open_hits maybe is not open or none" in notes[0]


def test_an_older_link_with_hits_still_filters_by_open_hits():
    params, notes = parse_query({"hits": ["none"]}, views={1: "All cases"}, workflows=[],
                                today=date(2026, 1, 1))
    assert (params.open_hits, notes) == ("none", [])
    # both given: the name wins over the alias
    params, _ = parse_query({"hits": ["none"], "open_hits": ["open"]}, views={1: "All cases"},
                            workflows=[], today=date(2026, 1, 1))
    assert params.open_hits == "open"
    params, notes = parse_query({"hits": ["maybe"]}, views={1: "All cases"}, workflows=[],
                                today=date(2026, 1, 1))
    assert params.open_hits is None and "link's hits maybe is not open or none" in notes[0]
    assert "hits" in LIST_KEYS   # an old link's parameter is replaced when the URL is written
