"""8 processes append 500 audit events each at once: the chain has every one of them, seq
1..N without a gap or a fork, and verifies. With the head's lock switched off (test-only),
the same run fails: unique violations or lock errors, or a broken chain."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from core.records.verify import verify_chain
from core.store.db import Database
from core.store.models import AuditEvent

WRITERS, EVENTS = 8, 500
ROOT = Path(__file__).resolve().parents[2]


def _run(database_url: str, tmp_path: Path, mode: str) -> list[tuple[int, int]]:
    go = tmp_path / f"go-{mode}"
    procs = [subprocess.Popen([sys.executable, "-m", "tests.records.chain_worker", database_url,
                               str(w), str(EVENTS), str(go), mode],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(WRITERS)]
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
        sealed, errors = out.split()
        results.append((int(sealed), int(errors)))
    return results


def test_eight_writers_make_one_chain_without_gap_or_fork(database_url, tmp_path):
    results = _run(database_url, tmp_path, "locked")
    assert results == [(EVENTS, 0)] * WRITERS
    db = Database(database_url)
    with db.read() as s:
        seqs = s.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        written = s.scalar(select(func.count()).where(AuditEvent.kind == "test.append"))
    assert written == WRITERS * EVENTS
    assert seqs == list(range(1, len(seqs) + 1))  # no gap, no duplicate, none unchained
    report = verify_chain(db)
    assert report.ok, report.findings[:5]
    assert report.checked == len(seqs) and report.head_seq == len(seqs)
    db.dispose()


def test_without_the_lock_the_same_run_breaks(database_url, tmp_path):
    results = _run(database_url, tmp_path, "unlocked")
    db = Database(database_url)
    report = verify_chain(db)
    db.dispose()
    errors = sum(e for _, e in results)
    assert errors > 0 or not report.ok, "the lock made no difference: the test cannot fail"
