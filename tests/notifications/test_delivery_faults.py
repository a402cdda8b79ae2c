"""Delivery under faults: receivers down, failing, gone, slow, rate-limiting; workers killed
mid-delivery; many decisions with random failures; concurrent workers. Backoff schedules are
tiny here (injected). No assertion depends on how fast the machine is: waits end on events or
progress (their deadline only stops a hung test), and the tests assert order and counts;
speed is measured in benchmarks/."""
from __future__ import annotations

import itertools
import os
import random
import signal
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.cases import actions as ca
from core.errors import InvalidInput
from core.notifications import deliveries as dl
from core.notifications import endpoints as ep
from core.notifications.dispatcher import Dispatcher
from core.store.models import (
    AuditEvent,
    Delivery,
    DeliveryAttempt,
    OutboxMessage,
    WebhookEndpoint,
    utcnow,
)
from tests.factories import make_case, version_of
from tests.receivers import (
    HANG_TIMEOUT,
    LOOPBACK_ALLOWLIST,
    Receiver,
    drain,
    fast_config,
    pending_count,
    wait_for_progress,
    wait_until,
)


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")  # emails skipped: these tests are about HTTP


def approve(db, case_id):
    make_case(db, case_id, assignee="reviewer", reviewed=True)
    ca.approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))


def webhook_deliveries(db):
    with db.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.channel == "webhook")
                              .order_by(Delivery.id)))


def hook(db, receiver):
    created = ep.create_endpoint(db, receiver.url, actor="admin")
    receiver.secrets.append(created.secret)
    return created.endpoint.id


def test_receiver_down_then_up(db):
    receiver = Receiver()  # not started: connection refused
    endpoint_id = hook(db, receiver)
    approve(db, "C-1")
    dispatcher = Dispatcher(db, fast_config(schedule=(0.05,) * 20))
    dispatcher.run_once()
    d = webhook_deliveries(db)[0]
    assert d.state == "pending" and d.attempts >= 1 and "connection" in d.last_error
    receiver.start()
    try:
        drain(db)
        got = receiver.ok()
        assert len(got) == 1 and got[0]["verified"]
        d = webhook_deliveries(db)[0]
        assert d.state == "delivered" and got[0]["id"] == d.message_id
        attempts = dl.delivery_attempts(db, d.id)
        assert [a.outcome for a in attempts][-1] == "delivered"
        assert all(a.outcome == "retry" and a.error for a in attempts[:-1])
        assert ep.get_endpoint(db, endpoint_id).failing_since is None  # cleared on success
    finally:
        receiver.stop()


def test_500_for_a_while_then_200(db):
    receiver = Receiver(behaviour=lambda rec: (500, {}, b"boom") if len(receiver.all()) < 3
                        else (200, {}, b"thanks")).start()
    try:
        hook(db, receiver)
        approve(db, "C-1")
        drain(db)
        recs = receiver.all()
        assert [r["status"] for r in recs] == [500, 500, 500, 200]
        assert len({r["id"] for r in recs}) == 1 and all(r["verified"] for r in recs)
        d = webhook_deliveries(db)[0]
        attempts = dl.delivery_attempts(db, d.id)
        assert [(a.status_code, a.outcome) for a in attempts] == [
            (500, "retry")] * 3 + [(200, "delivered")]
        assert attempts[0].response_excerpt == "boom" and attempts[0].next_attempt_at
        assert d.attempts == 4 and d.state == "delivered"
    finally:
        receiver.stop()


def test_410_disables_the_endpoint(db):
    receiver = Receiver(behaviour=lambda rec: (410, {}, b"gone")).start()
    try:
        endpoint_id = hook(db, receiver)
        approve(db, "C-1")
        drain(db, fast_config(concurrency=1))
        info = ep.get_endpoint(db, endpoint_id)
        assert not info.enabled and "410" in info.disabled_reason
        d = webhook_deliveries(db)[0]
        assert d.state == "failed" and d.attempts == 1 and len(receiver.all()) == 1
        approve(db, "C-2")  # a disabled endpoint gets nothing new
        assert [x.target for x in webhook_deliveries(db)][1] == "webhook"
        with db.read() as s:
            kinds = [e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == "C-1"))]
        assert "notification.failed" in kinds
        with pytest.raises(InvalidInput, match="disabled"):
            dl.replay_delivery(db, d.id, actor="admin")
        receiver.behaviour = lambda rec: (200, {}, b"back")
        ep.enable_endpoint(db, endpoint_id, actor="admin")
        assert dl.replay_failed(db, actor="admin", endpoint_id=endpoint_id) == 1
        drain(db)
        assert webhook_deliveries(db)[0].state == "delivered"
        assert len({r["id"] for r in receiver.all()}) == 1  # replay: same webhook-id
    finally:
        receiver.stop()


def test_retry_after_is_honoured(db):
    receiver = Receiver(behaviour=lambda rec: (503, {"Retry-After": "2"}, b"busy")
                        if len(receiver.all()) < 1 else (200, {}, b"ok")).start()
    try:
        hook(db, receiver)
        approve(db, "C-1")
        drain(db)
        attempts = dl.delivery_attempts(db, webhook_deliveries(db)[0].id)
        first, second = receiver.all()
        # a lower bound: a slow machine only adds
        assert second["at"] - first["at"] >= 1.9, [(a.outcome, a.status_code, a.error,
                                                     a.next_attempt_at, a.worker) for a in attempts]
        attempt = attempts[0]
        assert (attempt.next_attempt_at - attempt.started_at).total_seconds() >= 1.9
    finally:
        receiver.stop()


def test_a_stale_look_never_claims_a_delivery_that_was_just_retried(db):
    """Two threads may both see a delivery due; the first sends it, gets a Retry-After and
    puts it back as pending later. The second's claim must not take it now (it once did:
    the retry went out 16 ms after the 503 instead of 2 s)."""
    receiver = Receiver().start()
    try:
        hook(db, receiver)
        approve(db, "C-1")
        dispatcher = Dispatcher(db, fast_config())
        with db.unit_of_work() as s:  # what the first thread left: retried, due in a minute
            s.execute(update(Delivery).values(next_attempt_at=utcnow() + timedelta(minutes=1),
                                              attempts=1))
        stale = select(Delivery.id).where(Delivery.state == "pending")  # the second's old look
        dispatcher._due = lambda now, exclude: stale
        assert dispatcher.claim(4) == []
        assert receiver.all() == []
    finally:
        receiver.stop()


def test_gives_up_after_the_schedule_then_replay(db):
    receiver = Receiver(behaviour=lambda rec: (502, {}, b"bad gateway")).start()
    try:
        hook(db, receiver)
        approve(db, "C-1")
        drain(db, fast_config(schedule=(0.01, 0.01, 0.01)))
        d = webhook_deliveries(db)[0]
        assert d.state == "failed" and d.attempts == 4 and "gave up after 4" in d.last_error
        with db.read() as s:
            assert s.get(OutboxMessage, d.outbox_id).state == "failed"
            audit = s.scalars(select(AuditEvent).where(AuditEvent.kind == "notification.failed")).one()
            assert audit.case_id == "C-1" and audit.after["attempts"] == 4
        receiver.behaviour = lambda rec: (204, {}, b"")
        assert dl.replay_failed(db, actor="admin") == 1
        drain(db)
        assert webhook_deliveries(db)[0].state == "delivered"
    finally:
        receiver.stop()


def test_endpoint_failing_for_days_is_disabled_and_flagged(db):
    receiver = Receiver(behaviour=lambda rec: (500, {}, b"")).start()
    try:
        endpoint_id = hook(db, receiver)
        with db.unit_of_work() as s:
            s.execute(update(WebhookEndpoint).values(failing_since=utcnow() - timedelta(days=6)))
        approve(db, "C-1")
        drain(db, fast_config(concurrency=1, disable_after_days=5))
        info = ep.get_endpoint(db, endpoint_id)
        assert not info.enabled and "failing continuously since" in info.disabled_reason
        assert webhook_deliveries(db)[0].state == "failed"
        assert len(receiver.all()) == 1
    finally:
        receiver.stop()


def test_slow_receiver_does_not_delay_others(db):
    """The slow receiver releases no reply until every fast delivery has arrived (the test
    opens its gate then). A dispatcher that let it hold up the others would get no fast
    delivery through until the gate gave up (`hold_s`), and the order would show it."""
    release = threading.Event()
    hold_s = 60.0  # only a dispatcher stuck behind the slow receiver waits this long

    def slow_reply(rec):
        release.wait(hold_s)
        return 200, {}, b""

    slow = Receiver(behaviour=slow_reply).start()
    fast = Receiver().start()
    stop = threading.Event()
    # the dispatcher must not give up on the held requests (freeing its threads) nor let their
    # leases run out (sending them twice)
    dispatcher = Dispatcher(db, fast_config(concurrency=4, read_timeout=10 * hold_s,
                                            lease_seconds=10 * hold_s))
    t = threading.Thread(target=dispatcher.run_forever, args=(stop,), daemon=True)
    try:
        hook(db, slow)
        hook(db, fast)
        for i in range(6):
            approve(db, f"C-{i}")
        t.start()
        wait_until("all six fast deliveries", lambda: len(fast.ok()) == 6, timeout=4 * hold_s)
        assert slow.all() == [], "the slow receiver answered before every fast delivery arrived"
        # and the slow endpoint was being worked on meanwhile, not left alone
        wait_until("a request held by the slow receiver", slow.held)
        release.set()
        wait_until("every delivery settled", lambda: pending_count(db) == 0)
        stop.set()
        t.join(HANG_TIMEOUT)
        assert not t.is_alive()
        assert len(slow.ok()) == 6 and all(r["verified"] for r in slow.ok() + fast.ok())
        assert len({r["id"] for r in slow.ok()}) == 6 and len({r["id"] for r in fast.ok()}) == 6
        # in the receivers' shared order: every fast delivery arrived before the first slow reply
        first_slow_reply = min(r["replied_seq"] for r in slow.all())
        assert all(r["seq"] < first_slow_reply for r in fast.arrived())
    finally:
        release.set()
        stop.set()
        slow.stop()
        fast.stop()


def worker_env(database_url, **extra):
    env = {**os.environ, "DOCKET_DATABASE_URL": database_url,
           "DOCKET_OUTBOUND_ALLOWLIST": LOOPBACK_ALLOWLIST, "DOCKET_SMTP_HOST": "",
           "DOCKET_RETRY_SCHEDULE": "0.05,0.05,0.05,0.05", "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def test_worker_killed_mid_delivery_is_retried_after_its_lease(db, database_url):
    release = threading.Event()
    calls = itertools.count()

    def first_held(rec):  # the first request is held until the test lets it answer
        if next(calls) == 0:
            release.wait(HANG_TIMEOUT)
            return 200, {}, b"late"
        return 200, {}, b"ok"

    receiver = Receiver(behaviour=first_held).start()
    try:
        hook(db, receiver)
        approve(db, "C-1")
        # a long read timeout: the worker must still be waiting when it is killed, however
        # long the test takes to get there
        proc = subprocess.Popen(
            [sys.executable, "-m", "core", "worker", "--concurrency", "1"],
            env=worker_env(database_url, DOCKET_WORKER_LEASE_SECONDS="3",
                           DOCKET_HTTP_READ_TIMEOUT="600"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until("the worker sending the webhook", receiver.held)
            killed = webhook_deliveries(db)[0]
            assert killed.leased_by and killed.lease_until is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait(HANG_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
        drain(db, fast_config(concurrency=1),
              until=lambda: webhook_deliveries(db)[0].state == "delivered")
        d = webhook_deliveries(db)[0]
        assert d.state == "delivered" and d.leased_by is None
        with db.read() as s:
            attempts = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == d.id)).all()
        assert [a.outcome for a in attempts] == ["delivered"]  # the killed try left no row
        # retried once the killed worker's lease had run out, not before
        assert attempts[0].started_at >= killed.lease_until
        assert attempts[0].worker != killed.leased_by.rsplit(":", 1)[0]
        release.set()  # the held first request answers now
        wait_until("the held request answering", lambda: len(receiver.all()) == 2)
        assert [r["id"] for r in receiver.all()] == [d.message_id] * 2  # the same webhook-id
    finally:
        release.set()
        receiver.stop()


N_DECISIONS = int(os.environ.get("DOCKET_FAULT_DECISIONS", "1000"))


def test_many_decisions_with_a_flaky_receiver(db):
    rng = random.Random(7)
    lock = threading.Lock()

    def flaky(rec):
        with lock:
            fail = rng.random() < 0.3
        return (500, {}, b"flaky") if fail else (200, {}, b"ok")

    receiver = Receiver(behaviour=flaky).start()
    try:
        hook(db, receiver)
        for i in range(N_DECISIONS):
            make_case(db, f"C-{i}", assignee="reviewer", reviewed=True)
            ca.approve_case(db, f"C-{i}", actor="reviewer", expected_version=version_of(db, f"C-{i}"))
        from core.store.db import Database
        stop = threading.Event()
        workers = [Dispatcher(Database(db.url), fast_config(schedule=(0.01,) * 15, concurrency=4))
                   for _ in range(2)]
        threads = [threading.Thread(target=w.run_forever, args=(stop,), daemon=True) for w in workers]
        for t in threads:
            t.start()
        # however long it takes: fail only if the deliveries stop going out
        wait_for_progress("webhook deliveries", lambda: pending_count(db))
        stop.set()
        for t in threads:
            t.join(HANG_TIMEOUT)
        assert not any(t.is_alive() for t in threads)
        for w in workers:
            w.db.dispose()
        rows = webhook_deliveries(db)
        assert len(rows) == N_DECISIONS and {d.state for d in rows} == {"delivered"}
        expected = {d.message_id for d in rows}
        delivered_ids = [r["id"] for r in receiver.ok()]
        assert set(delivered_ids) == expected  # every one, and nothing unknown
        assert {r["id"] for r in receiver.all()} == expected
        assert all(r["verified"] for r in receiver.all())
        # a duplicate can only be a resend of the same webhook-id (none expected here)
        assert len(delivered_ids) == len(expected)
        with db.read() as s:
            n_attempts = len(s.scalars(select(DeliveryAttempt.id).join(
                Delivery, Delivery.id == DeliveryAttempt.delivery_id)
                .where(Delivery.channel == "webhook")).all())
        assert n_attempts == len(receiver.all()) > N_DECISIONS
    finally:
        receiver.stop()


def test_two_worker_processes_never_send_the_same_delivery_at_once(db, database_url):
    """Both worker processes hold claims at the same time: the receiver holds every request
    until it has seen one from each worker (who sent it is the delivery's `leased_by` while
    the request is in flight), so neither can finish the queue alone."""
    both = threading.Condition()
    senders: set[str] = set()

    def sender_of(message_id):
        with db.read() as s:
            token = s.scalar(select(Delivery.leased_by).where(Delivery.message_id == message_id,
                                                              Delivery.channel == "webhook"))
        return token.rsplit(":", 1)[0] if token else None  # worker id = host:pid:tag

    def barrier(rec):
        rec["worker"] = sender_of(rec["id"])
        with both:
            senders.add(rec["worker"])
            both.notify_all()
            both.wait_for(lambda: len(senders) >= 2, HANG_TIMEOUT)
        return 200, {}, b"ok"

    receiver = Receiver(behaviour=barrier).start()
    try:
        hook(db, receiver)
        n = 80
        for i in range(n):
            make_case(db, f"C-{i}", assignee="reviewer", reviewed=True)
            ca.approve_case(db, f"C-{i}", actor="reviewer", expected_version=version_of(db, f"C-{i}"))
        # leases and read timeouts far longer than the test: a held request is never re-claimed
        env = worker_env(database_url, DOCKET_WORKER_LEASE_SECONDS="600",
                         DOCKET_HTTP_READ_TIMEOUT="600")
        procs = [subprocess.Popen([sys.executable, "-m", "core", "worker", "--once",
                                   "--concurrency", "4"], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        try:
            outputs = [p.communicate(timeout=3 * HANG_TIMEOUT) for p in procs]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        assert all(p.returncode == 0 for p in procs), outputs
        made = [int(out.split()[0]) for out, _ in outputs]
        assert sum(made) == 2 * n and all(m > 0 for m in made), made  # webhook + skipped email each
        workers = {r["worker"] for r in receiver.all()}
        assert None not in workers and len(workers) == 2, workers
        assert {int(w.split(":")[-2]) for w in workers} == {p.pid for p in procs}
        assert max(receiver.max_inflight.values()) == 1
        ids = [r["id"] for r in receiver.all()]
        assert len(ids) == len(set(ids)) == n
        assert {d.state for d in webhook_deliveries(db)} == {"delivered"}
    finally:
        with both:  # on a failure, let any request still held go
            senders.update({"released-1", "released-2"})
            both.notify_all()
        receiver.stop()
