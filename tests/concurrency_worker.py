"""Runs one case action in its own process, for tests/test_concurrency.py.

Usage: python -m tests.concurrency_worker URL CASE_ID ACTION READY_FILE GO_FILE
It reads the case's version (as a reviewer's page does), writes it to READY_FILE, waits until
GO_FILE exists (the test creates it once both processes are ready: a barrier), acts with the
version it read, and prints one line: "won" or "<error type>: <refusal>".
"""
from __future__ import annotations

import os
import sys
import time

WAIT_S = 300  # only a hung test waits this long for the start signal


def main(url: str, case_id: str, action: str, ready_file: str, go_file: str) -> None:
    from core.cases import actions as ca
    from core.errors import DocketError
    from core.store.db import Database
    from core.store.models import Case
    db = Database(url)
    try:
        with db.read() as s:
            version = s.get(Case, case_id).version
        partial = ready_file + ".part"
        with open(partial, "w") as f:
            f.write(str(version))
        os.replace(partial, ready_file)  # the test never reads a half-written file
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(go_file):
            if time.monotonic() > deadline:
                print("timeout waiting for the start signal")
                return
            time.sleep(0.001)
        try:
            if action == "approve":
                ca.approve_case(db, case_id, actor="reviewer", expected_version=version)
            else:
                ca.reject_case(db, case_id, actor="reviewer", expected_version=version,
                               reason="race")
            print("won")
        except DocketError as e:
            print(f"{type(e).__name__}: {e}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:6])
