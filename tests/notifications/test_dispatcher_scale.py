"""The dispatcher at scale (issue #11 item 2): batched claims, kept-alive connections under
the SSRF guard, per-target circuit breakers. Real receivers on loopback; no assertion on
speed (that is benchmarks/bench_dispatcher.py)."""
from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select, update

from core.cases import actions as ca
from core.notifications import breaker, safe_http
from core.notifications import endpoints as ep
from core.notifications.dispatcher import Dispatcher
from core.notifications.safe_http import ConnectionPools, UnsafeDestination, parse_allowlist
from core.store.db import Database
from core.store.models import Delivery, DeliveryAttempt, utcnow
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, drain, fast_config, free_port


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")  # emails skipped: these tests are about HTTP


def approve_many(db, n, prefix="C"):
    for i in range(n):
        make_case(db, f"{prefix}-{i}", assignee="reviewer", reviewed=True)
        ca.approve_case(db, f"{prefix}-{i}", actor="reviewer",
                        expected_version=version_of(db, f"{prefix}-{i}"))


def hook(db, url, receiver=None):
    created = ep.create_endpoint(db, url, actor="admin")
    if receiver is not None:
        receiver.secrets.append(created.secret)
    return created.endpoint.id


def deliveries_of(db, endpoint_id):
    with db.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.endpoint_id == endpoint_id)
                              .order_by(Delivery.id)))


class KeepAliveReceiver:
    """An HTTP/1.1 (keep-alive) receiver counting the TCP connections it accepts, with the
    local address each came in on."""

    def __init__(self, host="127.0.0.1"):
        self.connections: list[str] = []
        self.requests = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections.append(self.connection.getsockname()[0])

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# --- batched claims -----------------------------------------------------------------------

def test_concurrent_batch_claims_never_lease_one_delivery_twice(db):
    receiver = Receiver()  # never contacted: only claims here
    hook(db, receiver.url)
    approve_many(db, 30)
    dispatchers = [Dispatcher(Database(db.url), fast_config(batch_size=64)) for _ in range(3)]
    start = threading.Barrier(3)
    got: list[list] = [[], [], []]

    def grab(i):
        start.wait()
        for _ in range(3):
            got[i] += dispatchers[i].claim(25)

    threads = [threading.Thread(target=grab, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        ids = [c.job.delivery_id for batch in got for c in batch]
        assert len(ids) == len(set(ids)) == 60  # 30 webhooks + 30 (skipped) emails, once each
        with db.read() as s:
            leased = dict(s.execute(select(Delivery.id, Delivery.leased_by)).all())
        for batch in got:
            for c in batch:
                assert leased[c.job.delivery_id] == c.token  # the claimant holds the lease
                assert c.job.payload["type"] == "case.approved"
        assert all(d.claim(10) == [] for d in dispatchers)  # nothing left to claim
    finally:
        for d in dispatchers:
            d.db.dispose()


def test_a_batch_claim_gives_one_target_at_most_half_the_slots(db):
    a, b = Receiver(), Receiver()
    hook(db, a.url)
    hook(db, b.url)
    approve_many(db, 20)
    dispatcher = Dispatcher(db, fast_config(batch_size=8))
    claimed = dispatcher.claim(8)
    per_target: dict[str, int] = {}
    for c in claimed:
        per_target[c.job.target] = per_target.get(c.job.target, 0) + 1
    assert claimed and max(per_target.values()) <= 4, per_target


# --- kept-alive connections under the guard -----------------------------------------------

def test_deliveries_reuse_kept_alive_connections(db):
    receiver = KeepAliveReceiver()
    try:
        endpoint_id = hook(db, f"http://127.0.0.1:{receiver.port}/hook")
        approve_many(db, 40)
        drain(db, fast_config(concurrency=2))  # one thread for the endpoint at a time
        assert {d.state for d in deliveries_of(db, endpoint_id)} == {"delivered"}
        assert receiver.requests == 40
        assert len(receiver.connections) <= 2, receiver.connections  # not one per request
    finally:
        receiver.stop()


def test_a_dns_change_goes_through_the_guard_and_a_new_connection(monkeypatch):
    """The name is looked up and checked for every request: a kept-alive connection serves
    only the same checked address; a new address gets its own (checked) connection, and a
    refused one gets none."""
    receiver = KeepAliveReceiver(host="0.0.0.0")
    answers = ["127.0.0.1", "127.0.0.1", "127.0.0.2", "10.9.9.9", "127.0.0.1"]
    lookups = []
    real = socket.getaddrinfo

    def fake(host, port, *args, **kw):
        if host == "moving.test":
            ip = answers[len(lookups)]
            lookups.append(ip)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    pools = ConnectionPools()
    url = f"http://moving.test:{receiver.port}/hook"
    allow = parse_allowlist("127.0.0.0/8")
    try:
        def post():
            return safe_http.request("POST", url, body=b"{}", timeout=(5, 30), allowlist=allow,
                                     pools=pools)
        assert post().address == "127.0.0.1"
        assert post().address == "127.0.0.1"
        assert receiver.connections == ["127.0.0.1"]  # the second request reused it
        assert post().address == "127.0.0.2"  # the answer changed: a new, checked connection
        assert receiver.connections == ["127.0.0.1", "127.0.0.2"]
        with pytest.raises(UnsafeDestination, match="10.9.9.9"):
            post()  # refused although connections to the name are kept alive
        assert post().address == "127.0.0.1"
        assert receiver.connections == ["127.0.0.1", "127.0.0.2"] and receiver.requests == 4
        assert len(lookups) == 5  # one lookup per request
    finally:
        pools.close()
        receiver.stop()


# --- circuit breaker ----------------------------------------------------------------------

def test_breaker_opens_after_consecutive_failures_then_probes():
    b = breaker.Breakers(failures=3, cooldown=3600)
    t = "endpoint:1"
    assert b.record(t, "retry", 500) is None and b.record(t, "retry", None) is None
    assert b.record(t, "failed", 404) is None  # an answer below 500: the receiver is up
    assert [b.record(t, "retry", None) for _ in range(2)] == [None, None]
    assert b.record(t, "retry", 503) is not None  # the third in a row opens it
    assert b.allowed(t) == 0 and t in b.blocked()
    assert b.snapshot()[0].state == breaker.OPEN
    b._states[t].open_until = time.monotonic() - 1  # the cool-down is over
    assert b.allowed(t) == 1 and b.snapshot()[0].state == breaker.HALF_OPEN
    b.probe_started(t)
    assert b.allowed(t) == 0  # one probe at a time
    assert b.record(t, "retry", None) is not None  # the probe failed: open again
    assert b.allowed(t) == 0
    b._states[t].open_until = time.monotonic() - 1
    b.probe_started(t)
    assert b.record(t, "delivered", 200) is None
    assert b.allowed(t) is None and b.snapshot()[0].state == breaker.CLOSED


def test_a_dead_endpoint_does_not_stop_a_live_one_and_its_circuit_closes_again(db):
    dead_port = free_port()
    dead = Receiver(port=dead_port)  # not started: connections refused
    live = Receiver().start()
    try:
        dead_id = hook(db, dead.url, dead)
        live_id = hook(db, live.url, live)
        approve_many(db, 30)
        cfg = fast_config(concurrency=4, breaker_failures=3, breaker_cooldown=3600)
        dispatcher = drain(db, cfg, until=lambda: len(live.ok()) == 30)
        assert {d.state for d in deliveries_of(db, live_id)} == {"delivered"}
        assert len({r["id"] for r in live.ok()}) == 30 and all(r["verified"] for r in live.ok())
        circuit = breaker.circuits(db.url)[f"endpoint:{dead_id}"]
        assert circuit.state == breaker.OPEN and circuit.opened == 1
        waiting = deliveries_of(db, dead_id)
        assert {d.state for d in waiting} == {"pending"}
        # pushed to the end of the cool-down, without counting attempts for that
        later = utcnow() + timedelta(minutes=30)
        assert all(d.next_attempt_at > later for d in waiting)
        with db.read() as s:
            tried = s.scalars(select(DeliveryAttempt.delivery_id).join(
                Delivery, Delivery.id == DeliveryAttempt.delivery_id)
                .where(Delivery.endpoint_id == dead_id)).all()
        assert sum(d.attempts for d in waiting) == len(tried) < 30
        # the endpoint comes back; once the cool-down is over one probe closes the circuit
        dead.start()
        dispatcher.breakers._states[f"endpoint:{dead_id}"].open_until = time.monotonic() - 1
        with db.unit_of_work() as s:
            s.execute(update(Delivery).where(Delivery.endpoint_id == dead_id)
                      .values(next_attempt_at=utcnow()))
        while any(d.state == "pending" for d in deliveries_of(db, dead_id)):
            dispatcher.run_once()
        assert {d.state for d in deliveries_of(db, dead_id)} == {"delivered"}
        assert breaker.circuits(db.url)[f"endpoint:{dead_id}"].state == breaker.CLOSED
        assert len({r["id"] for r in dead.ok()}) == 30
    finally:
        dead.stop()
        live.stop()
