"""The worker's settings (DOCKET_WORKER_*, DOCKET_HTTP_*, DOCKET_BREAKER_*): read from the
environment, checked at start (a bad value is a clear error naming the variable, not a crash
later), and the database work of a claim and of a result batch in few statements."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import event

from core.cases import actions as ca
from core.errors import InvalidInput
from core.notifications import endpoints as ep
from core.notifications import leases
from core.notifications.dispatcher import Dispatcher, DispatcherConfig
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, fast_config


def test_breaker_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("DOCKET_BREAKER_FAILURES", "3")
    monkeypatch.setenv("DOCKET_BREAKER_COOLDOWN_SECONDS", "90")
    cfg = DispatcherConfig.from_settings()
    assert (cfg.breaker_failures, cfg.breaker_cooldown) == (3, 90.0)
    monkeypatch.delenv("DOCKET_BREAKER_FAILURES")
    monkeypatch.delenv("DOCKET_BREAKER_COOLDOWN_SECONDS")
    cfg = DispatcherConfig.from_settings()
    assert (cfg.breaker_failures, cfg.breaker_cooldown) == (10, 30.0)


@pytest.mark.parametrize("env, value", [
    ("DOCKET_BREAKER_FAILURES", "0"), ("DOCKET_BREAKER_FAILURES", "ten"),
    ("DOCKET_BREAKER_FAILURES", "2.5"), ("DOCKET_BREAKER_COOLDOWN_SECONDS", "-1"),
    ("DOCKET_BREAKER_COOLDOWN_SECONDS", "nan"), ("DOCKET_BREAKER_COOLDOWN_SECONDS", ""),
    ("DOCKET_WORKER_CONCURRENCY", "0"), ("DOCKET_WORKER_LEASE_SECONDS", "soon"),
    ("DOCKET_HTTP_READ_TIMEOUT", "inf"),
])
def test_a_bad_worker_setting_is_refused_by_name(monkeypatch, env, value):
    monkeypatch.setenv(env, value)
    with pytest.raises(InvalidInput, match=env):
        DispatcherConfig.from_settings()


def test_the_worker_stops_at_start_on_a_bad_breaker_setting(database_url):
    run = subprocess.run([sys.executable, "-m", "core", "worker", "--once"], text=True,
                         capture_output=True, timeout=120,
                         env={**os.environ, "DOCKET_DATABASE_URL": database_url,
                              "DOCKET_BREAKER_COOLDOWN_SECONDS": "a while"})
    assert run.returncode != 0
    assert "DOCKET_BREAKER_COOLDOWN_SECONDS" in run.stderr and "Traceback" not in run.stderr


def _statements(db):
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_):
        seen.append(statement)
    engines = {db.read_engine, db.write_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    return seen, lambda: [event.remove(e, "before_cursor_execute", count) for e in engines]


def test_a_claim_and_a_result_batch_take_few_statements(db, monkeypatch):
    """PostgreSQL: a claim is one statement (the pick, the lease, the job data and the
    allow-list); a batch of results a fixed handful whatever its size (no wall clock here:
    round trips counted)."""
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")
    receiver = Receiver().start()
    try:
        ep.create_endpoint(db, receiver.url, actor="admin")
        for i in range(12):
            make_case(db, f"C-{i}", assignee="reviewer", reviewed=True)
            ca.approve_case(db, f"C-{i}", actor="reviewer",
                            expected_version=version_of(db, f"C-{i}"))
        dispatcher = Dispatcher(db, fast_config(batch_size=64))
        seen, stop = _statements(db)
        try:
            claimed = dispatcher.claim(64)
            claim_statements = len(seen)
            seen.clear()
            results = [dispatcher._send(c) for c in claimed]
            seen.clear()  # sending reads nothing for webhooks; skipped emails neither
            kinds = leases.record_batch(dispatcher._write_link, results, dispatcher._settings)
            record_statements = len(seen)
        finally:
            stop()
            dispatcher._claim_link.close()
            dispatcher._write_link.close()
            dispatcher.pools.close()
        assert len(claimed) == 24 and sorted(set(kinds.values())) == ["delivered", "skipped"]
        # SQLite: a look (BEGIN, SELECT), then BEGIN IMMEDIATE, the pick, the lease, the jobs
        assert claim_statements == (1 if not db.is_sqlite else 6), seen
        # deliveries read (and locked), endpoints, one UPDATE per shape, attempts, audit,
        # outbox settled (SQLite: and its BEGIN IMMEDIATE). SQLite chains the audit events as
        # it inserts them (core/store/audit_chain.py, append_many): the head taken and read,
        # the cases' keys and last events, the head moved — five statements in-process;
        # PostgreSQL seals at the commit in two pipelined round trips, not counted here
        assert record_statements <= (7 if not db.is_sqlite else 13), seen
        assert len(receiver.ok()) == 12
    finally:
        receiver.stop()
