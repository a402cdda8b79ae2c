"""The list's search as one SQL condition on `cases`, and on PostgreSQL the view's own terms
in the same full-text index, so "a common word within a view" is one index intersection.

A search is a case id, or words of the entity's name, email or registration number found
through the per-case full-text index (migration 0023; the words' query:
`core.worklist.search.fts_query`): one OR of two indexes of `cases`.

"golden" (9,824 of 1M cases) within "Hong Kong companies" (112,000) visited every one of the
9,824 matches to keep the view's ~1,100 (119-127 ms at 1M on PostgreSQL). Migration 0029
indexes, on PostgreSQL, each case's search terms *with* its view dimensions (`CASE_TERMS`: an
expression GIN index over the case's own columns, nothing stored, nothing for a trigger to
keep): `=wf=<workflow>`, `=country=<entity country>`, `=kind=<entity kind>` and
`=entity=<country>=<kind>`. The search then asks for "golden:* & '=entity=HK=business'",
and the index hands back only the view's matches. Those terms start with "=", which
`fts_query` never produces (it keeps `\\w` words only, and PostgreSQL's parser makes no token
with "=" of them), so a user's word can never match a case through them; the view's
conditions stay on the row too, so the rows are exactly those of the view and the search.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, func, literal_column, or_, select, text
from sqlalchemy.dialects.postgresql import TSQUERY

from core.errors import InvalidInput
from core.store.models import Case
from core.worklist.search import fts_query

MAX_SEARCH = 200

# PostgreSQL: each case's search terms and its view dimensions, as migration 0029 indexes them
# (`ix_cases_search_terms`; a test compares the two). NULL columns give no term.
CASE_TERMS = ("({t}search_vector || array_to_tsvector(array_remove(ARRAY["
              "'=wf=' || {t}workflow, '=country=' || {t}entity_country, "
              "'=kind=' || {t}entity_kind, "
              "'=entity=' || {t}entity_country || '=' || {t}entity_kind], NULL)))")
# a view's value becomes a term only when it is plain (letters, digits, _ and -): anything
# else is left to the row's own condition, which every search keeps anyway
_PLAIN = re.compile(r"^[\w-]{1,64}$")
_VIEW_FIELDS = {"country": "country", "entity_type": "kind"}
MAX_ENTITY_PAIRS = 16


def _any_of(terms: list[str]) -> str:
    return "(" + " | ".join(f"'{t}'" for t in terms) + ")"


def _values(p: dict[str, Any]) -> list[str] | None:
    values = p["value"] if p["op"] == "in" else [p["value"]]
    if p["op"] not in ("equals", "in") or not all(_PLAIN.match(str(v)) for v in values):
        return None
    return [str(v) for v in values]


def view_terms(flt: Any) -> str | None:
    """The filter's workflows, entity countries and kinds as a tsquery of the terms migration
    0029 indexes (every part required), or None when it names none of them plainly. `flt` is
    a `core.worklist.query.CaseFilter`."""
    parts: list[str] = []
    for workflows in (flt.view.workflows if flt.view is not None else (), flt.workflows):
        if workflows and all(_PLAIN.match(w) for w in workflows):
            parts.append(_any_of([f"=wf={w}" for w in workflows]))
    found: dict[str, list[list[str]]] = {"country": [], "kind": []}
    for p in (flt.view.predicates if flt.view is not None else ()):
        field = _VIEW_FIELDS.get(p["field"])
        values = _values(p) if field else None
        if values is not None:
            found[field].append(values)
    countries, kinds = found["country"], found["kind"]
    if (len(countries) == 1 and len(kinds) == 1
            and len(countries[0]) * len(kinds[0]) <= MAX_ENTITY_PAIRS):
        parts.append(_any_of([f"=entity={c}={k}" for c in countries[0] for k in kinds[0]]))
    else:
        parts.extend(_any_of([f"=country={c}" for c in v]) for v in countries)
        parts.extend(_any_of([f"=kind={k}" for k in v]) for v in kinds)
    return " & ".join(parts) or None


def fts_matches(query: str) -> Select:
    """SQLite: the rowids of the cases the per-case full-text index (`case_entity_search`,
    migration 0023: its rowid is the case's) finds for `query`."""
    return select(literal_column("rowid")).select_from(text("case_entity_search")).where(
        text("case_entity_search MATCH :fts").bindparams(fts=query))


def search_clause(flt: Any, dialect: str) -> ColumnElement[bool] | None:
    """The filter's search as a condition on `cases` (None: no search). A case id, or words
    found through the per-case full-text index: one OR of two indexes of `cases`; on
    PostgreSQL the index's arm also asks for the view's terms (`view_terms`)."""
    search = flt.search.strip()
    if not search:
        return None
    if len(search) > MAX_SEARCH:
        raise InvalidInput(f"search is at most {MAX_SEARCH} characters")
    ids = {search, search.upper()}
    query = fts_query(search, dialect)
    if query is None:
        return Case.id.in_(ids)
    if dialect == "postgresql":
        words = func.to_tsquery("simple", query)
        in_view = view_terms(flt)
        if in_view is not None:
            words = words.op("&&")(cast(cast(in_view, String), TSQUERY))
        # a BitmapOr of the primary key and the GIN index of the case's terms (0029)
        return or_(Case.id.in_(ids), literal_column(CASE_TERMS.format(t="cases.")).op("@@")(words))
    # SQLite reads this OR as two lookups (MULTI-INDEX OR: the case ids and the rowids the
    # full-text index found) or tests it on each case of a walk
    return or_(Case.id.in_(ids), literal_column("cases.rowid").in_(
        fts_matches(query).scalar_subquery()))
