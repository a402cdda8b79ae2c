"""Every worker's circuit breakers on the Deliveries page: a separate `python -m core worker`
reports its open circuits through the database (core/notifications/circuit_board.py), on
SQLite and PostgreSQL; a stopped worker's rows go; stale reports are not shown."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from core.notifications import breaker, circuit_board
from core.store.circuit_models import DeliveryCircuit
from core.store.models import utcnow
from tests.notifications.test_delivery_faults import approve, hook, worker_env
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, free_port, wait_until
from tests.servers import ROOT, stop


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")


def rows(db):
    with db.read() as s:
        return s.execute(select(DeliveryCircuit)).scalars().all()


def test_breakers_report_what_opened_and_closed_once():
    b = breaker.Breakers(failures=2, cooldown=3600)
    b.record("endpoint:1", "retry", None)
    assert b.changed() == []  # one failure: nothing opened
    b.record("endpoint:1", "retry", 503)
    [opened] = b.changed()
    assert opened.target == "endpoint:1" and opened.state == breaker.OPEN
    assert b.changed() == []  # reported once
    b._states["endpoint:1"].open_until = time.monotonic() - 1
    b.probe_started("endpoint:1")
    b.record("endpoint:1", "delivered", 200)
    [closed] = b.changed()
    assert closed.state == breaker.CLOSED and closed.failures == 0


def test_publish_forget_and_the_worst_state_wins(db):
    now = utcnow()
    until = time.time() + 600
    with db.write_engine.begin() as conn:
        circuit_board.publish(conn, "w1", [breaker.Circuit("endpoint:7", breaker.OPEN, 12,
                                                           until, 1)])
        circuit_board.publish(conn, "w2", [breaker.Circuit("endpoint:7", breaker.OPEN, 30,
                                                           until, 2)])
    shown = circuit_board.shared_circuits(db)
    assert shown["endpoint:7"].worker_id == "w2" and shown["endpoint:7"].failures == 30
    assert "open until" in circuit_board.describe(shown["endpoint:7"])
    assert "worker w2" in circuit_board.describe(shown["endpoint:7"])
    with db.write_engine.begin() as conn:  # w2's circuit closed; w1 stops
        circuit_board.publish(conn, "w2", [breaker.Circuit("endpoint:7", breaker.CLOSED, 0,
                                                           None, 2)])
    assert [r.worker_id for r in rows(db)] == ["w1"]
    with db.write_engine.begin() as conn:
        circuit_board.forget(conn, "w1")
    assert rows(db) == [] and circuit_board.shared_circuits(db) == {}
    assert circuit_board.describe(None) == "closed"
    # a cool-down over: half-open while the worker still reports, then a stale row is ignored
    with db.write_engine.begin() as conn:
        conn.execute(insert(DeliveryCircuit.__table__), [
            {"target": "sms", "worker_id": "w3", "state": "open", "failures": 10,
             "open_until": now - timedelta(seconds=5), "opened": 1, "updated_at": now},
            {"target": "crm", "worker_id": "gone", "state": "open", "failures": 10,
             "open_until": now - timedelta(hours=2), "opened": 1,
             "updated_at": now - timedelta(hours=2)}])
    shown = circuit_board.shared_circuits(db)
    assert shown["sms"].state == breaker.HALF_OPEN and "crm" not in shown


def test_a_separate_workers_open_circuit_shows_and_goes_when_it_stops(db, database_url):
    dead = Receiver(port=free_port())  # never started: connections refused
    endpoint_id = hook(db, dead)
    for i in range(5):
        approve(db, f"C-{i}")
    proc = subprocess.Popen([sys.executable, "-m", "core", "worker", "--concurrency", "2"],
                            cwd=ROOT, env=worker_env(database_url, DOCKET_BREAKER_FAILURES="3",
                                                     DOCKET_BREAKER_COOLDOWN_SECONDS="3600"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        shown = wait_until("the worker's open circuit in the database",
                           lambda: circuit_board.circuits_to_show(db).get(f"endpoint:{endpoint_id}"))
        assert shown.state == breaker.OPEN and shown.failures >= 3
        assert shown.worker_id != "this app server"  # reported by the other process
        assert shown.open_until > utcnow() + timedelta(minutes=50)
    finally:
        stop(proc)
    assert proc.returncode == 0, proc.stderr.read().decode()[-800:]
    assert f"endpoint:{endpoint_id}" not in circuit_board.circuits_to_show(db)
    assert rows(db) == []
