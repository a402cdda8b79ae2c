"""Runs one case action in its own process, for tests/test_concurrency.py.

Usage: python -m tests.concurrency_worker URL CASE_ID ACTION VERSION GO_FILE
It waits until GO_FILE exists (so two processes start together), acts, and prints one line:
"won" or the refusal.
"""
from __future__ import annotations

import os
import sys
import time


def main(url: str, case_id: str, action: str, version: str, go_file: str) -> None:
    from core.cases import actions as ca
    from core.errors import DocketError
    from core.store.db import Database
    db = Database(url)
    with db.read() as s:  # connect before the start signal
        s.connection()
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            print("timeout waiting for the start signal")
            return
        time.sleep(0.0005)
    try:
        if action == "approve":
            ca.approve_case(db, case_id, actor="reviewer", expected_version=int(version))
        else:
            ca.reject_case(db, case_id, actor="reviewer", expected_version=int(version),
                           reason="race")
        print("won")
    except DocketError as e:
        print(f"{type(e).__name__}: {e}")
    finally:
        db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:6])
