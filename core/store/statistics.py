"""Planner statistics for SQLite: gathered when missing or when the cases grew tenfold.

Without them SQLite picks poor plans for some lists ("assignee me" at 1M cases: 447 ms, 13 ms
after; docs/PERFORMANCE.md, "API"). PostgreSQL's autovacuum keeps its own statistics."""
from __future__ import annotations

import logging
import time

from core.store.db import Database

log = logging.getLogger("docket.store")
RESTATISTICS_GROWTH = 10  # ANALYZE again once the cases grew (or shrank) 10x since the last


def planner_statistics(db: Database) -> bool:
    """SQLite: ANALYZE when the database has no planner statistics, or when the cases grew or
    shrank RESTATISTICS_GROWTH-fold since they were gathered. A full ANALYZE takes about 1.5 s
    at 1M cases on an idle machine. Returns whether it ran."""
    if not db.is_sqlite:
        return False
    with db.write_engine.connect() as conn:
        analyzed = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None
        # each index's row begins with its entries: the table's rows, fewer for a partial one
        stats = conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = 'cases'").scalars().all() if analyzed else []
        rows_then = max((int(stat.split()[0]) for stat in stats if stat), default=0)
        now = conn.exec_driver_sql("SELECT max(rowid) FROM cases").scalar() or 0  # ~ count
        if analyzed and max(now, 1) < max(rows_then, 1) * RESTATISTICS_GROWTH \
                and max(rows_then, 1) < max(now, 1) * RESTATISTICS_GROWTH:
            return False
        started = time.perf_counter()
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
        log.info("ANALYZE (planner statistics; %s cases) in %.1f s", f"{now:,}",
                 time.perf_counter() - started)
        return True
