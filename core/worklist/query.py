"""The case list: filters, sorting, paging and counts, as SQL built by SQLAlchemy.

One `CaseFilter` describes what the reviewer asked for (view, statuses, assignee, search,
created date range, workflows, tags); `list_cases` returns one page and the total (the API's
cursors: `list_cases_after`, keyset paging), `count_cases`
and `counts_by_status` / `counts_by_view` feed the sidebar, `iter_cases` streams every
matching row for CSV export in keyset-paged batches. Search goes through the full-text index
(SQLite FTS5, PostgreSQL tsvector), never a scan.

Counts come from `case_counts` (kept exact by database triggers, migration 0003) whenever
the filter can be answered at its grain — workflow, status, entity country, entity kind,
assigned or not: views made of workflows, statuses and `equals`/`in` predicates on country
and entity_type, the status and workflow filters, assignee anyone/unassigned/someone, no
search, no date range. Anything else is counted with COUNT(*) over the cases.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Iterator, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    func,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.errors import InvalidInput
from core.store.db import Database
from core.store.models import Case, CaseCount, Entity, utcnow
from core.worklist.search import fts_query
from core.worklist.views import ViewInfo, has_tag, list_views, view_clauses

AssigneeMode = Literal["anyone", "me", "unassigned", "someone"]
ASSIGNEE_MODES = ("anyone", "me", "unassigned", "someone")
PAGE_SIZES = (25, 50, 100, 200)
MAX_SEARCH = 200
MAX_TAG = 50  # as long as a stored tag may be (docs/INTAKE.md)

SORT_COLUMNS = {
    "created_at": Case.created_at,
    "updated_at": Case.updated_at,
    "id": Case.id,
    "status": Case.case_status,
    "name": Entity.name,
    "due_at": Case.due_at,  # cases without a due time after every due one (NULLS LAST)
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

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


ROW_COLUMNS = (Case.id, Entity.name, Entity.kind, Entity.country, Case.workflow,
               Case.case_status, Case.assignee, Case.created_at, Case.updated_at, Case.due_at)


def _search_clause(search: str, dialect: str) -> ColumnElement[bool] | None:
    """A case id, or words of the entity's name, email or registration number found through
    the full-text index (the words' query: `core.worklist.search.fts_query`)."""
    search = search.strip()
    if not search:
        return None
    if len(search) > MAX_SEARCH:
        raise InvalidInput(f"search is at most {MAX_SEARCH} characters")
    by_id = Case.id.in_({search, search.upper()})
    query = fts_query(search, dialect)
    if query is None:
        return by_id
    if dialect == "postgresql":
        # The case ids found by id or through the GIN index, as one IN (... UNION ALL ...):
        # an OR of `cases.id` and `entities.search_vector` in the joined rows could use no
        # index, and PostgreSQL filtered every case (a scan).
        hit = Case.__table__.alias("search_hit")
        found = Entity.__table__.alias("search_found")
        match = literal_column("search_found.search_vector").op("@@")(
            func.to_tsquery("simple", query))
        return Case.id.in_(union_all(
            select(hit.c.id).where(hit.c.id.in_({search, search.upper()})),
            select(hit.c.id).join(found, found.c.id == hit.c.entity_id).where(match)))
    matching = select(literal_column("rowid")).select_from(text("entity_search")).where(
        text("entity_search MATCH :fts").bindparams(fts=query))
    return or_(by_id, Case.entity_id.in_(matching.scalar_subquery()))


def filter_clauses(flt: CaseFilter, dialect: str) -> tuple[list[ColumnElement[bool]], bool]:
    """SQL conditions for a filter, and whether they need the entities table joined."""
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
        clauses.append(has_tag(tag, dialect))
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
    search = _search_clause(flt.search, dialect)
    if search is not None:
        clauses.append(search)
        needs_entity = needs_entity or dialect == "postgresql"
    return clauses, needs_entity


def rows_query(flt: CaseFilter, dialect: str) -> Select:
    """Every matching row, unordered and unpaged: the export streams it, and it is the plain
    reference the paged query (`_page_query`) must agree with."""
    clauses, _ = filter_clauses(flt, dialect)
    return select(*ROW_COLUMNS).join(Entity, Entity.id == Case.entity_id).where(*clauses)


def _page_query(flt: CaseFilter, dialect: str, sort: str, descending: bool, limit: int,
                offset: int) -> Select:
    """One page of rows. When neither the filter nor the sort needs the entity, the page's
    ids are found over `cases` alone (its indexes, OFFSET included) and only those rows are
    joined to their entities; else the join is paged as a whole."""
    order = sort_columns(sort, descending)
    clauses, needs_entity = filter_clauses(flt, dialect)
    if needs_entity or SORT_COLUMNS[sort].table is not Case.__table__:
        return (select(*ROW_COLUMNS).join(Entity, Entity.id == Case.entity_id).where(*clauses)
                .order_by(*order).limit(limit).offset(offset))
    ids = (select(Case.id.label("page_id")).where(*clauses).order_by(*order)
           .limit(limit).offset(offset).subquery("page"))
    return (select(*ROW_COLUMNS).select_from(ids)
            .join(Case, Case.id == ids.c.page_id).join(Entity, Entity.id == Case.entity_id)
            .order_by(*order))


def _count_query(flt: CaseFilter, dialect: str) -> Select:
    clauses, needs_entity = filter_clauses(flt, dialect)
    stmt = select(func.count()).select_from(Case)
    if needs_entity:
        stmt = stmt.join(Entity, Entity.id == Case.entity_id)
    return stmt.where(*clauses)


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
               descending: bool = True, page: int = 1, page_size: int = 50) -> CasePage:
    if page_size < 1 or page_size > 500:
        raise InvalidInput("page size must be between 1 and 500")
    sort_columns(sort, descending)  # a bad sort is refused before anything is counted
    total = count_cases(db, flt)
    pages = max(1, -(-total // page_size))
    page = min(max(1, int(page)), pages)
    stmt = _page_query(flt, db.dialect, sort, descending, page_size, (page - 1) * page_size)
    with db.read() as s:
        rows = [_row(r) for r in s.execute(stmt)]
    return CasePage(rows, total, page, page_size)


# --- keyset paging (the API's cursors) ---------------------------------------------------

@dataclass(frozen=True)
class KeysetPage:
    """Rows after a cursor; `next_cursor` continues the same walk (None: no more rows).
    Unlike page numbers, a cursor never skips or repeats a row when cases are added."""
    rows: list[CaseRow]
    total: int
    page_size: int
    next_cursor: str | None


def _cursor_value(sort: str, row: CaseRow) -> str:
    value = {"created_at": row.created_at, "updated_at": row.updated_at, "id": row.id,
             "status": row.status, "name": row.entity_name, "due_at": row.due_at}[sort]
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: str, descending: bool, row: CaseRow) -> str:
    """An opaque token for "the rows after `row` in this sort"."""
    raw = json.dumps({"s": sort, "d": descending, "v": _cursor_value(sort, row), "i": row.id},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str, descending: bool) -> tuple[object, str]:
    """The (sort value, case id) a cursor points after; InvalidInput when it is not one of
    ours or was made for another sort or order."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        made_for, value, case_id = (raw["s"], raw["d"]), raw["v"], raw["i"]
        if not isinstance(case_id, str) or not (
                isinstance(value, str) or (value is None and raw["s"] == "due_at")):
            raise ValueError
        if value is not None and SORT_COLUMNS[raw["s"]].type.python_type is datetime:
            value = datetime.fromisoformat(value)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, NotImplementedError):
        raise InvalidInput("the cursor is not valid: use next_cursor exactly as a list "
                           "answer gave it") from None
    if made_for != (sort, descending):
        raise InvalidInput("the cursor was made for another sort or order: keep the sort "
                           "and order of the request that gave it") from None
    return value, case_id


def list_cases_after(db: Database, flt: CaseFilter, *, sort: str = "created_at",
                     descending: bool = True, cursor: str | None = None,
                     page_size: int = 50) -> KeysetPage:
    """The first `page_size` matching rows after `cursor` (None: from the start), ordered
    like `list_cases`, and the total from the same counters."""
    if page_size < 1 or page_size > 500:
        raise InvalidInput("page size must be between 1 and 500")
    order = sort_columns(sort, descending)
    clauses, _ = filter_clauses(flt, db.dialect)
    if cursor is not None:
        value, case_id = decode_cursor(cursor, sort, descending)
        clauses.append(keyset_after(SORT_COLUMNS[sort], value, case_id, descending))
    total = count_cases(db, flt)
    stmt = (select(*ROW_COLUMNS).join(Entity, Entity.id == Case.entity_id).where(*clauses)
            .order_by(*order).limit(page_size + 1))
    with db.read() as s:
        rows = [_row(r) for r in s.execute(stmt)]
    more = len(rows) > page_size
    rows = rows[:page_size]
    return KeysetPage(rows, total, page_size,
                      encode_cursor(sort, descending, rows[-1]) if more else None)


def keyset_after(column, value, case_id: str, descending: bool) -> ColumnElement[bool]:
    """The rows after (value, case_id) in the sort; a NULL due time sorts after every other
    ascending (before, descending), as `sort_columns` orders them."""
    if value is None:  # only due_at is nullable
        nulls = and_(column.is_(None), Case.id < case_id if descending else Case.id > case_id)
        return or_(nulls, column.is_not(None)) if descending else nulls
    if descending:
        return or_(column < value, and_(column == value, Case.id < case_id))
    return or_(column > value, and_(column == value, Case.id > case_id),
               column.is_(None) if column is Case.due_at else False)


# --- counts ---------------------------------------------------------------------------------

COUNTER_FIELDS = {"country": CaseCount.country, "entity_type": CaseCount.kind}


def counter_clauses(flt: CaseFilter, counts=CaseCount) -> list[ColumnElement[bool]] | None:
    """The filter as conditions on `case_counts` (or `counts`, a table of the same key: the
    due-hour counters), or None when that grain cannot answer it (search, dates, "me",
    overdue, any other predicate). Validate with `filter_clauses`."""
    if (flt.search.strip() or flt.created_from or flt.created_to or flt.assignee == "me"
            or flt.tags or flt.overdue):
        return None
    clauses: list[ColumnElement[bool]] = []
    view = flt.view
    if view is not None:
        if view.workflows:
            clauses.append(counts.workflow.in_(view.workflows))
        if view.statuses:
            clauses.append(counts.case_status.in_(view.statuses))
        for p in view.predicates:
            column = COUNTER_FIELDS.get(p.get("field"))
            column = None if column is None else getattr(counts, column.key)
            op, value = p.get("op"), p.get("value")
            values = [value] if op == "equals" else value if op == "in" else None
            if (column is None or not isinstance(values, list) or not values
                    or not all(isinstance(v, str) and v for v in values)):
                return None
            clauses.append(column.in_(values))
    if flt.statuses:
        clauses.append(counts.case_status.in_(flt.statuses))
    if flt.workflows:
        clauses.append(counts.workflow.in_(flt.workflows))
    if flt.assignee == "unassigned":
        clauses.append(counts.assigned.is_(False))
    elif flt.assignee == "someone":
        clauses.append(counts.assigned.is_(True))
    return clauses


def _count_in(s: Session, flt: CaseFilter, dialect: str) -> int:
    count_star = _count_query(flt, dialect)  # validates the filter whichever way it counts
    counters = counter_clauses(flt)
    if counters is None:
        return int(s.scalar(count_star) or 0)
    return int(s.scalar(select(func.coalesce(func.sum(CaseCount.n), 0)).where(*counters)) or 0)


def count_cases(db: Database, flt: CaseFilter) -> int:
    maybe_compact_case_counts(db)
    with db.read() as s:
        return _count_in(s, flt, db.dialect)


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
    return {status.value: int(found.get(status.value) or 0) for status in CaseStatus}


def counts_by_view(db: Database, views: list[ViewInfo] | None = None) -> dict[int, int]:
    views = list_views(db) if views is None else views
    maybe_compact_case_counts(db)
    with db.read() as s:
        return {v.id: _count_in(s, CaseFilter(view=v), db.dialect) for v in views}


def real_count(db: Database, flt: CaseFilter) -> int:
    """COUNT(*) over the cases, never the counters (tests and checks compare the two)."""
    with db.read() as s:
        return int(s.scalar(_count_query(flt, db.dialect)) or 0)


# PostgreSQL's triggers append +1/-1 rows; from time to time they are folded back into one row
# per key. Checked at most every COMPACT_CHECK_SECONDS per process, by whoever reads counts.
COMPACT_CHECK_SECONDS = 30.0
COMPACT_MIN_EXTRA_ROWS = 1000
compact_checked_at: dict[str, float] = {}  # database URL -> when last checked (monotonic)
_compact_lock = threading.Lock()
KEY_COLUMNS = "workflow, case_status, country, kind, assigned"


def maybe_compact_case_counts(db: Database) -> None:
    if db.is_sqlite:
        return  # one row per key already
    now = time.monotonic()
    with _compact_lock:
        if now - compact_checked_at.get(db.url, float("-inf")) < COMPACT_CHECK_SECONDS:
            return
        compact_checked_at[db.url] = now
    with db.read() as s:
        extra = s.scalar(text(f"SELECT count(*) - count(DISTINCT ({KEY_COLUMNS})) "
                              "FROM case_counts"))
    if (extra or 0) >= COMPACT_MIN_EXTRA_ROWS:
        compact_case_counts(db)


def compact_case_counts(db: Database) -> int:
    """Folds `case_counts` into one row per key, dropping keys that sum to 0; returns the
    number of rows removed. PostgreSQL: one statement deletes the rows it sees and inserts
    their sums, so rows appended meanwhile by other transactions are left for next time and
    no count changes; an advisory lock keeps two compactions from running at once."""
    with db.unit_of_work() as s:
        if db.is_sqlite:
            return s.execute(text("DELETE FROM case_counts WHERE n = 0")).rowcount or 0
        if not s.scalar(text("SELECT pg_try_advisory_xact_lock("
                             "hashtext('docket.case_counts.' || current_schema()))")):
            return 0
        before = s.scalar(text("SELECT count(*) FROM case_counts")) or 0
        s.execute(text(
            f"WITH folded AS (DELETE FROM case_counts RETURNING {KEY_COLUMNS}, n) "
            f"INSERT INTO case_counts ({KEY_COLUMNS}, n) SELECT {KEY_COLUMNS}, sum(n) "
            f"FROM folded GROUP BY {KEY_COLUMNS} HAVING sum(n) <> 0"))
        after = s.scalar(text("SELECT count(*) FROM case_counts")) or 0
        return before - after


def iter_cases(db: Database, flt: CaseFilter, *, batch_size: int = 2000) -> Iterator[CaseRow]:
    """Every matching case, newest first, in keyset-paged batches (constant memory)."""
    base = rows_query(flt, db.dialect).order_by(Case.created_at.desc(), Case.id.desc())
    last: tuple[datetime, str] | None = None
    while True:
        stmt = base
        if last is not None:
            created, case_id = last
            stmt = stmt.where(or_(Case.created_at < created,
                                  (Case.created_at == created) & (Case.id < case_id)))
        with db.read() as s:
            rows = [_row(r) for r in s.execute(stmt.limit(batch_size))]
        yield from rows
        if len(rows) < batch_size:
            return
        last = (rows[-1].created_at, rows[-1].id)
