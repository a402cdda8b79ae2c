"""Two reviewers (or two tabs) deciding the same case at once: exactly one wins, the other is
told "This case changed since you opened it", and nothing of the loser is written. From threads and processes.
Both sides read the same version and meet at a barrier before acting, so the race always
happens; no test sleeps hoping for it."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from core.cases import actions as ca
from core.errors import CaseChanged
from core.store.db import Database
from core.store.models import Decision, OutboxMessage
from tests.factories import make_case, status_of, version_of

ROUNDS = 8
ACTIONS = ("approve", "reject")
HANG_S = 120  # only a hung test gets near this


def _prepare(db, n):
    ids = []
    for i in range(n):
        case_id = make_case(db, f"R-{i}", assignee="reviewer", reviewed=True)
        ids.append(case_id)
    return ids


def _assert_one_winner(db, case_id, outcomes):
    won = [o for o in outcomes if o[1] == "won"]
    lost = [o for o in outcomes if o[1] != "won"]
    assert len(won) == 1, outcomes
    assert len(lost) == 1 and "This case changed since" in lost[0][1], outcomes
    expected = "approved" if won[0][0] == "approve" else "rejected"
    assert status_of(db, case_id) == expected
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Decision)
                        .where(Decision.case_id == case_id)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.case_id == case_id)) == 2


def test_two_threads_decide_the_same_case(db, database_url):
    for case_id in _prepare(db, ROUNDS):
        version = version_of(db, case_id)
        barrier = threading.Barrier(2)
        outcomes = []

        def run(action, own_db):
            barrier.wait()
            try:
                if action == "approve":
                    ca.approve_case(own_db, case_id, actor="reviewer", expected_version=version)
                else:
                    ca.reject_case(own_db, case_id, actor="reviewer", expected_version=version,
                                   reason="race")
                outcomes.append((action, "won"))
            except CaseChanged as e:
                outcomes.append((action, str(e)))

        dbs = [Database(database_url), Database(database_url)]
        threads = [threading.Thread(target=run, args=(a, d)) for a, d in zip(("approve", "reject"), dbs)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for d in dbs:
            d.dispose()
        _assert_one_winner(db, case_id, outcomes)


def _wait_ready(ready: Path, proc: subprocess.Popen) -> int:
    """The version a worker process read, once it has written it (the barrier's first half).
    The deadline only catches a hung test."""
    deadline = time.monotonic() + HANG_S
    while not ready.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited before the barrier: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"hung: {ready.name} not written within {HANG_S} s")
        time.sleep(0.01)
    return int(ready.read_text())


def test_two_processes_decide_the_same_case(db, database_url, tmp_path):
    """Both processes read the case version, wait at a barrier (ready files, then one go
    file), then act: the race is forced, and the test checks it happened."""
    root = Path(__file__).resolve().parent.parent
    for case_id in _prepare(db, 3):
        go = tmp_path / f"go-{case_id}"
        ready = {action: tmp_path / f"ready-{case_id}-{action}" for action in ACTIONS}
        procs = {action: subprocess.Popen(
            [sys.executable, "-m", "tests.concurrency_worker", database_url, case_id, action,
             str(ready[action]), str(go)], cwd=root, stdout=subprocess.PIPE, text=True)
            for action in ACTIONS}
        try:
            read = {action: _wait_ready(ready[action], proc) for action, proc in procs.items()}
            # the race really happens: both hold the same version, and neither has acted yet
            assert read["approve"] == read["reject"] == version_of(db, case_id), read
            go.touch()
            outcomes = []
            for action, proc in procs.items():
                out, _ = proc.communicate(timeout=HANG_S)
                assert proc.returncode == 0, out
                outcomes.append((action, out.strip().splitlines()[-1]))
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.kill()
        _assert_one_winner(db, case_id, outcomes)
        loser = next(o for o in outcomes if o[1] != "won")
        assert loser[1].startswith("CaseChanged: "), outcomes


def test_reassignment_racing_a_decision(db, database_url):
    """An admin reassigns while the assignee approves: one of them is told to reload."""
    case_id = make_case(db, "R-x", assignee="reviewer", reviewed=True)
    version = version_of(db, case_id)
    barrier = threading.Barrier(2)
    outcomes = {}

    def approve(own_db):
        barrier.wait()
        try:
            ca.approve_case(own_db, case_id, actor="reviewer", expected_version=version)
            outcomes["approve"] = "won"
        except CaseChanged:
            outcomes["approve"] = "reload"

    def reassign(own_db):
        barrier.wait()
        try:
            ca.assign_case(own_db, case_id, "reviewer2", actor="admin", expected_version=version)
            outcomes["assign"] = "won"
        except CaseChanged:
            outcomes["assign"] = "reload"

    dbs = [Database(database_url), Database(database_url)]
    threads = [threading.Thread(target=approve, args=(dbs[0],)),
               threading.Thread(target=reassign, args=(dbs[1],))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for d in dbs:
        d.dispose()
    assert sorted(outcomes.values()) == ["reload", "won"]
    assert version_of(db, case_id) == version + 1
