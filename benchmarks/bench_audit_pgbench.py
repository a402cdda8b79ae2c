"""The PostgreSQL audit chain's own capacity: chained appends driven by `pgbench` (C clients)
instead of Python ones, so the figure is the server's seal, not the clients' CPU.

Why: issue #15 asks for chained appends with 8 clients at >= 1,000/s. With Docket's Python
clients (`bench_audit.py`) 2 cores top out near 600-700 commits/s whatever the chain does:
each client spends 3.0-3.6 ms of CPU per commit (SQLAlchemy, the body, psycopg). This script
takes the clients out of the question: each pgbench transaction is one INSERT of an audit
event whose body the app would have written at the flush (canonical JSON, the case's keyed
commitments, `CASE_PREV_PENDING` for the case's previous seq), picked at random from
prepared rows over --cases cases, then COMMIT — where migration 0024's deferred trigger
seals it (locks the head, fills the case's previous seq, hashes, moves the head). Exactly
the rows and the seal of a real append.

For each --clients value it runs:
  sealed    the INSERT with a body: the trigger seals at COMMIT (the chain's real path)
  unsealed  the same INSERT without a body: no seal (the trigger's WHEN skips it), so the
            difference is the chain's own cost
and then `core.records.verify.verify_chain` over the sealed run's events: it must be intact
(no fork, no gap, every case's previous seq right), or the figure does not count.

    python benchmarks/bench_audit_pgbench.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

Each run uses a throwaway schema. Plain script, not a test.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import throwaway_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.records.verify import verify_chain  # noqa: E402
from core.store.audit_chain_format import CASE_PREV_PENDING, body_of  # noqa: E402
from core.store.db import Database  # noqa: E402

KIND, ACTOR = "case.status_changed", "reviewer"
SCRIPT = """\\set k random(1, {rows})
INSERT INTO audit_events (case_id, at, actor, kind, before, after, via, body)
  SELECT case_id, at, actor, kind, before, after, NULL, {body} FROM bench_bodies WHERE k = :k;
"""


def prepare(url: str, cases: int, rows: int) -> None:
    """The schema migrated (the seal trigger included), one subject key per case, and
    `rows` prepared events: (case, body) as the app's flush writes them."""
    db = Database(url)
    db.upgrade_schema()
    at = datetime(2026, 12, 6, 4, 0, tzinfo=timezone.utc).replace(tzinfo=None)
    keys = {f"case-{i:06d}": os.urandom(32) for i in range(cases)}
    with db.write_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_subject_keys (case_id, key, created_at) "
                          "VALUES (:c, :k, :at)"),
                     [{"c": c, "k": k.hex(), "at": at} for c, k in keys.items()])
        conn.execute(text("CREATE TABLE bench_bodies (k int PRIMARY KEY, case_id text, "
                          "at timestamp, actor text, kind text, before json, after json, "
                          "body text)"))
        ids = list(keys)
        batch = []
        for k in range(1, rows + 1):
            case_id = ids[k % cases]
            before, after = {"status": "manual_review"}, {"status": "approved", "n": k}
            body = body_of(kind=KIND, actor=ACTOR, case_id=case_id, at=at, via=None,
                           case_prev_seq=CASE_PREV_PENDING, before=before, after=after,
                           key=keys[case_id])
            batch.append({"k": k, "c": case_id, "at": at, "a": ACTOR, "kind": KIND,
                          "before": json.dumps(before), "after": json.dumps(after), "b": body})
        conn.execute(text("INSERT INTO bench_bodies VALUES (:k, :c, :at, :a, :kind, "
                          "CAST(:before AS json), CAST(:after AS json), :b)"), batch)
    db.dispose()


def pgbench(url: str, clients: int, seconds: int, sealed: bool, rows: int) -> dict:
    u = make_url(url)
    schema = re.search(r"search_path=(\w+)", str(u.query.get("options", ""))).group(1)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(SCRIPT.format(rows=rows, body="body" if sealed else "NULL"))
        script = f.name
    env = {**os.environ, "PGOPTIONS": f"-c search_path={schema}"}
    cmd = ["pgbench", "-n", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
           "-U", u.username or "postgres", "-c", str(clients), "-j", str(min(clients, 2)),
           "-T", str(seconds), "-f", script, u.database]
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    os.unlink(script)
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = float(re.search(r"latency average = ([\d.]+) ms", out).group(1))
    done = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    return {"tps": tps, "latency_ms": latency, "transactions": done,
            "wall_s": time.perf_counter() - started}


def one_run(pg: str, clients: int, seconds: int, sealed: bool, cases: int, rows: int) -> str:
    with throwaway_schema(pg) as url:
        prepare(url, cases, rows)
        load = os.getloadavg()[0]
        r = pgbench(url, clients, seconds, sealed, rows)
        line = (f"| {'sealed' if sealed else 'unsealed'} | {clients} | {r['tps']:,.0f} | "
                f"{r['latency_ms']:.2f} | {r['transactions']:,} | {load:.1f}")
        if sealed:
            db = Database(url)
            report = verify_chain(db)
            with db.read_engine.connect() as conn:
                chained = conn.scalar(text("SELECT count(*) FROM audit_events WHERE kind = :k "
                                           "AND seq IS NOT NULL"), {"k": KIND})
            db.dispose()
            ok = report.ok and chained == r["transactions"]
            line += f" | {'intact' if ok else 'BROKEN'}: {report.checked:,} events checked |"
            if not ok:
                print(report, file=sys.stderr)
        else:
            line += " | (not chained) |"
        return line


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pg", required=True, metavar="URL", help="a PostgreSQL server")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    p.add_argument("--seconds", type=int, default=20, help="each run's length")
    p.add_argument("--cases", type=int, default=1000, help="cases the events are about")
    p.add_argument("--rows", type=int, default=20000, help="prepared events to pick from")
    args = p.parse_args()
    print("| run | clients | appends/s | latency ms | events | load (1 min) | chain |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for clients in args.clients:
        for sealed in (True, False):
            print(one_run(args.pg, clients, args.seconds, sealed, args.cases, args.rows),
                  flush=True)


if __name__ == "__main__":
    main()
