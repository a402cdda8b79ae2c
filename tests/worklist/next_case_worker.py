"""Takes cases with Next case in its own process, for tests/worklist/test_next_case.py.

Usage: python -m tests.worklist.next_case_worker URL USER TAKES READY_FILE GO_FILE [reject]
It opens the database, writes READY_FILE, waits until GO_FILE exists (the test creates it once
every worker is ready: a barrier), then calls take_next_case TAKES times and prints one line
per take: the case id, or "none". With `reject`, each case taken is rejected before the next
take ("work the queue": decide, then Next case).
"""
from __future__ import annotations

import os
import sys
import time

WAIT_S = 300  # only a hung test waits this long for the start signal


def main(url: str, user: str, takes: str, ready_file: str, go_file: str,
         then: str = "") -> None:
    from core.cases.actions import reject_case
    from core.store.db import Database
    from core.store.models import Case
    from core.worklist.next_case import take_next_case
    db = Database(url)
    try:
        with db.read() as s:  # connected, and the schema is there
            s.connection()
        open(ready_file + ".part", "w").close()
        os.replace(ready_file + ".part", ready_file)
        deadline = time.monotonic() + WAIT_S
        while not os.path.exists(go_file):
            if time.monotonic() > deadline:
                print("timeout waiting for the start signal")
                return
            time.sleep(0.001)
        for _ in range(int(takes)):
            case_id = take_next_case(db, user)
            print(case_id or "none", flush=True)
            if case_id and then == "reject":
                with db.read() as s:
                    version = s.get(Case, case_id).version
                reject_case(db, case_id, actor=user, expected_version=version, reason="race")
    finally:
        db.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:7])
