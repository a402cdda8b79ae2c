"""Risk scores at scale (docs/PERFORMANCE.md, "Risk scores").

Seeds a database with demo cases (core.demo.generate; the demo loader leaves every case
unscored), then measures:

- migration 0017 on that database: down to 0016 (drops the columns), then up again, timed
  (the columns added, every case scored by `core.cases.risk.score_cases`, the indexes built);
- one case scored, as every command does at its end (`case_inputs` + `score`: the case's
  true matches, re-uploads and related cases read, then scored), for SAMPLE random cases:
  p50, p95, max;
- a changed model saved: `rescore_cases` over the onboarding workflow's cases, batch by batch
  (rolled back): the total and the longest batch (how long one batch holds its rows);
- the simulator (`simulate_model`) over the newest SAMPLE onboarding cases, and over all.

    python benchmarks/bench_risk.py                            # SQLite, 1M, a temporary file
    python benchmarks/bench_risk.py --sqlite /tmp/risk.sqlite3   # kept (and reused) file
    python benchmarks/bench_risk.py --no-sqlite --postgres URL [--schema NAME]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alembic import command  # noqa: E402
from common import create_schema, refresh_statistics, throwaway_schema  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.cases.risk import case_inputs  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database, alembic_config  # noqa: E402
from core.store.models import Case  # noqa: E402
from core.workflows.risk_cases import BATCH, rescore_batch  # noqa: E402
from core.workflows.risk_model import default_risk_model, model_of, normalized_risk_model, score  # noqa: E402
from core.workflows.risk_simulation import SAMPLE as SIMULATOR_SAMPLE  # noqa: E402
from core.workflows.risk_simulation import simulate_model  # noqa: E402

SAMPLE = 300


def _stats(times: list[float]) -> str:
    p95 = statistics.quantiles(times, n=20)[18] if len(times) >= 20 else max(times)
    return f"p50 {statistics.median(times):6.1f} ms · p95 {p95:6.1f} ms · max {max(times):6.1f} ms"


def seed(db: Database, size: int) -> None:
    with db.read_engine.connect() as conn:
        have = conn.execute(text("SELECT count(*) FROM cases")).scalar()
    if have >= size:
        print(f"  {have:,} cases there already: not seeded", file=sys.stderr)
        return
    started = time.perf_counter()
    generate_cases(db, size - have, seed=size)
    print(f"  seeded {size - have:,} cases in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)


def migration(db: Database) -> str:
    """0017 down (untimed) and up again (timed): every case scored, the indexes built."""
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        started, cpu = time.perf_counter(), time.process_time()
        command.upgrade(cfg, "0017")
        spent, cpu = time.perf_counter() - started, time.process_time() - cpu
    with db.read() as s:
        levels = dict(s.execute(select(Case.risk_level, func.count())
                                .group_by(Case.risk_level)).all())
        total = sum(levels.values())
    line = (f"{db.dialect:10} migration 0017 (score every case, build the indexes): "
            f"{spent:.1f} s for {total:,} cases ({total / spent:,.0f} cases/s; this process's "
            f"CPU {cpu:.0f} s); levels "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(levels.items(), key=str)))
    print("  " + line, file=sys.stderr)
    return line


def one_case(db: Database) -> str:
    with db.read() as s:
        ids = list(s.scalars(select(Case.id)))
        sample = random.Random(7).sample(ids, min(SAMPLE, len(ids)))
        times = []
        for case_id in sample:
            s.expunge_all()
            started = time.perf_counter()
            case = s.get(Case, case_id)
            model = model_of({}, case.workflow)
            score(model, case_inputs(s, case, model))
            times.append((time.perf_counter() - started) * 1000)
    line = f"{db.dialect:10} one case scored (read + score), n={len(sample)}: {_stats(times)}"
    print("  " + line, file=sys.stderr)
    return line


def rescore(db: Database) -> str:
    """A changed model saved: every onboarding case scored again from its stored inputs,
    BATCH at a time as `rescore_cases` does (here in one transaction, rolled back, so the
    database stays as seeded); the longest batch is how long a batch holds its rows."""
    model = default_risk_model("onboarding")
    model["bands"] = {"medium": 20, "high": 40}
    model = normalized_risk_model(model)
    batches, changed, after = [], 0, ""
    with db.unit_of_work() as s:
        started = time.perf_counter()
        while True:
            batch_started = time.perf_counter()
            moved, last = rescore_batch(s, "onboarding", after, model)
            if last is None:
                break
            batches.append(time.perf_counter() - batch_started)
            changed, after = changed + moved, last
        spent = time.perf_counter() - started
        cases = s.scalar(select(func.count()).select_from(Case)
                         .where(Case.workflow == "onboarding"))
        s.rollback()
    line = (f"{db.dialect:10} model saved (rescore_cases, onboarding): {spent:.1f} s for "
            f"{cases:,} cases, {changed:,} changed; {len(batches)} batches of {BATCH:,}, "
            f"longest {max(batches) * 1000:.0f} ms")
    print("  " + line, file=sys.stderr)
    return line


def simulate(db: Database) -> list[str]:
    """The simulator over the onboarding workflow: the newest SAMPLE cases (what the page
    does) and, for comparison, every case."""
    model = default_risk_model("onboarding")
    model["bands"] = {"medium": 20, "high": 40}
    lines = []
    with db.read() as s:
        total = s.scalar(select(func.count()).select_from(Case)
                         .where(Case.workflow == "onboarding"))
    for sample in (SIMULATOR_SAMPLE, total):
        started = time.perf_counter()
        sim = simulate_model(db, "onboarding", model, actor="admin", sample=sample)
        spent = (time.perf_counter() - started) * 1000
        lines.append(f"{db.dialect:10} simulator (onboarding, {sim.described()}): {spent:,.0f} ms;"
                     f" high {sim.before['high']:,} -> {sim.after['high']:,}")
        print("  " + lines[-1], file=sys.stderr)
    return lines


def bench(url: str, size: int) -> list[str]:
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    seed(db, size)
    refresh_statistics(db)
    out = [migration(db)]
    refresh_statistics(db)
    out.append(one_case(db))
    out.append(rescore(db))
    out.extend(simulate(db))
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
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        with (nullcontext(Path(args.sqlite).parent) if args.sqlite
              else tempfile.TemporaryDirectory()) as tmp:
            path = args.sqlite or str(Path(tmp) / "risk.sqlite3")
            results += bench(f"sqlite:///{path}", args.size)
    if args.postgres:
        if args.schema:
            results += bench(create_schema(args.postgres, args.schema), args.size)
        else:
            with throwaway_schema(args.postgres) as url:
                results += bench(url, args.size)
    print("\n".join(results))


if __name__ == "__main__":
    main()
