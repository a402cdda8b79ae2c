"""Overdue cases: counts per filter and per view, and the "time left" a list shows.

A case is overdue once `cases.due_at` (its SLA's due time, core/workflows/sla.py) has passed.
Overdue is time-dependent, so a plain counter cannot hold it; `case_due_counts` (migration
0007) counts the cases with a due time per `case_counts` key and due *hour*, kept by
triggers. Every case due in an hour before the current one is overdue for good (until its
due time changes, which moves it in the counters), so

    overdue = SUM(n) over the hours before the current one          (a few hundred rows)
            + COUNT(*) of cases due between the hour's start and now (an index range)

Past hours are folded into hour 0 from time to time (`compact_due_counts`), so the table
stays about (keys × hours still ahead) rows. A filter the counters cannot answer (search,
dates, "me", tags) is counted over the cases with `due_at < now` through `ix_cases_due`.
Restricted cases (an erasure request pending, core/cases/retention_state.py) are left out as
the case list leaves them out: the counters hold them, so the few the filter matches are
counted and taken off. `now` may be passed for tests; it must not go back before a
compaction's `now`.
"""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.store.case_counts import KEY_COLUMNS
from core.store.counter_models import CaseDueCount
from core.store.db import Database
from core.store.due_counts import due_recount_sql
from core.store.models import Case, Entity, utcnow
from core.worklist.query import (
    CaseFilter,
    _restricted_matching,
    counter_clauses,
    filter_clauses,
)
from core.worklist.views import ViewInfo, list_views

EPOCH = datetime(1970, 1, 1)
FOLD_MARGIN_HOURS = 2  # hours kept unfolded behind the current one (clock skew between hosts)
COMPACT_CHECK_SECONDS = 30.0
COMPACT_MIN_EXTRA_ROWS = 500
compact_checked_at: dict[str, float] = {}  # database URL -> when last checked (monotonic)
_compact_lock = threading.Lock()


def hour_of(moment: datetime) -> int:
    """Hours since 1970-01-01 (naive UTC), as the triggers compute `due_hour`."""
    return int((moment - EPOCH).total_seconds() // 3600)


def hour_start(hour: int) -> datetime:
    return EPOCH + timedelta(hours=hour)


def _count_with_counters(s: Session, flt: CaseFilter, dialect: str, now: datetime) -> int:
    current = hour_of(now)
    counters = counter_clauses(flt, CaseDueCount)
    if counters is None:  # the cases themselves, through ix_cases_due
        return _live_count(s, flt, dialect, None, now)
    past = s.scalar(select(func.coalesce(func.sum(CaseDueCount.n), 0))
                    .where(CaseDueCount.due_hour < current, *counters)) or 0
    hidden = 0  # the counters hold restricted cases too: the few the filter matches go off
    if not flt.show_restricted:
        hidden = s.scalar(_restricted_matching(flt, dialect, func.count())
                          .where(Case.due_at < hour_start(current))) or 0
    return int(past) - int(hidden) + _live_count(s, flt, dialect, hour_start(current), now)


def _live_count(s: Session, flt: CaseFilter, dialect: str, since: datetime | None,
                now: datetime) -> int:
    clauses, needs_entity = filter_clauses(flt, dialect)
    clauses.append(Case.due_at < now)
    if since is not None:
        clauses.append(Case.due_at >= since)
    stmt = select(func.count()).select_from(Case)
    if needs_entity:
        stmt = stmt.join(Entity, Entity.id == Case.entity_id)
    return int(s.scalar(stmt.where(*clauses)) or 0)


def count_overdue(db: Database, flt: CaseFilter | None = None, *,
                  now: datetime | None = None) -> int:
    """Cases of the filter that are past their due time."""
    now = now or utcnow()
    maybe_compact_due_counts(db, now)
    with db.read() as s:
        return _count_with_counters(s, flt or CaseFilter(), db.dialect, now)


def overdue_counts_by_view(db: Database, views: list[ViewInfo] | None = None, *,
                           now: datetime | None = None) -> dict[int, int]:
    """Overdue cases per sidebar view (view id -> count), beside `counts_by_view`."""
    views = list_views(db) if views is None else views
    now = now or utcnow()
    maybe_compact_due_counts(db, now)
    with db.read() as s:
        return {v.id: _count_with_counters(s, CaseFilter(view=v), db.dialect, now)
                for v in views}


def real_overdue_count(db: Database, flt: CaseFilter | None = None, *,
                       now: datetime | None = None) -> int:
    """COUNT(*) of the overdue cases, never the counters (tests and checks compare)."""
    with db.read() as s:
        return _live_count(s, flt or CaseFilter(), db.dialect, None, now or utcnow())


# --- keeping the counters small -------------------------------------------------------------

def maybe_compact_due_counts(db: Database, now: datetime | None = None) -> None:
    """Folds the counters when enough rows would go; checked at most every
    COMPACT_CHECK_SECONDS per process, by whoever reads overdue counts."""
    clock = time.monotonic()
    with _compact_lock:
        if clock - compact_checked_at.get(db.url, float("-inf")) < COMPACT_CHECK_SECONDS:
            return
        compact_checked_at[db.url] = clock
    fold = hour_of(now or utcnow()) - FOLD_MARGIN_HOURS
    with db.read() as s:
        extra = s.scalar(text(
            f"SELECT count(*) - count(DISTINCT ({KEY_COLUMNS}, CASE WHEN due_hour < :fold "
            "THEN 0 ELSE due_hour END)) FROM case_due_counts"
            if not db.is_sqlite else
            "SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT "
            f"{KEY_COLUMNS}, CASE WHEN due_hour < :fold THEN 0 ELSE due_hour END "
            "FROM case_due_counts)) FROM case_due_counts"), {"fold": fold})
    if (extra or 0) >= COMPACT_MIN_EXTRA_ROWS:
        compact_due_counts(db, now)


def compact_due_counts(db: Database, now: datetime | None = None) -> int:
    """Folds `case_due_counts` into one row per key and hour, every hour before the current
    one (less a margin) into hour 0, dropping rows that sum to 0; returns the rows removed.
    PostgreSQL: one statement deletes the rows it sees and inserts their sums (rows appended
    meanwhile are left for next time), under an advisory lock, as `compact_case_counts`."""
    fold = hour_of(now or utcnow()) - FOLD_MARGIN_HOURS
    hour = f"CASE WHEN due_hour < {int(fold)} THEN 0 ELSE due_hour END"
    keys = f"{KEY_COLUMNS}, due_hour"
    with db.unit_of_work() as s:
        before = s.scalar(text("SELECT count(*) FROM case_due_counts")) or 0
        if db.is_sqlite:  # the only writer: read the sums, then write them back
            rows = s.execute(text(f"SELECT {KEY_COLUMNS}, {hour}, sum(n) FROM case_due_counts "
                                  f"GROUP BY {KEY_COLUMNS}, {hour} HAVING sum(n) <> 0")).all()
            s.execute(text("DELETE FROM case_due_counts"))
            if rows:
                names = [*KEY_COLUMNS.split(", "), "due_hour", "n"]
                s.execute(text(f"INSERT INTO case_due_counts ({keys}, n) VALUES ("
                               + ", ".join(f":{name}" for name in names) + ")"),
                          [dict(zip(names, r)) for r in rows])
        else:
            if not s.scalar(text("SELECT pg_try_advisory_xact_lock("
                                 "hashtext('docket.case_due_counts.' || current_schema()))")):
                return 0
            s.execute(text(
                f"WITH folded AS (DELETE FROM case_due_counts RETURNING {keys}, n) "
                f"INSERT INTO case_due_counts ({keys}, n) SELECT {KEY_COLUMNS}, {hour}, sum(n) "
                f"FROM folded GROUP BY {KEY_COLUMNS}, {hour} HAVING sum(n) <> 0"))
        after = s.scalar(text("SELECT count(*) FROM case_due_counts")) or 0
        return before - after


def recount_due_counts(db: Database, now: datetime | None = None) -> None:
    """Rebuilds `case_due_counts` from the cases (a repair; the demo loader does the same)."""
    fold = hour_of(now or utcnow()) - FOLD_MARGIN_HOURS
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM case_due_counts"))
        s.execute(text(due_recount_sql(db.dialect, fold)))


# --- what a list shows ------------------------------------------------------------------------

def time_left(due_at: datetime | None, now: datetime | None = None) -> str:
    """"5 h left", "2 d left", "overdue 3 h", "overdue 2 d"; "" without a due time."""
    if due_at is None:
        return ""
    delta = due_at - (now or utcnow())
    seconds = abs(delta.total_seconds())
    amount = (f"{int(seconds // 86400)} d" if seconds >= 2 * 86400
              else f"{int(seconds // 3600)} h" if seconds >= 3600
              else f"{max(1, int(seconds // 60))} min")
    return f"{amount} left" if delta.total_seconds() > 0 else f"overdue {amount}"
