"""Rescreening after a list reload with one worker (issue #14: 100,000 cases ≤ 10 minutes).

Builds a SQLite (or, with --pg URL, PostgreSQL) database of N demo cases (an entity and
its UBOs each), loads a fictional list of M entries (the names of
benchmarks/bench_screening.py's `ListMaker`: Zipf-distributed given names, surnames and
company words, aliases in other scripts; written as an OpenSanctions file), screens every
case once (the first load queues them all), then reloads the list with 1% of its entries changed, 0.5% removed and 0.5% new —
which queues every case not rejected again — and times one `ScreeningRunner` draining that
queue: the figure the issue asks for. It reports the index build, cases per second, the
outcomes (most cases "unchanged": nothing written), how many subjects were matched against
the changed entries only (core/screening/rescreen.py; the rest in full), and the process's
peak RSS.

    python benchmarks/bench_rescreen.py --cases 100000 --entries 250000
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import csv  # noqa: E402
import io  # noqa: E402

from bench_screening import ListMaker  # noqa: E402  (this folder is on sys.path)
from bench_screening_lists import OS_COLUMNS  # noqa: E402
from common import throwaway_schema  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.screening import job_queue, runner  # noqa: E402
from core.screening.lists import load_list  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.workflows.definitions import ensure_default_workflows  # noqa: E402


def list_file(n: int, *, changed=frozenset(), removed=frozenset(), added: int = 0) -> bytes:
    """The same M entries for the same seed; `changed` ones get another programme, `removed`
    ones are left out, `added` new ones follow."""
    out = io.StringIO()
    w = csv.writer(out, dialect=csv.unix_dialect)
    w.writerow(OS_COLUMNS)
    for i, e in enumerate(ListMaker(14).entries(n + added)):
        if i in removed:
            continue
        schema = {"person": "Person", "organization": "Company"}.get(e.schema, "Vessel")
        programme = "BENCH-2" if i in changed else "BENCH-1"
        w.writerow([e.entry_id, schema, e.name, ";".join(e.aliases), ";".join(e.birth_dates),
                    ";".join(c.lower() for c in e.countries), "", "", "", "", "", programme,
                    "bench", "2024-01-01", "2026-01-01", "2025-01-01"])
    return out.getvalue().encode("utf-8")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def drain(db: Database, label: str) -> None:
    queued = job_queue.pending(db)
    work = runner.ScreeningRunner(db, worker_id=f"bench-{label}")
    started, cpu = time.perf_counter(), time.process_time()
    done = work.drain()
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu  # every thread of this process: less inflated by load
    loaded = runner.current_index(db)
    print(f"{label}: {done:,} of {queued:,} queued cases screened in {seconds:,.1f} s "
          f"({done / seconds:,.0f} cases/s; {cpu:,.1f} s of CPU, {cpu / max(done, 1) * 1000:.2f} ms "
          f"per case); index of {len(loaded.index):,} entries built in "
          f"{loaded.built_seconds:.1f} s; outcomes {dict(work.outcomes)}; "
          f"{work.delta_subjects:,} subjects matched against the changed entries only; peak RSS "
          f"{peak_rss_mb():,.0f} MB; load {os.getloadavg()[0]:.1f}", flush=True)


def run(url: str, cases: int, entries: int) -> None:
    db = Database(url)
    db.upgrade_schema()
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    ensure_demo_users(db)
    started = time.perf_counter()
    generate_cases(db, cases, seed=7)
    print(f"{cases:,} demo cases in {time.perf_counter() - started:.0f} s", flush=True)
    started = time.perf_counter()
    first = load_list(db, "bench", list_file(entries), fmt="opensanctions", actor="system")
    print(f"load v1: {first.sentence()} in {time.perf_counter() - started:.1f} s", flush=True)
    drain(db, "first screening")
    changed = frozenset(range(0, entries, 100))
    removed = frozenset(range(50, entries, 200))
    started = time.perf_counter()
    second = load_list(db, "bench", list_file(entries, changed=changed, removed=removed,
                                                added=entries // 200),
                       fmt="opensanctions", actor="system")
    print(f"load v2: {second.sentence()} in {time.perf_counter() - started:.1f} s", flush=True)
    drain(db, "rescreen after the reload")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--entries", type=int, default=250_000)
    parser.add_argument("--pg", help="a PostgreSQL URL: measure in a throwaway schema there")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    if args.pg:
        with throwaway_schema(args.pg) as url:
            run(url, args.cases, args.entries)
        return
    with tempfile.TemporaryDirectory() as folder:
        run(f"sqlite:///{folder}/rescreen.sqlite3", args.cases, args.entries)


if __name__ == "__main__":
    main()
