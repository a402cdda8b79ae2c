"""The audit chain's speed: migration 0019's backfill (chaining existing events), verify, and
chained appends (one event per transaction) with several writers at once.

1. Backfill: --events unchained audit events (about 10 per case over --events/10 cases, half
   with before/after, a tenth without a case) are written into a fresh SQLite file with one
   executemany, then chained by `core.store.audit_chain.seal_connection` in one transaction,
   exactly what migration 0019 does to an existing database: events/s and total seconds.
2. Verify: `core.records.verify.verify_chain` over the whole chain, after migration 0026's
   rewrite has sealed the case events' values (as every database holds them now): events/s
   (target 50,000), wall and CPU of this process; on PostgreSQL also the CPU of the server
   process that served it (read from /proc: a server on this machine). `--pg-schema NAME`
   keeps PostgreSQL's chain in that schema (made once, verified again by later runs:
   `--skip-backfill --verify-pg --pg URL --pg-schema bench_x --verify-runs 3 --no-appends`).
3. Appends: --clients processes each record --appends events, --per-tx of them in each
   `unit_of_work` (1: a commit per event, the hardest case; a command writes 1-3), on SQLite
   and (with --pg URL) PostgreSQL: chained events/s and commits/s overall. A transaction
   keeps the head's lock until its COMMIT returns, fsync included, so commits/s cannot pass
   1 / (fsync time + the seal): `--pg-async` shows the rate without the fsync wait
   (synchronous_commit=off for the benchmark's sessions only). On PostgreSQL the server
   seals at COMMIT (migration 0024's trigger); `--client-seal` runs the clients with the
   seal as it was before, from the client (two round trips under the head's lock), for a
   comparison under the same load; `--no-sqlite` leaves SQLite's runs out.

Plain script, not a test: `python benchmarks/bench_audit.py --events 1000000`.
"""
from __future__ import annotations

import argparse
import importlib.util
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import create_schema, throwaway_schema  # noqa: E402
from sqlalchemy import and_, func, insert, or_, select, text  # noqa: E402

from core.records.verify import verify_chain, verify_connection  # noqa: E402
from core.store import audit  # noqa: E402
from core.store.audit_chain import seal_connection  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import AuditEvent  # noqa: E402


def _migration_0026():
    """Migration 0026's module (its rewrite seals existing case events' values)."""
    path = ROOT / "core/store/migrations/versions/0026_audit_sealed_values.py"
    spec = importlib.util.spec_from_file_location("migration_0026", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _unchained_rows(n: int, seed: int = 1):
    rng = random.Random(seed)
    start = datetime(2025, 1, 1)
    cases = max(1, n // 10)
    for i in range(n):
        case_id = None if i % 10 == 0 else f"C-{rng.randrange(cases):07d}"
        changed = i % 2 == 0
        yield {"case_id": case_id, "at": start + timedelta(seconds=i), "actor": "reviewer",
               "kind": "block.approved" if changed else "case.status_changed",
               "before": {"status": "manual_review", "block": f"document:{i}"} if changed else None,
               "after": {"status": "approved", "block": f"document:{i}", "by": "reviewer"},
               "via": None}


def bench_backfill_and_verify(events: int, pg: str | None = None, verify_runs: int = 1,
                              pg_schema: str | None = None) -> None:
    """On a fresh SQLite file, or with `pg` a throwaway schema on that PostgreSQL server (or
    `pg_schema`, kept: a chain already there is only verified)."""
    if pg and pg_schema:
        db = Database(create_schema(pg, pg_schema))
        db.upgrade_schema()
        with db.read_engine.connect() as conn:
            chained = conn.scalar(select(func.count()).select_from(AuditEvent.__table__))
        if chained:
            print(f"{pg_schema}: {chained:,} events there already, verified only")
            for _ in range(verify_runs):
                _verify(db)
            db.dispose()
        else:
            _backfill_and_verify(db, events, verify_runs)
        return
    if pg:
        with throwaway_schema(pg) as url:
            _backfill_and_verify(Database(url), events, verify_runs)
        return
    path = Path(tempfile.mkdtemp()) / "audit.sqlite3"
    _backfill_and_verify(Database(f"sqlite:///{path}"), events, verify_runs)
    print(f"database file: {path.stat().st_size / 1e6:,.0f} MB ({path})")


def _backfill_and_verify(db: Database, events: int, verify_runs: int) -> None:
    db.upgrade_schema()
    with db.write_engine.begin() as conn:
        rows, batch = _unchained_rows(events), []
        for row in rows:
            batch.append(row)
            if len(batch) == 50_000:
                conn.execute(insert(AuditEvent.__table__), batch)
                batch = []
        if batch:
            conn.execute(insert(AuditEvent.__table__), batch)
    t, cpu = time.perf_counter(), time.process_time()
    with db.write_engine.begin() as conn:
        sealed = seal_connection(conn)
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"backfill: {sealed:,} events chained in {spent:.1f} s wall ({sealed / spent:,.0f}/s), "
          f"{cpu:.1f} s CPU")
    # the case events' values encrypted under their cases' keys, as migration 0026 leaves an
    # upgraded database and as every write since stores them (docs/RECORDS.md)
    t, cpu = time.perf_counter(), time.process_time()
    with db.write_engine.begin() as conn:
        m = _migration_0026()
        encrypted = m._rewrite(conn, and_(m._events.c.case_id.is_not(None),
                                          or_(m._events.c.before.is_not(None),
                                              m._events.c.after.is_not(None))), m._seal_batch)
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    print(f"values sealed (migration 0026's rewrite): {encrypted:,} case events in {spent:.1f} s "
          f"wall, {cpu:.1f} s CPU")
    if not db.is_sqlite:  # as autovacuum would after the rewrite's 90 % dead row versions
        with db.write_engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "VACUUM ANALYZE audit_events")
    for _ in range(verify_runs):
        _verify(db)
    db.dispose()


def _server_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of a PostgreSQL server process on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _verify(db: Database) -> None:
    """`verify_chain` (on PostgreSQL its steps, to know the server process serving it)."""
    load = os.getloadavg()[0]
    pid, server = None, None
    t, cpu = time.perf_counter(), time.process_time()
    if db.is_sqlite:
        report = verify_chain(db)
    else:
        with db.read_engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
            conn.commit()
            server = _server_cpu(pid)
            t, cpu = time.perf_counter(), time.process_time()
            report = verify_connection(conn.execution_options(isolation_level="REPEATABLE READ"))
    spent, cpu = time.perf_counter() - t, time.process_time() - cpu
    after = _server_cpu(pid)
    served = f", server process {after - server:.2f} s CPU" if after is not None else ""
    print(f"verify ({db.dialect}): {report.checked:,} events in {spent:.2f} s wall "
          f"({report.checked / spent:,.0f}/s), {cpu:.2f} s CPU of this process "
          f"({report.checked / cpu:,.0f}/s){served}, ok={report.ok}, load {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")


def _append(url: str, worker: int, n: int, go: str, per_tx: int, client_seal: bool) -> None:
    db = Database(url)
    if client_seal:  # as before migration 0024: no body at the INSERT, the client seals
        from core.store import audit_chain_pg
        audit_chain_pg.is_postgresql = lambda session: False
    cpu = time.process_time()
    while not os.path.exists(go):
        time.sleep(0.001)
    for i in range(0, n, per_tx):
        with db.unit_of_work() as s:
            for j in range(i, min(n, i + per_tx)):
                audit.record(s, case_id=f"A-{worker}-{i % 50}", actor="reviewer",
                             kind="case.note", after={"i": j})
    Path(f"{go}.cpu{worker}").write_text(str(time.process_time() - cpu))
    db.dispose()


def bench_appends(url: str, clients: int, appends: int, per_tx: int = 1,
                  label: str = "", client_seal: bool = False) -> None:
    db = Database(url)
    db.upgrade_schema()
    if not db.is_sqlite:
        with db.write_engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_events, audit_chain_head, audit_subject_keys"))
    db.dispose()
    go = tempfile.mktemp()
    procs = [multiprocessing.Process(target=_append,
                                     args=(url, w, appends, go, per_tx, client_seal))
             for w in range(clients)]
    for p in procs:
        p.start()
    time.sleep(2)  # let every process import and connect
    t = time.perf_counter()
    Path(go).touch()
    for p in procs:
        p.join()
    spent = time.perf_counter() - t
    total = clients * appends
    cpu = sum(float(Path(f"{go}.cpu{w}").read_text()) for w in range(clients))
    report = verify_chain(Database(url))
    label += ", client's seal" if client_seal and not url.startswith("sqlite") else ""
    print(f"appends ({url.split(':')[0]}{label}): {clients} clients x {appends} = {total:,}, "
          f"{per_tx} per transaction, in {spent:.1f} s ({total / spent:,.0f} events/s, "
          f"{total / per_tx / spent:,.0f} commits/s), clients' CPU "
          f"{cpu * 1e3 / (total / per_tx):.2f} ms per commit, load {os.getloadavg()[0]:.1f}, "
          f"verify ok={report.ok}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--appends", type=int, default=500)
    ap.add_argument("--per-tx", default="1,3",
                    help="events per transaction in the appends, a run for each (default 1,3)")
    ap.add_argument("--pg", help="a PostgreSQL URL for the appends (its audit tables are "
                    "emptied: give it a database of its own)")
    ap.add_argument("--pg-async", action="store_true",
                    help="also on PostgreSQL with synchronous_commit=off for the benchmark's "
                         "own sessions: the rate without waiting for fsync (never the app's)")
    ap.add_argument("--client-seal", action="store_true",
                    help="PostgreSQL: also run the appends with the client's seal (as before "
                         "migration 0024), each after the server's, for a comparison")
    ap.add_argument("--no-sqlite", action="store_true", help="no appends on SQLite")
    ap.add_argument("--no-appends", action="store_true",
                    help="no appends at all (--pg's audit tables are then left alone)")
    ap.add_argument("--skip-backfill", action="store_true")
    ap.add_argument("--verify-pg", action="store_true",
                    help="the backfill and verify on --pg too (a throwaway schema)")
    ap.add_argument("--verify-runs", type=int, default=1, help="verify this many times")
    ap.add_argument("--pg-schema", help="--verify-pg: keep the chain in this schema (made "
                    "once; a chain already there is only verified) instead of a throwaway one")
    args = ap.parse_args()
    if not args.skip_backfill:
        bench_backfill_and_verify(args.events, verify_runs=args.verify_runs)
    if args.verify_pg:
        bench_backfill_and_verify(args.events, pg=args.pg, verify_runs=args.verify_runs,
                                  pg_schema=args.pg_schema)
    for per_tx in () if args.no_appends else (int(n) for n in args.per_tx.split(",")):
        if not args.no_sqlite:
            sqlite = Path(tempfile.mkdtemp()) / "appends.sqlite3"
            bench_appends(f"sqlite:///{sqlite}", args.clients, args.appends, per_tx)
        if args.pg:
            bench_appends(args.pg, args.clients, args.appends, per_tx)
        if args.pg and args.client_seal:
            bench_appends(args.pg, args.clients, args.appends, per_tx, client_seal=True)
        if args.pg and args.pg_async:
            sep = "&" if "?" in args.pg else "?"
            bench_appends(f"{args.pg}{sep}options=-csynchronous_commit%3Doff", args.clients,
                          args.appends, per_tx, ", synchronous_commit=off")


if __name__ == "__main__":
    main()
