"""The case list: filters, sorting, paging and counts, as SQL built by SQLAlchemy.

One `CaseFilter` describes what the reviewer asked for (view, statuses, assignee, search,
created date range, workflows, tags, open screening hits, risk levels); `list_cases` returns one page and the total (the API's
cursors, keyset paging: `core.worklist.cursors`), `count_cases`
and `counts_by_status` / `counts_by_view` feed the sidebar, `iter_cases` streams every
matching row for CSV export in keyset-paged batches. Search goes through the full-text index
(SQLite FTS5, PostgreSQL tsvector), never a scan. The list reads `cases` alone: the entity's
name, country and kind and the tags (`case_tags`) are kept beside each case by triggers
(migration 0011).

Counts come from `case_counts` (kept exact by database triggers, migration 0003) whenever
the filter can be answered at its grain — workflow, status, entity country, entity kind,
assigned or not: views made of workflows, statuses and `equals`/`in` predicates on country
and entity_type, the status and workflow filters, assignee anyone/unassigned/someone, no
search, no date range. A filter with a tag is counted and, newest first, paged from the tag's
rows, which carry the view's columns (`core.worklist.tag_query`, migration 0027). A search,
newest first, is counted and paged in one pass (`core.worklist.search_page`). Anything
else is counted with COUNT(*) over the cases — by the Cases
page only up to COUNT_CAP (`count_upto`, "10,000+ cases"). "Open hits" is such a filter: it
reads the per-case counter `cases.open_hits` (kept by core/screening/), which the
`case_counts` grain does not hold; so is the risk level (`cases.risk_level`, indexed with
created_at: core/cases/risk.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Iterator, Literal

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Select,
    String,
    and_,
    func,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from core.cases.retention_state import hide_restricted, restricted_clause
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.errors import InvalidInput
from core.store.case_counts import maybe_compact_case_counts
from core.store.counter_models import CaseCount
from core.store.db import Database
from core.store.models import Case, Entity, utcnow
from core.workflows.risk_model import LEVELS as RISK_LEVELS
from core.worklist.counter_views import view_key_clauses
from core.worklist.search_clause import MAX_SEARCH, search_clause  # noqa: F401 (MAX_SEARCH: ui)
from core.worklist.search_page import search_first_pass
from core.worklist.tag_query import tag_count_query, tag_page_ids, tag_row_conditions
from core.worklist.views import ViewInfo, has_tag, list_views, view_clauses

AssigneeMode = Literal["anyone", "me", "unassigned", "someone"]
ASSIGNEE_MODES = ("anyone", "me", "unassigned", "someone")
OPEN_HITS_MODES = ("open", "none")  # cases with open screening hits / without
PAGE_SIZES = (25, 50, 100, 200)
MAX_TAG = 50  # as long as a stored tag may be (docs/INTAKE.md)
COUNT_CAP = 10_000  # the case list counts up to this many when the counters cannot answer

SORT_COLUMNS = {
    "created_at": Case.created_at,
    "updated_at": Case.updated_at,
    "id": Case.id,
    "status": Case.case_status,
    "name": Case.entity_name,  # the entity's, copied onto the case (migration 0011)
    "due_at": Case.due_at,  # cases without a due time after every due one (NULLS LAST)
    "risk": Case.risk_points,  # the explained risk score's points (core/cases/risk.py)
}


@dataclass(frozen=True)
class CaseFilter:
    view: ViewInfo | None = None
    statuses: tuple[str, ...] = ()
    assignee: AssigneeMode = "anyone"
    me: str | None = None
    search: str = ""
    created_from: date | None = None
    created_to: date | None = None
    workflows: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # the case carries every one of them
    overdue: bool = False  # only cases past their due time (core/worklist/overdue.py)
    open_hits: str | None = None  # "open": with open screening hits; "none": without
    risk_levels: tuple[str, ...] = ()  # low, medium, high: cases at any of these risk levels
    # cases restricted by a pending erasure request are left out of every list, count and
    # export (core/cases/retention_state.py); only the admins' Retention page sets this
    show_restricted: bool = False

    def without_statuses(self) -> "CaseFilter":
        return replace(self, statuses=())


@dataclass(frozen=True)
class CaseRow:
    id: str
    entity_name: str
    entity_type: str
    country: str
    workflow: str
    status: str
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime | None = None  # the SLA's due time; None: no SLA in this status
    open_hits: int = 0  # screening hits needing work (core/screening/)
    risk_level: str | None = None  # low | medium | high; None: not scored yet
    risk_points: int = 0

    @property
    def status_label(self) -> str:
        return CASE_STATUS_LABELS[CaseStatus(self.status)]

    def age_days(self, now: datetime | None = None) -> int:
        return max(0, ((now or utcnow()) - self.created_at).days)


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    total: int
    page: int
    page_size: int
    total_capped: bool = False  # True: at least `total` cases match (`count_upto`'s cap)

    @property
    def pages(self) -> int:
        """The pages of `total` (with a capped total: the pages known to hold rows)."""
        return max(1, -(-self.total // self.page_size))


# A row of the list, from `cases` alone: the entity's name, kind and country are copied onto
# the case by triggers (migration 0011)
ROW_COLUMNS = (Case.id, Case.entity_name, Case.entity_kind, Case.entity_country, Case.workflow,
               Case.case_status, Case.assignee, Case.created_at, Case.updated_at, Case.due_at,
               Case.open_hits, Case.risk_level, Case.risk_points)


# SQLite: the index each sort reads in order, for a walk (`walk_is_cheaper`; the primary key's index
# is named by SQLite itself)
SORT_INDEXES = {"created_at": "ix_cases_created", "updated_at": "ix_cases_updated",
                "name": "ix_cases_entity_name", "status": "ix_cases_status_id",
                "due_at": "ix_cases_due", "id": "sqlite_autoindex_cases_1",
                "risk": "ix_cases_risk_points"}


def _walk_index(flt: CaseFilter, sort: str) -> str | None:
    """The index a walk reads for this sort, or None to leave it to SQLite: entity names
    follow the country (each country's own names), so "by name" walked in name order for a
    country's view could read most cases before the country's first one; its own index
    (ix_cases_entity_view_name: country, kind, name) serves the default views instead."""
    if sort == "name" and flt.view is not None and any(
            p.get("field") == "country" for p in flt.view.predicates):
        return None
    return SORT_INDEXES.get(sort)


def filter_clauses(flt: CaseFilter, dialect: str, walk: bool = False
                   ) -> tuple[list[ColumnElement[bool]], bool]:
    """SQL conditions for a filter, and whether they need the entities table joined.
    `walk`: the cases are read in the sort's order and each tested (`walk_is_cheaper`)."""
    clauses: list[ColumnElement[bool]] = []
    needs_entity = False
    if flt.view is not None:
        clauses.extend(view_clauses(flt.view, dialect))
        needs_entity = flt.view.needs_entity_join
    if flt.statuses:
        unknown = set(flt.statuses) - {s.value for s in CaseStatus}
        if unknown:
            raise InvalidInput(f"unknown status {sorted(unknown)[0]!r}; statuses: "
                               + ", ".join(s.value for s in CaseStatus))
        clauses.append(Case.case_status.in_(flt.statuses))
    if flt.workflows:
        clauses.append(Case.workflow.in_(flt.workflows))
    for tag in flt.tags:
        if not isinstance(tag, str) or not tag.strip() or len(tag) > MAX_TAG or "\x00" in tag:
            raise InvalidInput(f"a tag is 1 to {MAX_TAG} characters, without NUL")
        clauses.append(has_tag(tag, per_case=walk))
    if flt.assignee not in ASSIGNEE_MODES:
        raise InvalidInput(f"assignee must be one of {', '.join(ASSIGNEE_MODES)}")
    if flt.assignee == "me":
        if not flt.me:
            raise InvalidInput("assignee 'me' needs to know who you are")
        clauses.append(Case.assignee == flt.me)
    elif flt.assignee == "unassigned":
        clauses.append(Case.assignee.is_(None))
    elif flt.assignee == "someone":
        clauses.append(Case.assignee.is_not(None))
    if flt.created_from and flt.created_to and flt.created_from > flt.created_to:
        raise InvalidInput("the created date range ends before it starts")
    if flt.created_from:
        clauses.append(Case.created_at >= datetime.combine(flt.created_from, datetime.min.time()))
    if flt.created_to:
        clauses.append(Case.created_at < datetime.combine(flt.created_to + timedelta(days=1),
                                                          datetime.min.time()))
    if flt.overdue:
        clauses.append(Case.due_at < utcnow())
    if flt.open_hits is not None:
        if flt.open_hits not in OPEN_HITS_MODES:
            raise InvalidInput(f"open hits must be one of {', '.join(OPEN_HITS_MODES)}")
        clauses.append(Case.open_hits > 0 if flt.open_hits == "open" else Case.open_hits == 0)
    if flt.risk_levels:
        if set(flt.risk_levels) - set(RISK_LEVELS):
            raise InvalidInput(f"risk level must be among {', '.join(RISK_LEVELS)}")
        clauses.append(Case.risk_level.in_(flt.risk_levels))  # ix_cases_risk_level
    search = search_clause(flt, dialect)  # core.worklist.search_clause
    if search is not None:
        clauses.append(search)  # a subquery of its own: no join of the outer query
    if not flt.show_restricted:
        clauses.append(hide_restricted())
    return clauses, needs_entity


def _restricted_matching(flt: CaseFilter, dialect: str, *columns) -> Select:
    """The restricted cases (a few) the filter would match: the counters hold them, so a
    count from the counters takes them off again."""
    # SQLite: through the erasure index, named: its statistics count no NULLs, so with no
    # erasure pending it takes `IS NOT NULL` for every case and read every case, or every
    # case of the status filter's index (1.5-2.7 s per count from the counters at 1M)
    return _matching(replace(flt, show_restricted=True), dialect, *columns).where(
        restricted_clause()).with_hint(Case, "INDEXED BY ix_cases_erasure_requested", "sqlite")


def _matching(flt: CaseFilter, dialect: str, *columns, walk: bool = False) -> Select:
    """SELECT `columns` of the cases matching `flt`, joined to `entities` only when a filter
    needs a column found there alone (email, registration number)."""
    clauses, needs_entity = filter_clauses(flt, dialect, walk)
    stmt = select(*columns).select_from(Case)
    if needs_entity:
        stmt = stmt.join(Entity, Entity.id == Case.entity_id)
    return stmt.where(*clauses)


def rows_query(flt: CaseFilter, dialect: str) -> Select:
    """Every matching row, unordered and unpaged: the plain reference the paged query
    (`page_query`) must agree with."""
    return _matching(flt, dialect, *ROW_COLUMNS)


def walk_is_cheaper(s: Session, dialect: str, matching: int, rows: int) -> bool:
    """SQLite: whether `rows` rows of a list that `matching` of the cases match (its count,
    maybe capped) are found sooner by reading the cases in the sort's index order and
    testing each — about rows * n / matching cases read, for n cases — than by finding all
    the matching cases through the filter's indexes and sorting them: walk when matching² >=
    rows * n. SQLite's planner cannot tell a large country or a common tag from a rare one
    (it keeps no per-value statistics), and picked the wrong way round: 1.1 s for "Hong Kong
    companies by last update" (112,000 cases sorted), 1.3 s for a tag on 13% of 1M cases;
    walking, both take a few ms. PostgreSQL's planner has the statistics and chooses."""
    if dialect != "sqlite" or matching <= 0:
        return False
    cases = int(s.scalar(select(func.coalesce(func.sum(CaseCount.n), 0))) or 0)
    return matching * matching >= rows * cases


def page_query(flt: CaseFilter, dialect: str, sort: str, descending: bool, limit: int,
                offset: int, walk: bool = False) -> Select:
    """One page of rows: the page's ids are found first (the filter's and sort's indexes,
    OFFSET included, without reading a row per skipped case), then only those rows are
    read. `walk` (SQLite, `walk_is_cheaper`): the ids are read in the sort's index order."""
    order = sort_columns(sort, descending)
    found = _matching(flt, dialect, Case.id.label("page_id"), walk=walk)  # validates
    on_tags = tag_row_conditions(flt) if sort == "created_at" else None
    if on_tags is not None:  # a tag in a view, newest first: an index range of case_tags
        ids = tag_page_ids(on_tags, descending, limit, offset).subquery("page")
        return (select(*ROW_COLUMNS).select_from(ids).join(Case, Case.id == ids.c.page_id)
                .order_by(*order))
    index = _walk_index(flt, sort) if walk else None
    if index is not None:
        found = found.with_hint(Case, f"INDEXED BY {index}", "sqlite")
    ids = found.order_by(*order).limit(limit).offset(offset).subquery("page")
    return (select(*ROW_COLUMNS).select_from(ids).join(Case, Case.id == ids.c.page_id)
            .order_by(*order))


def _count_query(flt: CaseFilter, dialect: str) -> Select:
    return _matching(flt, dialect, func.count())


def sort_columns(sort: str, descending: bool):
    """ORDER BY for a list sort, with the case id as tie-breaker; a bad sort is InvalidInput."""
    if sort not in SORT_COLUMNS:
        raise InvalidInput(f"cannot sort by {sort!r}; sort by one of {', '.join(SORT_COLUMNS)}")
    column = SORT_COLUMNS[sort]
    if sort == "due_at":  # the same place for "no due time" on SQLite and PostgreSQL
        return ((column.desc().nulls_first(), Case.id.desc()) if descending
                else (column.asc().nulls_last(), Case.id.asc()))
    if descending:
        return (column.desc(), Case.id.desc())
    return (column.asc(), Case.id.asc())


def _row(r) -> CaseRow:
    return CaseRow(*r)


def list_cases(db: Database, flt: CaseFilter, *, sort: str = "created_at",
               descending: bool = True, page: int = 1, page_size: int = 50,
               count_cap: int | None = None) -> CasePage:
    """One page of the list and its total. With `count_cap`, a total the counters cannot
    give is counted only up to the cap (`count_upto`; the page says so
    (`total_capped`), unless the page asked for lies beyond it: then it is counted exactly."""
    if page_size < 1 or page_size > 500:
        raise InvalidInput("page size must be between 1 and 500")
    sort_columns(sort, descending)  # a bad sort is refused before anything is counted
    if count_cap is not None and count_cap < 1:
        raise InvalidInput("a count cap is at least 1")
    page = max(1, int(page))
    maybe_compact_case_counts(db)
    with db.read() as s:  # the count and the page in one read transaction
        first = None
        if count_cap is not None and flt.search.strip() and sort == "created_at":
            first = search_first_pass(s, _matching(flt, db.dialect, Case.id.label("page_id"),
                                                   Case.created_at), count_cap, descending,
                                      page, page_size)  # core.worklist.search_page
            if first.complete:
                stmt = (select(*ROW_COLUMNS).where(Case.id.in_(first.page_ids))
                        .order_by(*sort_columns(sort, descending)))
                return CasePage([_row(r) for r in s.execute(stmt)], first.total, first.page,
                                page_size)
        total, exact = ((count_cap, False) if first is not None
                        else _count_in(s, flt, db.dialect, count_cap))
        if not exact and (page - 1) * page_size >= total:
            total, exact = _count_in(s, flt, db.dialect)
        page = min(page, max(1, -(-total // page_size)))
        offset = (page - 1) * page_size
        stmt = page_query(flt, db.dialect, sort, descending, page_size, offset,
                           walk_is_cheaper(s, db.dialect, total, offset + page_size))
        rows = [_row(r) for r in s.execute(stmt)]
    return CasePage(rows, total, page, page_size, not exact)


def keyset_after(column, value, case_id: str, descending: bool) -> ColumnElement[bool]:
    """The rows after (value, case_id) in the sort (NULL due times as `sort_columns` orders
    them); the bound on the sort column first, for an index to seek to (docs/PERFORMANCE.md,
    "Export streamed"). A date given as text (SQLite's stored text) compares as stored."""
    nullable = column is Case.due_at  # the only nullable sort column
    if isinstance(value, str) and isinstance(column.type, DateTime):
        column = type_coerce(column, String)
    if value is None:
        nulls = and_(column.is_(None), Case.id < case_id if descending else Case.id > case_id)
        return or_(nulls, column.is_not(None)) if descending else nulls
    if descending:
        return and_(column <= value,
                    or_(column < value, and_(column == value, Case.id < case_id)))
    if nullable:
        return and_(or_(column >= value, column.is_(None)),
                    or_(column > value, and_(column == value, Case.id > case_id),
                        column.is_(None)))
    return and_(column >= value, or_(column > value, and_(column == value, Case.id > case_id)))


# --- counts ---------------------------------------------------------------------------------

def counter_clauses(flt: CaseFilter, counts=CaseCount) -> list[ColumnElement[bool]] | None:
    """The filter as conditions on `case_counts` (or `counts`, a table of the same key: the
    due-hour counters), or None when that grain cannot answer it (search, dates, "me",
    overdue, a view's predicate outside the key: `core.worklist.counter_views`). Open hits
    are in the key as yes/no (migration 0022): `open_hits=open|none` counts from it.
    Validate with `filter_clauses`."""
    if (flt.search.strip() or flt.created_from or flt.created_to or flt.assignee == "me"
            or flt.tags or flt.overdue or flt.risk_levels):
        return None
    clauses: list[ColumnElement[bool]] = []
    if flt.view is not None:
        in_view = view_key_clauses(flt.view, counts)
        if in_view is None:
            return None
        clauses.extend(in_view)
    if flt.statuses:
        clauses.append(counts.case_status.in_(flt.statuses))
    if flt.workflows:
        clauses.append(counts.workflow.in_(flt.workflows))
    if flt.assignee == "unassigned":
        clauses.append(counts.assigned.is_(False))
    elif flt.assignee == "someone":
        clauses.append(counts.assigned.is_(True))
    if flt.open_hits == "open":
        clauses.append(counts.has_open_hits.is_(True))
    elif flt.open_hits == "none":
        clauses.append(counts.has_open_hits.is_(False))
    return clauses


def _count_in(s: Session, flt: CaseFilter, dialect: str, cap: int | None = None
              ) -> tuple[int, bool]:
    count_star = _count_query(flt, dialect)  # validates the filter whichever way it counts
    counters = counter_clauses(flt)
    if counters is not None:
        hidden = 0 if flt.show_restricted else int(
            s.scalar(_restricted_matching(flt, dialect, func.count())) or 0)
        return int(s.scalar(select(func.coalesce(func.sum(CaseCount.n), 0))
                            .where(*counters)) or 0) - hidden, True
    on_tags = tag_row_conditions(flt)  # a tag's rows carry the view's columns (0027)
    if on_tags is None and cap is None:
        return int(s.scalar(count_star) or 0), True
    if on_tags is not None:
        n = int(s.scalar(tag_count_query(on_tags, cap)) or 0)
        if cap is None:
            return n, True
    else:  # COUNT(*) of at most cap + 1 matching rows: the index walk stops there
        found = count_star.with_only_columns(Case.id).limit(cap + 1).subquery()
        n = int(s.scalar(select(func.count()).select_from(found)) or 0)
    return (cap, False) if n > cap else (n, True)


def count_cases(db: Database, flt: CaseFilter) -> int:
    maybe_compact_case_counts(db)
    with db.read() as s:
        return _count_in(s, flt, db.dialect)[0]


def count_upto(db: Database, flt: CaseFilter, cap: int) -> tuple[int, bool]:
    """(the number of matching cases, whether it is exact). Exact from the counters whenever
    they can answer; otherwise COUNT(*) reads at most `cap` + 1 matching rows and answers
    (cap, False) above that ("10,000+ cases"), so a broad search or "assigned to me" at 1M
    cases costs what `cap` rows cost, not what all of them would."""
    if cap < 1:
        raise InvalidInput("a count cap is at least 1")
    maybe_compact_case_counts(db)
    with db.read() as s:
        return _count_in(s, flt, db.dialect, cap)


def counts_by_status(db: Database, flt: CaseFilter) -> dict[str, int]:
    """Cases per status for the filter, ignoring its own status choice (for the sidebar)."""
    base = flt.without_statuses()
    clauses, needs_entity = filter_clauses(base, db.dialect)
    counters = counter_clauses(base)
    if counters is not None:
        stmt = (select(CaseCount.case_status, func.sum(CaseCount.n)).where(*counters)
                .group_by(CaseCount.case_status))
        maybe_compact_case_counts(db)
    else:
        stmt = select(Case.case_status, func.count()).select_from(Case)
        if needs_entity:
            stmt = stmt.join(Entity, Entity.id == Case.entity_id)
        stmt = stmt.where(*clauses).group_by(Case.case_status)
    with db.read() as s:
        found = dict(s.execute(stmt).all())
        if counters is not None and not base.show_restricted:
            for status, n in s.execute(_restricted_matching(base, db.dialect, Case.case_status,
                                                            func.count())
                                       .group_by(Case.case_status)):
                found[status] = int(found.get(status) or 0) - int(n)
    return {status.value: int(found.get(status.value) or 0) for status in CaseStatus}


def counts_by_view(db: Database, views: list[ViewInfo] | None = None) -> dict[int, int]:
    views = list_views(db) if views is None else views
    maybe_compact_case_counts(db)
    with db.read() as s:
        return {v.id: _count_in(s, CaseFilter(view=v), db.dialect)[0] for v in views}


def real_count(db: Database, flt: CaseFilter) -> int:
    """COUNT(*) over the cases, never the counters (tests and checks compare the two)."""
    with db.read() as s:
        return int(s.scalar(_count_query(flt, db.dialect)) or 0)


def iter_cases(db: Database, flt: CaseFilter, *, batch_size: int = 2000) -> Iterator[CaseRow]:
    """Every matching case, newest first, in keyset-paged batches (constant memory)."""
    base = rows_query(flt, db.dialect).order_by(Case.created_at.desc(), Case.id.desc())
    last: tuple[datetime, str] | None = None
    while True:
        stmt = base
        if last is not None:
            created, case_id = last
            stmt = stmt.where(keyset_after(Case.created_at, created, case_id, True))
        with db.read() as s:
            rows = [_row(r) for r in s.execute(stmt.limit(batch_size))]
        yield from rows
        if len(rows) < batch_size:
            return
        last = (rows[-1].created_at, rows[-1].id)
