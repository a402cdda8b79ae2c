"""Case list speed: core.worklist.query against the same query written by hand in raw SQL.

Seeds a temporary database to 10k, 100k and 1M cases (core.demo.generate), and at each size times
the list page (count + first page of 50) and the count queries the sidebar runs, next to the
hand-written SQL on the same tables and indexes. Prints median milliseconds and the ratio.

    python benchmarks/bench_case_list.py                 # SQLite, 10k 100k 1M
    python benchmarks/bench_case_list.py --postgres URL  # also PostgreSQL (a throwaway schema)
    python benchmarks/bench_case_list.py --sizes 10000 100000
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from common import median_ms, throwaway_schema  # noqa: E402

from core.app_setup import prepare_database  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.worklist.query import CaseFilter, counts_by_status, counts_by_view, list_cases  # noqa: E402
from core.worklist.views import find_view, list_views  # noqa: E402

ROWS = ("c.id, e.name, e.kind, e.country, c.workflow, c.case_status, c.assignee, "
        "c.created_at, c.updated_at")
PAGE = " ORDER BY c.created_at DESC, c.id DESC LIMIT 50"


def hand_sql(dialect: str) -> dict[str, list[tuple[str, dict]]]:
    """The same questions, written by hand: (sql, params) run in order, per scenario."""
    join = "FROM cases c JOIN entities e ON e.id = c.entity_id"
    if dialect == "sqlite":
        search = ("(c.id IN (:q, :qu) OR c.entity_id IN (SELECT rowid FROM entity_search "
                  "WHERE entity_search MATCH '\"golden\"*'))")
    else:
        search = ("(c.id IN (:q, :qu) OR e.search_vector @@ to_tsquery('simple', 'golden:*'))")
    return {
        "all cases, page 1": [
            ("SELECT count(*) FROM cases c", {}),
            (f"SELECT {ROWS} {join}{PAGE}", {})],
        "manual review, page 1": [
            ("SELECT count(*) FROM cases c WHERE c.case_status = 'manual_review'", {}),
            (f"SELECT {ROWS} {join} WHERE c.case_status = 'manual_review'{PAGE}", {})],
        "Hong Kong companies, page 1": [
            ("SELECT count(*) FROM cases c JOIN entities e ON e.id = c.entity_id "
             "WHERE e.country = 'HK' AND e.kind = 'business'", {}),
            (f"SELECT {ROWS} {join} WHERE e.country = 'HK' AND e.kind = 'business'{PAGE}", {})],
        "assigned to me, page 1": [
            ("SELECT count(*) FROM cases c WHERE c.assignee = 'reviewer'", {}),
            (f"SELECT {ROWS} {join} WHERE c.assignee = 'reviewer'{PAGE}", {})],
        "search 'golden', page 1": [
            (f"SELECT count(*) {join} WHERE {search}", {"q": "golden", "qu": "GOLDEN"}),
            (f"SELECT {ROWS} {join} WHERE {search}{PAGE}", {"q": "golden", "qu": "GOLDEN"})],
        "counts by status": [
            ("SELECT c.case_status, count(*) FROM cases c GROUP BY c.case_status", {})],
        "page 200 of all cases": [
            ("SELECT count(*) FROM cases c", {}),
            (f"SELECT {ROWS} {join} ORDER BY c.created_at DESC, c.id DESC LIMIT 50 OFFSET 9950",
             {})],
        "page 2,000 of all cases": [
            ("SELECT count(*) FROM cases c", {}),
            (f"SELECT {ROWS} {join} ORDER BY c.created_at DESC, c.id DESC LIMIT 50 OFFSET 99950",
             {})],
        "view counts (5 default views)": [
            ("SELECT count(*) FROM cases c", {}),
            ("SELECT count(*) FROM cases c WHERE c.workflow IN ('onboarding')", {}),
            ("SELECT count(*) FROM cases c WHERE c.workflow IN ('ongoing_monitoring')", {}),
            ("SELECT count(*) FROM cases c JOIN entities e ON e.id = c.entity_id "
             "WHERE e.country = 'HK' AND e.kind = 'business'", {}),
            ("SELECT count(*) FROM cases c JOIN entities e ON e.id = c.entity_id "
             "WHERE e.country = 'CN' AND e.kind = 'business'", {})],
    }


def core_calls(db: Database):
    hk = find_view(db, "Hong Kong companies")
    views = list_views(db)
    return {
        "all cases, page 1": lambda: list_cases(db, CaseFilter()),
        "manual review, page 1": lambda: list_cases(db, CaseFilter(statuses=("manual_review",))),
        "Hong Kong companies, page 1": lambda: list_cases(db, CaseFilter(view=hk)),
        "assigned to me, page 1": lambda: list_cases(db, CaseFilter(assignee="me", me="reviewer")),
        "search 'golden', page 1": lambda: list_cases(db, CaseFilter(search="golden")),
        "counts by status": lambda: counts_by_status(db, CaseFilter()),
        "page 200 of all cases": lambda: list_cases(db, CaseFilter(), page=200),
        "page 2,000 of all cases": lambda: list_cases(db, CaseFilter(), page=2000),
        "view counts (5 default views)": lambda: counts_by_view(db, views),
    }



def run_hand(db: Database, statements):
    raw = db.read_engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql, params in statements:
            if db.dialect == "sqlite":
                cur.execute(sql, params)
            else:
                cur.execute(sql.replace(":qu", "%(qu)s").replace(":q", "%(q)s"), params)
            cur.fetchall()
        cur.close()
    finally:
        raw.close()


def measure(db: Database, size: int, repeat: int) -> list[tuple]:
    rows = []
    hand = hand_sql(db.dialect)
    for name, call in core_calls(db).items():
        core_ms = median_ms(call, repeat)
        hand_ms = median_ms(lambda: run_hand(db, hand[name]), repeat)
        rows.append((db.dialect, size, name, core_ms, hand_ms, core_ms / hand_ms))
    return rows


def grow(db: Database, have: int, want: int) -> int:
    if want > have:
        started = time.perf_counter()
        generate_cases(db, want - have, seed=want)
        print(f"  seeded {want - have:,} cases in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return want


def bench(url: str, sizes: list[int], repeat: int) -> list[tuple]:
    db = Database(url)
    prepare_database(db, demo=False)
    from core.access.users import ensure_demo_users
    ensure_demo_users(db)
    have, out = 0, []
    for size in sizes:
        have = grow(db, have, size)
        if db.is_sqlite:
            with db.write_engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        else:
            with db.write_engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
        out.extend(measure(db, size, repeat))
        print(f"  measured at {size:,}", file=sys.stderr)
    db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--repeat", type=int, default=7, help="timed runs per query (median)")
    p.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    p.add_argument("--no-sqlite", action="store_true")
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite", file=sys.stderr)
            results += bench(f"sqlite:///{tmp}/bench.sqlite3", args.sizes, args.repeat)
    if args.postgres:
        with throwaway_schema(args.postgres) as url:
            print("PostgreSQL", file=sys.stderr)
            results += bench(url, args.sizes, args.repeat)
    print("| database | cases | query | core (ms) | hand SQL (ms) | ratio |")
    print("|---|---:|---|---:|---:|---:|")
    for dialect, size, name, core_ms, hand_ms, ratio in results:
        print(f"| {dialect} | {size:,} | {name} | {core_ms:.1f} | {hand_ms:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
