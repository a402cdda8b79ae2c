"""Next case and overdue counts at scale (docs/PERFORMANCE.md, "Next case and SLAs").

Seeds a temporary database with demo cases (core.demo.generate: Manual review cases carry
their SLA's due time, most of the old ones overdue) and times, median of --repeat runs:

- Next case: `take_next_case` for a reviewer holding no case (the pick of the most urgent
  unassigned Manual review case, its lock and the assignment with its audit event), next to
  the same transaction written by hand; and for a reviewer who holds cases (the "mine first"
  read, no write). After each timed take the case is given back (untimed), so every take
  does the same work.
- Overdue counts vs status counts: `count_overdue` (all cases) and `overdue_counts_by_view`
  (5 default views) against `counts_by_status` / `counts_by_view`, and the COUNT(*) the
  counters replace.

    python benchmarks/bench_next_case.py                        # SQLite, 1M
    python benchmarks/bench_next_case.py --postgres URL         # also PostgreSQL
    python benchmarks/bench_next_case.py --sizes 100000 --no-sqlite --postgres URL
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import median_ms, refresh_statistics, throwaway_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.access.users import add_user, ensure_demo_users, list_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import utcnow  # noqa: E402
from core.worklist.next_case import take_next_case  # noqa: E402
from core.worklist.overdue import count_overdue, overdue_counts_by_view  # noqa: E402
from core.worklist.query import CaseFilter, counts_by_status, counts_by_view  # noqa: E402
from core.worklist.views import list_views  # noqa: E402

BENCH_USER = "bench.reviewer"



def give_back(db: Database):
    def run(case_id=None) -> None:
        if case_id is None:
            return
        with db.write_engine.begin() as conn:
            conn.execute(text("UPDATE cases SET assignee = NULL WHERE id = :id"), {"id": case_id})
    return run


def hand_take(db: Database) -> str:
    """The same transaction by hand: pick (locking on PostgreSQL), assign, bump, audit."""
    lock = "" if db.is_sqlite else " FOR UPDATE SKIP LOCKED"
    with db.write_engine.begin() as conn:
        row = conn.execute(text(
            "SELECT id, version FROM cases WHERE case_status = 'manual_review' "
            "AND assignee IS NULL AND due_at IS NOT NULL ORDER BY due_at, created_at, id "
            f"LIMIT 1{lock}")).first()
        now = utcnow()
        conn.execute(text("UPDATE cases SET assignee = :u, version = version + 1, "
                          "updated_at = :now WHERE id = :id AND version = :v"),
                     {"u": BENCH_USER, "now": now, "id": row.id, "v": row.version})
        conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind, before, after) "
                          "VALUES (:id, :now, :u, 'case.assigned', :b, :a)"),
                     {"id": row.id, "now": now, "u": BENCH_USER,
                      "b": '{"assignee": null}', "a": f'{{"assignee": "{BENCH_USER}"}}'})
        return row.id


def hand_overdue_count(db: Database) -> int:
    with db.read_engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM cases WHERE due_at < :now"),
                            {"now": utcnow()}).scalar()


def measure(db: Database, size: int, repeat: int) -> list[tuple]:
    views = list_views(db)
    back = give_back(db)
    with db.read_engine.connect() as conn:
        overdue = conn.execute(text("SELECT count(*) FROM cases WHERE due_at < :now"),
                               {"now": utcnow()}).scalar()
        waiting = conn.execute(text("SELECT count(*) FROM cases WHERE case_status = "
                                    "'manual_review' AND assignee IS NULL")).scalar()
    print(f"  {overdue:,} overdue cases; {waiting:,} unassigned in Manual review",
          file=sys.stderr)
    rows = [
        ("Next case (take + assign)", median_ms(lambda: take_next_case(db, BENCH_USER),
                                                repeat, back),
         median_ms(lambda: hand_take(db), repeat, back)),
        ("Next case (own case first, no write)",
         median_ms(lambda: take_next_case(db, "reviewer"), repeat), None),
        ("overdue count, all cases", median_ms(lambda: count_overdue(db), repeat),
         median_ms(lambda: hand_overdue_count(db), repeat)),
        ("status counts, all cases (for comparison)",
         median_ms(lambda: counts_by_status(db, CaseFilter()), repeat), None),
        ("overdue counts, 5 default views",
         median_ms(lambda: overdue_counts_by_view(db, views), repeat), None),
        ("view counts, 5 default views (for comparison)",
         median_ms(lambda: counts_by_view(db, views), repeat), None),
    ]
    return [(db.dialect, size, *r) for r in rows]


def bench(url: str, sizes: list[int], repeat: int) -> list[tuple]:
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    have, out = 0, []
    for size in sizes:
        if size > have:
            started = time.perf_counter()
            generate_cases(db, size - have, seed=size)
            print(f"  seeded {size - have:,} cases in {time.perf_counter() - started:.1f} s",
                  file=sys.stderr)
            have = size
        if not any(u.username == BENCH_USER for u in list_users(db)):  # after the load: the
            # demo generator assigns cases to every reviewer there is; this one holds none
            add_user(db, BENCH_USER, "Bench Reviewer", "reviewer", "a long bench password")
        refresh_statistics(db)  # as autovacuum would after the load
        out.extend(measure(db, size, repeat))
    db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--repeat", type=int, default=25, help="timed runs per measure (median)")
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
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    print("| database | cases | measure | core (ms) | hand SQL (ms) | ratio |")
    print("|---|---:|---|---:|---:|---:|")
    for dialect, size, name, core_ms, hand_ms, in results:
        hand = f"{hand_ms:.2f}" if hand_ms is not None else "-"
        ratio = f"{core_ms / hand_ms:.2f}" if hand_ms else "-"
        print(f"| {dialect} | {size:,} | {name} | {core_ms:.2f} | {hand} | {ratio} |")


if __name__ == "__main__":
    main()
