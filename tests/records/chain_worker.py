"""Appends audit events from its own process, for tests/records/test_concurrency_chain.py.

Usage: python -m tests.records.chain_worker URL WORKER N_EVENTS GO_FILE locked|unlocked
Waits until GO_FILE exists (the test's barrier), then records N_EVENTS events, one transaction
each, and prints one line: "<sealed> <errors>". `unlocked` is the test-only switch that reads
the chain's head without locking it (and, on SQLite, without BEGIN IMMEDIATE): what the lock
prevents should then happen.
"""
from __future__ import annotations

import os
import sys
import time

WAIT_S = 300  # only a hung test waits this long for the start signal


def main(url: str, worker: str, n_events: str, go_file: str, mode: str) -> None:
    from core.store import audit, audit_chain
    from core.store.db import Database
    db = Database(url)
    unlocked = mode == "unlocked"
    audit_chain.LOCK_HEAD = not unlocked
    sealed = errors = 0
    deadline = time.monotonic() + WAIT_S
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            print("timeout waiting for the start signal")
            return
        time.sleep(0.001)
    try:
        for i in range(int(n_events)):
            case_id = f"W{worker}-{i % 5}" if i % 4 else None
            try:
                # unlocked: a deferred BEGIN on SQLite (the read engine), so nothing else
                # serialises the writers either
                with (db.read() if unlocked else db.unit_of_work()) as s:
                    audit.record(s, case_id=case_id, actor=f"w{worker}", kind="test.append",
                                 before={"i": i - 1}, after={"i": i, "worker": worker})
                    if unlocked:
                        s.commit()
                sealed += 1
            except Exception:  # noqa: BLE001 - a unique violation or a busy snapshot: counted
                errors += 1
        print(f"{sealed} {errors}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:6])
