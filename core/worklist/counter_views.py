"""A sidebar view as conditions on the counters' key, for `core.worklist.query.counter_clauses`.

Why a module of its own: which view predicates the counters can answer (country and entity
type by value, open hits as yes/no since migration 0022) is a question about the counters'
key, not about the list's SQL, and the list's module stays under the size the layout allows.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement

from core.worklist.views import ViewInfo

# view fields held in the key by value, as the name of the key's column
VALUE_FIELDS = {"country": "country", "entity_type": "kind"}


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def open_hits_key(op: Any, value: Any, counts) -> list[ColumnElement[bool]] | None:
    """A view's `open_hits` predicate as `has_open_hits` (yes, no, or either: no condition),
    or None when it tells cases with open hits apart by how many (`range [2, 5]`, `equals
    1`) or matches none. Bounds are inclusive, as the view's SQL has them."""
    if op == "equals" and _number(value) and value == 0:
        return [counts.has_open_hits.is_(False)]
    if op != "range" or not (isinstance(value, list) and len(value) == 2
                             and all(v is None or _number(v) for v in value)):
        return None
    low, high = value
    with_none = (low is None or low <= 0) and (high is None or high >= 0)
    if high is None and (low is None or low <= 1):  # every case with open hits
        return [] if with_none else [counts.has_open_hits.is_(True)]
    if high is not None and high < 1 and with_none:  # none of them
        return [counts.has_open_hits.is_(False)]
    return None


def view_key_clauses(view: ViewInfo, counts) -> list[ColumnElement[bool]] | None:
    """The view (workflows, statuses, predicates) as conditions on `counts` (`case_counts` or
    `case_due_counts`: the same key), or None when a predicate is outside the key."""
    clauses: list[ColumnElement[bool]] = []
    if view.workflows:
        clauses.append(counts.workflow.in_(view.workflows))
    if view.statuses:
        clauses.append(counts.case_status.in_(view.statuses))
    for p in view.predicates:
        op, value = p.get("op"), p.get("value")
        if p.get("field") == "open_hits":
            found = open_hits_key(op, value, counts)
            if found is None:
                return None
            clauses.extend(found)
            continue
        column = VALUE_FIELDS.get(p.get("field"))
        values = [value] if op == "equals" else value if op == "in" else None
        if (column is None or not isinstance(values, list) or not values
                or not all(isinstance(v, str) and v for v in values)):
            return None
        clauses.append(getattr(counts, column).in_(values))
    return clauses
