"""Open hits on the case list (core/worklist/): the column, the filter (and its link), views
segmenting by `open_hits`, the CSV column, and how the list counts them (from the counters:
`has_open_hits` is in their key since migration 0022)."""
from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from core.errors import InvalidInput
from core.screening.dispositions import disposition_hit
from core.worklist.export import export_cases
from core.worklist.export_links import filter_from_json, filter_to_json
from core.worklist.query import CaseFilter, count_upto, counter_clauses, list_cases, real_count
from core.worklist.views import draft_view, validate_predicates
from tests.factories import make_case, version_of
from tests.screening.helpers import ENTRY, screen, ubo_case


@pytest.fixture
def cases(db):
    """S-1 with two open hits, S-2 with one decided, C-3 never screened."""
    first, ubo = ubo_case(db, "S-1")
    screen(db, first, ubo, ENTRY, {**ENTRY, "entry_id": "UN-9"})
    second, ubo2 = ubo_case(db, "S-2")
    hit = screen(db, second, "entity", {**ENTRY, "name": "Acme Trading Ltd"}).new[0]
    disposition_hit(db, hit, "false_positive", "another company", actor="reviewer",
                    expected_version=version_of(db, second))
    make_case(db, "C-3")
    return db


def ids(db, flt: CaseFilter) -> list[str]:
    return sorted(r.id for r in list_cases(db, flt).rows)


def test_the_filter_and_the_column(cases):
    db = cases
    assert ids(db, CaseFilter(open_hits="open")) == ["S-1"]
    assert ids(db, CaseFilter(open_hits="none")) == ["C-3", "S-2"]
    assert ids(db, CaseFilter()) == ["C-3", "S-1", "S-2"]
    assert {r.id: r.open_hits for r in list_cases(db, CaseFilter()).rows} == {
        "S-1": 2, "S-2": 0, "C-3": 0}
    with pytest.raises(InvalidInput, match="open hits must be one of open, none"):
        list_cases(db, CaseFilter(open_hits="some"))


def test_it_is_counted_from_the_counters(cases):
    db = cases
    for mode, expected in (("none", 2), ("open", 1)):
        flt = CaseFilter(open_hits=mode)
        assert counter_clauses(flt) is not None  # has_open_hits is in the key (0022)
        # exact whatever the cap: the counters answer, no "1+ cases"
        assert count_upto(db, flt, 1) == (expected, True) == (real_count(db, flt), True)


def test_views_segment_by_open_hits(cases):
    db = cases
    with_hits = draft_view("Open screening hits", [], [
        {"field": "open_hits", "op": "range", "value": [1, None]}])
    assert ids(db, CaseFilter(view=with_hits)) == ["S-1"]
    exactly_two = draft_view("Two", [], [{"field": "open_hits", "op": "equals", "value": 2}])
    assert ids(db, CaseFilter(view=exactly_two)) == ["S-1"]
    assert validate_predicates([{"field": "open_hits", "op": "equals", "value": "two"}]) == [
        "predicate 1: open_hits compares with numbers"]


def test_the_csv_export_and_the_download_link_keep_it(cases):
    db = cases
    text = "".join(export_cases(db, CaseFilter(open_hits="open"), actor="analyst"))
    header, row = csv.reader(io.StringIO(text))
    assert (header[18], row[0], row[18]) == ("open_hits", "S-1", "2")
    flt = CaseFilter(open_hits="open", created_from=date(2024, 1, 1))
    assert filter_from_json(filter_to_json(flt)) == flt
