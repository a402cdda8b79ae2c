"""What the benchmark scripts share: the median of timed runs, a throwaway or named PostgreSQL
schema to measure in, and fresh planner statistics after a load.

Each script runs as `python benchmarks/bench_x.py`, so this folder is on `sys.path` and the
scripts import it as `common`.
"""
from __future__ import annotations

import statistics
import time
import uuid
from contextlib import contextmanager
from typing import Callable, Iterator
from urllib.parse import quote

from sqlalchemy import create_engine, text

from core.store.db import Database


def median_ms(fn: Callable, repeat: int, after: Callable | None = None) -> float:
    """The median milliseconds of `repeat` calls of `fn`, after one untimed warm-up call
    (caches, statement compilation). `after(result)`, untimed, follows every call (to give
    back what the call took, so each timed call does the same work)."""
    result = fn()
    if after:
        after(result)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
        if after:
            after(result)
    return statistics.median(times)


def in_schema(url: str, schema: str) -> str:
    """The PostgreSQL URL with `schema` as the connections' search path."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def create_schema(url: str, schema: str) -> str:
    """Creates `schema` unless it exists (kept for reruns); returns its URL (`in_schema`)."""
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    finally:
        admin.dispose()
    return in_schema(url, schema)


@contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    """A new PostgreSQL schema on the server at `url`, dropped with all it holds at the end;
    yields its URL."""
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield in_schema(url, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def refresh_statistics(db: Database) -> None:
    """After a load: SQLite's ANALYZE; on PostgreSQL what autovacuum would do after it,
    VACUUM ANALYZE (statistics and the visibility map)."""
    with db.write_engine.connect() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE")
