"""A tag within a view, read from `case_tags` alone: the list's page and total for a filter
with a tag, at 1M cases.

The tag rows carry the case's workflow, entity country and kind, status, assignee and created
time (migration 0027, kept by triggers), so a filter made of tags, the default views'
conditions (workflows, statuses, `equals`/`in` on country and entity type), statuses,
workflows, the assignee modes and a created range is a condition on the first tag's rows:
"tag X in the Hong Kong companies view, newest first" is one index range of
`ix_case_tags_entity_view` (tag, country, kind, created_at, case_id), its total capped at
10,001 another, instead of probing each of the tag's cases against `cases` (69-344 ms at 1M
on SQLite; docs/PERFORMANCE.md, "Third round"). Any other part of a filter (search, open hits,
risk levels, overdue, a view's other predicates) returns None here and the list takes its
general path (`core.worklist.query`), which finds the same rows through `cases`.

Restricted cases (a pending erasure request) stay out as everywhere: their ids, a few, come
from the erasure index of `cases` (`core.cases.retention_state.hide_restricted`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased

from core.cases.retention_state import restricted_clause
from core.store.counter_models import CaseTag
from core.store.models import Case

# `flt` below is a `core.worklist.query.CaseFilter` (which imports this module: not named here)
# a view's predicate fields that are columns of the tag rows
VIEW_COLUMNS = {"country": CaseTag.entity_country, "entity_type": CaseTag.entity_kind}


def filter_tags(flt: Any) -> list[str]:
    """Every tag the filter asks for: its own and its view's `tags contains` predicates."""
    tags = list(flt.tags)
    if flt.view is not None:
        tags.extend(str(p["value"]) for p in flt.view.predicates
                    if p["field"] == "tags" and p["op"] == "contains")
    return tags


def _view_conditions(flt: Any) -> list[ColumnElement[bool]] | None:
    view = flt.view
    if view is None:
        return []
    found: list[ColumnElement[bool]] = []
    if view.workflows:
        found.append(CaseTag.workflow.in_(view.workflows))
    if view.statuses:
        found.append(CaseTag.case_status.in_(view.statuses))
    for p in view.predicates:
        if p["field"] == "tags" and p["op"] == "contains":
            continue  # a tag: `filter_tags`
        column = VIEW_COLUMNS.get(p["field"])
        if column is None or p["op"] not in ("equals", "in"):
            return None
        values = p["value"] if p["op"] == "in" else [p["value"]]
        found.append(column.in_([str(v) for v in values]))
    return found


def tag_row_conditions(flt: Any) -> list[ColumnElement[bool]] | None:
    """The filter as conditions on `case_tags` (its first tag's rows), or None when it has no
    tag or asks for anything the tag rows do not carry. Validate the filter first
    (`core.worklist.query.filter_clauses`): this trusts its values."""
    tags = filter_tags(flt)
    if (not tags or flt.search.strip() or flt.overdue or flt.open_hits is not None
            or flt.risk_levels):
        return None
    in_view = _view_conditions(flt)
    if in_view is None:
        return None
    found = [CaseTag.tag == tags[0], *in_view]
    for other in tags[1:]:  # a case with every one of the tags
        also = aliased(CaseTag)
        found.append(CaseTag.case_id.in_(select(also.case_id).where(also.tag == other)))
    if flt.statuses:
        found.append(CaseTag.case_status.in_(flt.statuses))
    if flt.workflows:
        found.append(CaseTag.workflow.in_(flt.workflows))
    if flt.assignee == "me":
        found.append(CaseTag.assignee == flt.me)
    elif flt.assignee == "unassigned":
        found.append(CaseTag.assignee.is_(None))
    elif flt.assignee == "someone":
        found.append(CaseTag.assignee.is_not(None))
    if flt.created_from:
        found.append(CaseTag.created_at >= datetime.combine(flt.created_from,
                                                            datetime.min.time()))
    if flt.created_to:
        found.append(CaseTag.created_at < datetime.combine(flt.created_to + timedelta(days=1),
                                                           datetime.min.time()))
    if not flt.show_restricted:
        restricted = Case.__table__.alias("restricted_case")
        # the erasure index, seekable (`hide_restricted` says why `> datetime.min`)
        found.append(CaseTag.case_id.not_in(select(restricted.c.id).where(
            restricted_clause(restricted.c), restricted.c.erasure_requested_at > datetime.min)))
    return found


def tag_count_query(conditions: list[ColumnElement[bool]], cap: int | None) -> Select:
    """COUNT(*) of the tag rows matching, up to `cap` + 1 of them when capped."""
    if cap is None:
        return select(func.count()).select_from(CaseTag).where(*conditions)
    found = select(CaseTag.case_id).where(*conditions).limit(cap + 1).subquery()
    return select(func.count()).select_from(found)


def tag_page_ids(conditions: list[ColumnElement[bool]], descending: bool, limit: int,
                 offset: int) -> Select:
    """The ids of one page by created time (the list's default sort), tie broken by case id
    as `core.worklist.query.sort_columns` orders: read in the order of the tag's index."""
    if descending:
        order = (CaseTag.created_at.desc(), CaseTag.case_id.desc())
    else:
        order = (CaseTag.created_at.asc(), CaseTag.case_id.asc())
    return (select(CaseTag.case_id.label("page_id")).where(*conditions).order_by(*order)
            .limit(limit).offset(offset))
