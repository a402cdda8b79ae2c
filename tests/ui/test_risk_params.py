"""The risk level in the case list's URL (ui/list_params.py): read, written back, a bad value
left out with a note; the Risk sorts offered with their labels."""
from __future__ import annotations

from datetime import date

from ui.list_params import ListParams, parse_query, sort_label, sort_options, to_query


def _parse(query):
    return parse_query(query, views={1: "All cases"}, workflows=["onboarding"],
                       today=date(2026, 1, 1))


def test_risk_levels_are_read_in_their_order_and_written_back():
    params, notes = _parse({"risk": ["high", "low", "high"]})
    assert params.risk_levels == ("low", "high") and notes == []
    assert to_query(params, default_view=1) == {"risk": ["low", "high"]}
    assert to_query(ListParams(), default_view=1) == {}


def test_a_bad_level_is_left_out_with_a_note():
    params, notes = _parse({"risk": ["severe", "medium"]})
    assert params.risk_levels == ("medium",)
    assert notes == ["The link's risk severe is not low, medium or high; it was ignored."]


def test_the_risk_sorts_are_offered():
    assert ("risk", "desc") in sort_options() and ("risk", "asc") in sort_options()
    assert sort_label(("risk", "desc")) == "Highest risk first"
    params, _ = _parse({"sort": ["risk"], "order": ["asc"]})
    assert (params.sort, params.order) == ("risk", "asc")
