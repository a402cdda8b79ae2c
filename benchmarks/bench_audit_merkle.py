"""Audit checkpoints at scale (docs/PERFORMANCE.md, "Audit checkpoints (Merkle)").

Two parts:

- the Merkle tree alone (core/records/merkle.py), on N random 32-byte leaves: the root
  (`root`, by chunks), every level kept (`Tree`, a whole level at a time), 1,000 inclusion
  proofs made and verified, one consistency proof;
- checkpoints over a database of N chained events (core/records/checkpoint.py):
  `write_checkpoint` (the hashes read in seq order, the root, the signature, the row),
  `verify_against_checkpoint`, and `inclusion_proofs` for 50 events (what a case file
  asks), each timed, and the Python memory each one peaks at (tracemalloc, a separate run).

The events are written straight into `audit_events` with a seq and a random hash each: a
checkpoint reads only those two columns, and sealing a million events is the chain's own
benchmark (docs/PERFORMANCE.md, "Audit chain").

    python benchmarks/bench_audit_merkle.py                          # SQLite, 1M events
    python benchmarks/bench_audit_merkle.py --events 100000
    python benchmarks/bench_audit_merkle.py --sqlite /tmp/m.sqlite3   # kept, reused next time
    python benchmarks/bench_audit_merkle.py --no-sqlite --postgres URL [--schema NAME]
"""
from __future__ import annotations

import argparse
import os
import random
import secrets
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import create_schema, throwaway_schema  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from core.records import checkpoint, merkle  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import AuditEvent, utcnow  # noqa: E402


def timed(label: str, fn):
    """Runs fn, printing its wall time and this process's CPU time (the machine is shared:
    under load the wall time is partly waiting; the database server's CPU is not counted)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = fn()
    print(f"  {label:<46} {time.perf_counter() - started:6.2f} s wall "
          f"{time.process_time() - cpu:6.2f} s CPU", flush=True)
    return result


def peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def bench_tree(n: int) -> None:
    print(f"Merkle tree, {n:,} leaves (load {os.getloadavg()[0]:.1f})")
    leaves = [secrets.token_bytes(32) for _ in range(n)]
    root = timed("root (RootBuilder: chunks of 16,384 leaves)", lambda: merkle.root(leaves))
    tree = timed("Tree (every level kept, a level at a time)", lambda: merkle.Tree(leaves))
    assert tree.root == root
    picks = random.sample(range(n), min(n, 1000))

    def proofs():
        for i in picks:
            assert merkle.verify_inclusion(i, n, leaves[i], tree.inclusion_proof(i), root)
    timed(f"{len(picks):,} inclusion proofs made and verified", proofs)
    m = n * 2 // 3 + 1
    proof = timed(f"consistency proof {m:,} -> {n:,}", lambda: merkle.consistency_proof(m, leaves))
    assert merkle.verify_consistency(m, n, merkle.root(leaves[:m]), root, proof)


def load_events(db: Database, n: int) -> None:
    with db.read() as s:
        if s.scalar(text("SELECT count(*) FROM audit_events WHERE seq IS NOT NULL")) == n:
            return  # a kept database from an earlier run
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_checkpoints"))
        s.execute(text("DELETE FROM audit_events"))
    now, prev = utcnow(), "0" * 64
    table, batch = AuditEvent.__table__, []
    for seq in range(1, n + 1):
        digest = secrets.token_hex(32)
        batch.append({"case_id": None, "at": now, "actor": "bench", "kind": "bench.event",
                      "seq": seq, "prev_hash": prev, "hash": digest, "body": "{}"})
        prev = digest
        if len(batch) == 20_000 or seq == n:
            with db.write_engine.begin() as conn:
                conn.execute(insert(table), batch)
            batch = []


def bench_checkpoints(url: str, n: int, label: str) -> None:
    db = Database(url)
    db.upgrade_schema()
    print(f"{label}, {n:,} chained events (load {os.getloadavg()[0]:.1f})")
    timed("events written (setup, not a figure)", lambda: load_events(db, n))
    cp = timed("write_checkpoint", lambda: checkpoint.write_checkpoint(db, reason="bench"))
    assert cp.size == n
    check = timed("verify_against_checkpoint", lambda: checkpoint.verify_against_checkpoint(db, cp))
    assert check.ok
    seqs = random.sample(range(1, n + 1), 50)
    proofs = timed("inclusion_proofs, 50 events", lambda: checkpoint.inclusion_proofs(db, seqs, cp))
    assert len(proofs) == 50
    print(f"  peak Python memory: write_checkpoint "
          f"{peak_mb(lambda: checkpoint.write_checkpoint(db, reason='bench')):.0f} MB, "
          f"inclusion_proofs {peak_mb(lambda: checkpoint.inclusion_proofs(db, seqs, cp)):.0f} MB")
    db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-tree", action="store_true", help="skip the tree-only part")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--sqlite", metavar="FILE", help="a SQLite file to keep (and reuse)")
    parser.add_argument("--postgres", metavar="URL", help="also on this PostgreSQL server")
    parser.add_argument("--schema", help="a PostgreSQL schema to keep (and reuse)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DOCKET_AUDIT_SIGNING_KEY"] = str(Path(tmp) / "bench-signing.key")
        if not args.no_tree:
            bench_tree(args.events)
        if not args.no_sqlite:
            path = Path(args.sqlite) if args.sqlite else Path(tmp) / "bench.sqlite3"
            bench_checkpoints(f"sqlite:///{path}", args.events, "SQLite")
        if args.postgres and args.schema:
            bench_checkpoints(create_schema(args.postgres, args.schema), args.events,
                              "PostgreSQL")
        elif args.postgres:
            with throwaway_schema(args.postgres) as url:
                bench_checkpoints(url, args.events, "PostgreSQL")


if __name__ == "__main__":
    main()
