"""Bulk actions on 500 cases (docs/PERFORMANCE.md, "Bulk actions"; the issue's budget: 10 s).

Seeds a temporary database with demo cases (core.demo.generate: realistic cases with
documents, UBOs, processes, notification rules), then, for each of --rounds fresh sets of 500
unassigned Manual review cases, times the bulk actions a lead takes on them, each case
through its service function in its own unit of work (core/worklist/bulk.py):

- "select all": `case_ids_for` over a list of those 500 cases (by a tag put on them, untimed);
- assign to the lead (who then may decide them);
- tag, then untag;
- reject with one reason (a decision, its audit events and outbox rows per case).

Prints seconds per action and milliseconds per case (the median and the slowest round), and
the process's CPU milliseconds per case (SQLite: the whole work, whatever loads the machine).

    python benchmarks/bench_bulk.py                              # SQLite, 100,000 cases
    python benchmarks/bench_bulk.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python benchmarks/bench_bulk.py --size 1000000 --rounds 5
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import throwaway_schema  # noqa: E402
from sqlalchemy import select  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Case  # noqa: E402
from core.worklist.bulk import MAX_BULK, bulk_act, case_ids_for  # noqa: E402
from core.worklist.query import CaseFilter  # noqa: E402

ACTOR = "lead"  # a demo team lead: every bulk action
BUDGET_S = 10.0


def fresh_cases(db: Database, n: int, round_no: int) -> list[str]:
    """`n` unassigned Manual review cases nobody has touched, tagged for "select all"."""
    with db.read() as s:
        ids = list(s.scalars(select(Case.id).where(Case.case_status == "manual_review",
                                                   Case.assignee.is_(None))
                             .order_by(Case.id).limit(n)))
    if len(ids) < n:
        raise SystemExit(f"only {len(ids)} unassigned Manual review cases left; seed more")
    tag = f"bench-round-{round_no}"
    with db.write_engine.begin() as conn:  # the round's tag, written by hand (untimed)
        for case_id in ids:
            conn.execute(Case.__table__.update().where(Case.__table__.c.id == case_id)
                         .values(tags=[tag]))
    return ids


CPU_SECONDS: dict[str, list[float]] = {}  # action -> this process's CPU seconds, per round


def timed(fn, name: str = "") -> tuple[float, object]:
    """Wall seconds of `fn()` and its result; its CPU seconds (this process: on SQLite the
    whole work, whatever else loads the machine) go to CPU_SECONDS[name]."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    CPU_SECONDS.setdefault(name, []).append(time.process_time() - cpu)
    return time.perf_counter() - started, result


def one_round(db: Database, round_no: int) -> dict[str, float]:
    ids = fresh_cases(db, MAX_BULK, round_no)
    tag = f"bench-round-{round_no}"
    seconds: dict[str, float] = {}
    seconds["select all (case_ids_for)"], found = timed(
        lambda: case_ids_for(db, CaseFilter(tags=(tag,)), sort="created_at"),
        "select all (case_ids_for)")
    assert sorted(found) == sorted(ids), "select all found other cases"
    steps = [
        ("assign to me", dict(action="assign", to=ACTOR)),
        ("add tag", dict(action="tag", tag="bench-batch")),
        ("remove tag", dict(action="untag", tag="bench-batch")),
        ("reject", dict(action="reject", reason="benchmark: shell companies")),
    ]
    for name, kw in steps:
        seconds[name], result = timed(lambda kw=kw: bulk_act(db, ids, actor=ACTOR, **kw), name)
        if len(result.done) != len(ids):
            raise SystemExit(f"{name}: {result.summary()}; first refusal: {result.refused[:1]}")
    return seconds


def bench(url: str, size: int, rounds: int) -> list[tuple]:
    db = Database(url)
    CPU_SECONDS.clear()
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    started = time.perf_counter()
    generate_cases(db, size, seed=size)
    print(f"  seeded {size:,} cases in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with db.write_engine.connect() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    runs = []
    for round_no in range(rounds):
        runs.append(one_round(db, round_no))
        print(f"  round {round_no + 1}: " + ", ".join(f"{k} {v:.2f} s" for k, v in runs[-1].items()),
              file=sys.stderr)
    db.dispose()
    return [(db.dialect, size, name, statistics.median(r[name] for r in runs),
             max(r[name] for r in runs), statistics.median(CPU_SECONDS[name]))
            for name in runs[0]]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=100_000, help="demo cases seeded (default 100,000)")
    p.add_argument("--rounds", type=int, default=3, help="fresh sets of 500 cases (median, max)")
    p.add_argument("--database-url", metavar="URL",
                   help="also run on this PostgreSQL server (in a throwaway schema)")
    p.add_argument("--no-sqlite", action="store_true")
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            print("SQLite", file=sys.stderr)
            results += bench(f"sqlite:///{tmp}/bench.sqlite3", args.size, args.rounds)
    if args.database_url:
        with throwaway_schema(args.database_url) as url:
            print("PostgreSQL", file=sys.stderr)
            results += bench(url, args.size, args.rounds)
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    # CPU: this process's (SQLite: the whole work; PostgreSQL: the client's side only)
    print(f"| database | cases | bulk action on {MAX_BULK} cases | median (s) | slowest (s) "
          "| per case (ms, median) | CPU per case (ms, median) |")
    print("|---|---:|---|---:|---:|---:|---:|")
    for dialect, size, name, median_s, max_s, cpu_s in results:
        print(f"| {dialect} | {size:,} | {name} | {median_s:.2f} | {max_s:.2f} | "
              f"{median_s * 1000 / MAX_BULK:.1f} | {cpu_s * 1000 / MAX_BULK:.1f} |")
    over = [r for r in results if r[4] > BUDGET_S]
    if over:
        print(f"over the {BUDGET_S:.0f} s budget: " + ", ".join(f"{r[0]} {r[2]}" for r in over))


if __name__ == "__main__":
    main()
