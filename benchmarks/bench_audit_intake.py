"""What the audit chain costs intake: `import_cases` (10 × 1,000 cases from JSON bytes, what
`python -m core import FILE` does) in-process on a demo database, run by two source trees in
turn, so the same machine measures the tree without the chain and the tree with it.

    git clone -q . /tmp/prechain && git -C /tmp/prechain checkout 87d151e
    python benchmarks/bench_audit_intake.py --tree /tmp/prechain --tree . --cases 100000

Each tree gets its own database (built by that tree: `python -m core demo --cases N`, then
copied before every run, so every run starts from the same state). The runs alternate
(A B A B ...), each in a fresh process of its own tree (`--off` adds the last tree with the
chain switched off in-process, which isolates the chain from the trees' other differences);
each reports CPU seconds per case
(the process's own time: other work on the cores inflates it much less than wall time), wall
cases/s and the load average. `--pg URL` runs the same on PostgreSQL (a database the script
empties: give it one of its own); there `--off` also runs the last tree with the chain off,
and `--client-seal` with the seal as it was before migration 0024 (events inserted without a
body, chained by the client at the commit instead of by the server's trigger). Plain script,
not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()

# One run, inside the tree being measured (sys.path[0] is that tree): prints a JSON line.
_RUN = r"""
import json, os, sys, time
sys.path.insert(0, os.getcwd())
import core.access.users
from core.store.db import Database
from core.intake.importer import import_cases
sys.path.insert(0, os.path.join(os.getcwd(), "benchmarks"))
from bench_api import a_case
url, batches, size, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if sys.argv[5] == "off":  # the chain switched off in this process: plain INSERTs, no seal
    from core.store import audit, audit_chain
    audit.append_many = lambda session, rows: False
    audit.mark_pending = lambda *a, **k: None
if sys.argv[5] == "client":  # PostgreSQL: no body at the INSERT, the client seals (pre-0024)
    from core.store import audit, audit_chain_pg
    audit.append_many = lambda session, rows: False
    audit_chain_pg.is_postgresql = lambda session: False
db = Database(url)
cpu = wall = 0.0
for b in range(batches):
    data = json.dumps({"cases": [a_case(f"BAI-{tag}-{b}-{k:05d}", k) for k in range(size)]}
                      ).encode()
    w, c = time.perf_counter(), time.process_time()
    assert len(import_cases(db, data, actor="admin")) == size
    wall += time.perf_counter() - w
    cpu += time.process_time() - c
db.dispose()
print(json.dumps({"cpu_ms": cpu / (batches * size) * 1000, "rate": batches * size / wall,
                  "load": os.getloadavg()[0]}))
"""


def build(tree: Path, path: Path, cases: int) -> None:
    if path.exists():
        return
    url = f"sqlite:///{path}"
    env = {**os.environ, "DOCKET_DATABASE_URL": url, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import core.access.users as u; u.BCRYPT_ROUNDS = 4;"
                    "from core.store.db import Database; from core.app_setup import "
                    "prepare_database; from core.access.users import ensure_demo_users;"
                    f"db = Database({url!r}); prepare_database(db, demo=False);"
                    "ensure_demo_users(db)"], cwd=tree, env=env, check=True)
    subprocess.run([sys.executable, "-m", "core", "demo", "--cases", str(cases)], cwd=tree,
                   env=env, check=True, stdout=subprocess.DEVNULL)
    print(f"built {path.name} ({cases:,} cases) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)


def one_run(tree: Path, url: str, batches: int, size: int, tag: str, chain: str = "on") -> dict:
    out = subprocess.run([sys.executable, "-c", _RUN, url, str(batches), str(size), tag, chain],
                         cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def pg_reset(tree: Path, url: str) -> None:
    """An empty schema at the tree's head, with the demo users (no demo cases: on PostgreSQL
    the runs grow one database)."""
    subprocess.run([sys.executable, "-c", "import core.access.users as u; u.BCRYPT_ROUNDS = 4;"
                    "from sqlalchemy import text; from core.store.db import Database;"
                    "from core.app_setup import prepare_database;"
                    "from core.access.users import ensure_demo_users;"
                    f"db = Database({url!r});\n"
                    "with db.write_engine.begin() as c:\n"
                    "    c.execute(text('DROP SCHEMA public CASCADE; CREATE SCHEMA public'))\n"
                    "prepare_database(db, demo=False); ensure_demo_users(db)"],
                   cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", action="append", type=Path, required=True,
                    help="a source tree (give two: without and with the chain)")
    ap.add_argument("--cases", type=int, default=100_000, help="demo cases in each database")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each tree, alternating")
    ap.add_argument("--batches", type=int, default=10)
    ap.add_argument("--size", type=int, default=1_000)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "docket-bai")
    ap.add_argument("--off", action="store_true",
                    help="also run the last tree with the chain switched off in-process "
                         "(record_many's plain INSERT, no seal): the chain's own cost")
    ap.add_argument("--pg", help="also on this PostgreSQL database (emptied before each tree)")
    ap.add_argument("--client-seal", action="store_true",
                    help="PostgreSQL: also the last tree with the client's seal (pre-0024)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    trees = [t.resolve() for t in args.tree]
    bases = []
    for i, tree in enumerate(trees):
        base = args.dir / f"base-{i}-{args.cases}.sqlite3"
        build(tree, base, args.cases)
        bases.append(base)
    variants = [(tree, bases[i], "on") for i, tree in enumerate(trees)]
    if args.off:  # the last tree again, its chain switched off in-process
        variants.append((trees[-1], bases[-1], "off"))
    results: dict[int, list[dict]] = {i: [] for i in range(len(variants))}
    for r in range(args.rounds):
        for i, (tree, base, chain) in enumerate(variants):
            work = args.dir / f"run-{i}.sqlite3"
            shutil.copyfile(base, work)
            res = one_run(tree, f"sqlite:///{work}", args.batches, args.size, f"{r}", chain)
            results[i].append(res)
            print(f"sqlite {tree} chain {chain}: {res['cpu_ms']:.3f} ms CPU/case, "
                  f"{res['rate']:,.0f} cases/s, load {res['load']:.1f}", flush=True)
            work.unlink()
    for i, (tree, _, chain) in enumerate(variants):
        cpu = statistics.median(x["cpu_ms"] for x in results[i])
        print(f"median {tree} chain {chain}: {cpu:.3f} ms CPU per case, "
              f"{statistics.median(x['rate'] for x in results[i]):,.0f} cases/s")
    if args.pg:
        pg_variants = [(tree, "on") for tree in trees]
        pg_variants += [(trees[-1], "off")] if args.off else []
        pg_variants += [(trees[-1], "client")] if args.client_seal else []
        for r in range(args.rounds):
            for tree, chain in pg_variants:
                pg_reset(tree, args.pg)
                res = one_run(tree, args.pg, args.batches, args.size, f"pg{r}", chain)
                print(f"postgresql {tree} chain {chain}: {res['cpu_ms']:.3f} ms CPU/case, "
                      f"{res['rate']:,.0f} cases/s, load {res['load']:.1f}", flush=True)


if __name__ == "__main__":
    main()
