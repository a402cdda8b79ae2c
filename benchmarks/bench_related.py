"""Related cases at scale (docs/PERFORMANCE.md, "Related cases").

Seeds a database with demo cases (core.demo.generate writes every case's keys, as every
writer does, and plants the demo rings), then measures:

- the demo load, and the share of it spent writing `case_keys` (rows, seconds);
- the panel: `related_cases`, the preview's one call (permission check, keys, the other
  cases per key, the capped counts of common values, true-match flags), for SAMPLE random
  cases, the ring cases, and cases holding the most-shared values: p50, p95, max;
- `related_summary` (what a risk rule reads) on the same cases;
- migration 0016's backfill on that database: the table made anew, every case's keys
  computed and written, the value index built, timed. The backfill also keys
  the demo's stock files (each shared by a few hundred thousand cases at 1M), so the panel
  is measured again after it: every case then has common values of that size.

    python benchmarks/bench_related.py                          # SQLite, 1M, a temporary file
    python benchmarks/bench_related.py --sqlite /tmp/rel.sqlite3  # kept (and reused) file
    python benchmarks/bench_related.py --no-sqlite --postgres URL [--schema NAME]
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import create_schema, refresh_statistics, throwaway_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.cases.related import related_cases, related_summary  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.demo.rings import ring_slots  # noqa: E402
from core.store.db import MIGRATIONS, Database  # noqa: E402
from core.store.models import CaseKey  # noqa: E402

SAMPLE = 300
VIEWER = "analyst"


class _RowTimes(logging.Handler):
    """Catches the demo loader's debug line with the seconds spent per table."""
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _stats(times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    return f"p50 {statistics.median(times):6.1f} ms · p95 {p95:6.1f} ms · max {max(times):6.1f} ms"


def seed(db: Database, size: int) -> None:
    with db.read_engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM cases")).scalar()
    if have >= size:
        print(f"  {have:,} cases there already: not seeded", file=sys.stderr)
        return
    log = logging.getLogger("core.demo.generate")
    catcher = _RowTimes()
    log.addHandler(catcher)
    log.setLevel(logging.DEBUG)
    started = time.perf_counter()
    generate_cases(db, size - have, seed=size)
    print(f"  seeded {size - have:,} cases in {time.perf_counter() - started:.1f} s; "
          + "; ".join(catcher.lines), file=sys.stderr)
    log.removeHandler(catcher)


def cases_to_read(db: Database, size: int) -> dict[str, list[str]]:
    with db.read_engine.connect() as conn:
        ids = [r[0] for r in conn.execute(text("SELECT id FROM cases"))]
        keys = conn.execute(text("SELECT count(*) FROM case_keys")).scalar()
        hubs = conn.execute(text(
            "SELECT kind, value, count(*) FROM case_keys GROUP BY kind, value "
            "ORDER BY count(*) DESC LIMIT 5")).all()
        hub_cases = [conn.execute(text("SELECT case_id FROM case_keys WHERE kind = :k AND "
                                       "value = :v LIMIT 1"), {"k": k, "v": v}).scalar()
                     for k, v, _ in hubs]
    print(f"  {len(ids):,} cases, {keys:,} keys; most shared: "
          + ", ".join(f"{k} x{n:,}" for k, _, n in hubs), file=sys.stderr)
    rings = [f"C-{1 + i:07d}" for i in ring_slots(size)]
    return {"random": random.Random(7).sample(ids, min(SAMPLE, len(ids))),
            "ring cases": [c for c in rings if c in set(ids)], "most-shared values": hub_cases}


def measure(db: Database, label: str, groups: dict[str, list[str]]) -> list[str]:
    lines = []
    for name, ids in groups.items():
        related_cases(db, ids[0], VIEWER)  # warm-up: statement compilation, caches
        panel = [_ms(lambda c=c: related_cases(db, c, VIEWER)) for c in ids]
        found = [related_cases(db, c, VIEWER) for c in ids]
        shown = sum(r.total for r in found) / len(found)
        common = sum(len(r.common) for r in found) / len(found)
        with db.read() as s:
            summary = [_ms(lambda c=c: related_summary(s, c)) for c in ids]
        lines.append(f"{db.dialect:10} {label:14} {name:19} n={len(ids):3}  panel {_stats(panel)}"
                     f"  | summary p50 {statistics.median(summary):5.1f} ms"
                     f"  | related {shown:.1f}, common {common:.1f} per case")
        print("  " + lines[-1], file=sys.stderr)
    return lines


def _migration_0016():
    """Migration 0016's module (its file name is not an importable name)."""
    spec = importlib.util.spec_from_file_location(
        "migration_0016", MIGRATIONS / "versions" / "0016_case_keys.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def backfill(db: Database) -> str:
    """What 0016's upgrade does to a database made before it, timed: the table made anew
    (its value index left for the end), every case's keys written, the index built. (The
    later revisions are left alone: the table is made again rather than migrated down.)"""
    migration = _migration_0016()
    with db.write_engine.begin() as conn:
        CaseKey.__table__.drop(conn)
        CaseKey.__table__.create(conn)
        conn.exec_driver_sql("DROP INDEX ix_case_keys_value")
    with db.write_engine.begin() as conn:
        started = time.perf_counter()
        migration.backfill(conn)
        written = time.perf_counter() - started
        conn.exec_driver_sql("CREATE INDEX ix_case_keys_value ON case_keys (kind, value, case_id)")
        spent = time.perf_counter() - started
    with db.read_engine.connect() as conn:
        keys = conn.execute(text("SELECT count(*) FROM case_keys")).scalar()
    line = (f"{db.dialect:10} backfill (migration 0016): {spent:.1f} s ({written:.1f} s the rows, "
            f"{spent - written:.1f} s the index), {keys:,} keys")
    print("  " + line, file=sys.stderr)
    return line


def bench(url: str, size: int, with_backfill: bool) -> list[str]:
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    seed(db, size)
    refresh_statistics(db)
    groups = cases_to_read(db, size)
    out = measure(db, "demo load", groups)
    if with_backfill:
        out.append(backfill(db))
        refresh_statistics(db)
        out.extend(measure(db, "after backfill", cases_to_read(db, size)))
    db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--sqlite", metavar="FILE", help="SQLite file to use (kept; reused if full)")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    p.add_argument("--schema", help="PostgreSQL schema to use (kept; reused if full)")
    p.add_argument("--no-backfill", action="store_true", help="skip the migration's backfill")
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        with (nullcontext(Path(args.sqlite).parent) if args.sqlite
              else tempfile.TemporaryDirectory()) as tmp:
            path = args.sqlite or str(Path(tmp) / "related.sqlite3")
            results += bench(f"sqlite:///{path}", args.size, not args.no_backfill)
    if args.postgres:
        if args.schema:
            results += bench(create_schema(args.postgres, args.schema), args.size,
                             not args.no_backfill)
        else:
            with throwaway_schema(args.postgres) as url:
                results += bench(url, args.size, not args.no_backfill)
    print("\n".join(results))


if __name__ == "__main__":
    main()
