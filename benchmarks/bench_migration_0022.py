"""How long migration 0022 (open hits in the counters: triggers replaced, a column added, both
counter tables recounted) takes on a database that holds N cases.

For each size: a database at the newest revision is filled with demo cases (the bulk loader),
taken down to 0021, and a tenth of the cases given an open hit (`open_hits = 1`, plain
SQL, which 0021's triggers ignore); then `upgrade 0022` is timed: wall time, this process's CPU
time (SQLite works in this process) and the PostgreSQL backend's CPU time (read from
/proc/<pid>/stat: the server must run on this machine), with the load average before and
after. Afterwards the counters must equal COUNT(*) for "open hits" and "none".

    python benchmarks/bench_migration_0022.py --cases 100000,1000000 \\
        [--sqlite-dir /tmp/bench-NAME] [--postgres postgresql+psycopg://postgres@127.0.0.1/test]

SQLite files are made in `--sqlite-dir` and deleted at the end; PostgreSQL works in a
throwaway schema.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from alembic import command  # noqa: E402
from common import throwaway_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database, alembic_config  # noqa: E402
from core.workflows.definitions import ensure_default_workflows  # noqa: E402
from core.worklist.query import CaseFilter, count_cases, real_count  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def backend_cpu(conn) -> float:
    """CPU seconds (user + system) of the PostgreSQL backend serving `conn` so far."""
    pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def measure(url: str, n: int) -> None:
    db = Database(url)
    db.upgrade_schema()
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    started = time.perf_counter()
    generate_cases(db, n, seed=1)
    print(f"  {n:,} cases loaded in {time.perf_counter() - started:.0f} s")
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0021")
        conn.execute(text("UPDATE cases SET open_hits = 1 "
                          "WHERE id IN (SELECT id FROM cases ORDER BY id LIMIT :n)"),
                     {"n": n // 10})
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        before_load = load()
        server = backend_cpu(conn) if not db.is_sqlite else 0.0
        cpu, wall = time.process_time(), time.perf_counter()
        command.upgrade(cfg, "0022")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server = backend_cpu(conn) - server if not db.is_sqlite else 0.0
    print(f"  upgrade 0022: {wall:.1f} s wall, {cpu:.1f} s CPU here"
          + (f", {server:.1f} s CPU in the PostgreSQL backend" if not db.is_sqlite else "")
          + f" (load {before_load} before, {load()} after)")
    for hits in ("open", "none"):
        flt = CaseFilter(open_hits=hits)
        assert count_cases(db, flt) == real_count(db, flt), hits
    print(f"  counters == COUNT(*): open {count_cases(db, CaseFilter(open_hits='open')):,}, "
          f"none {count_cases(db, CaseFilter(open_hits='none')):,}")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="100000", help="sizes, comma-separated")
    parser.add_argument("--sqlite-dir", default="", help="measure SQLite, files made here")
    parser.add_argument("--postgres", default="", help="measure PostgreSQL on this server")
    args = parser.parse_args()
    sizes = [int(x) for x in args.cases.split(",")]
    for n in sizes:
        if args.sqlite_dir:
            path = Path(args.sqlite_dir) / f"m0022_{n}.sqlite3"
            path.parent.mkdir(parents=True, exist_ok=True)
            print(f"SQLite, {n:,} cases")
            try:
                measure(f"sqlite:///{path}", n)
            finally:
                for leftover in path.parent.glob(path.name + "*"):
                    leftover.unlink()
        if args.postgres:
            print(f"PostgreSQL, {n:,} cases")
            with throwaway_schema(args.postgres) as url:
                measure(url, n)


if __name__ == "__main__":
    main()
