"""Dispatcher throughput: webhook deliveries per second to a local receiver.

For each database (a temporary SQLite file; a throwaway schema on PostgreSQL) it queues N
signed webhooks for one endpoint, starts W worker processes (`python -m core worker --once`)
and times them until every delivery is delivered. The receiver on 127.0.0.1 (HTTP/1.1,
keep-alive) answers 200 at once, so the figure is Docket's own cost: claim, sign, send, record
the attempt, settle.

`--dead-endpoint`: a second endpoint gets every webhook too and never answers (it accepts
connections, then stays silent until the read timeout); the figure is the live endpoint's
rate beside it. `--latency`: one worker runs (`python -m core worker`, polling) while
decisions are queued at `--rate` per second for `--seconds`; prints the time from the
decision's commit to the receiver's arrival (p50, p90, max).

    python benchmarks/bench_dispatcher.py                       # SQLite and PostgreSQL, 1 and 2 workers
    python benchmarks/bench_dispatcher.py --databases sqlite --deliveries 2000
    python benchmarks/bench_dispatcher.py --deliveries 2000 --workers 1 --dead-endpoint
    python benchmarks/bench_dispatcher.py --latency --rate 50 --seconds 10
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from core.notifications import outbox  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Case, Delivery, Entity, utcnow  # noqa: E402
from core.workflows.definitions import ensure_default_workflows  # noqa: E402


class Receiver:
    def __init__(self):
        self.times: list[float] = []
        self.latencies: list[float] = []  # seconds from the decision's timestamp to arrival
        self.connections = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as most receivers

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()
                receiver.connections += 1

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                receiver.times.append(time.monotonic())
                try:
                    stamp = json.loads(body)["timestamp"].rstrip("Z")
                    sent = datetime.fromisoformat(stamp).replace(tzinfo=timezone.utc).timestamp()
                    receiver.latencies.append(now - sent)
                except (ValueError, KeyError):
                    pass
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class DeadEndpoint:
    """Accepts connections (the kernel's backlog) and never answers: each request waits for
    the read timeout."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"

    def close(self):
        self.sock.close()


def fresh_database(kind: str, pg_url: str) -> tuple[str, callable]:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.sqlite3"
        return f"sqlite:///{path}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"

    def drop():
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}", drop


def queue(db: Database, url: str, n: int, extra_urls: tuple[str, ...] = ()) -> None:
    from core.notifications.endpoints import create_endpoint
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    for u in (url, *extra_urls):
        create_endpoint(db, u, actor="system")
    with db.unit_of_work() as s:
        e = Entity(kind="business", name="Bench Ltd", email="", phone="", country="GB",
                   registration_number="1")
        s.add(e)
        s.flush()
        now = utcnow()
        s.add(Case(id="B-1", workflow="onboarding", entity_id=e.id, case_status="approved",
                   created_at=now, updated_at=now, status_changed_at=now, version=1))
    with db.unit_of_work() as s:
        case = s.get(Case, "B-1")
        for _ in range(n):
            outbox.enqueue(s, case=case, decision=None, action="approve", channels=["webhook"])


# `--chain-off`: the worker with the audit chain switched off in its own process (plain
# INSERTs, no seal), as benchmarks/bench_audit_intake.py does, to isolate the chain's cost
CHAIN_OFF = ("from core.store import audit; audit.append_many = lambda session, rows: False; "
             "audit.mark_pending = lambda *a, **k: None; import sys; from core.cli import main; "
             "sys.exit(main())")


def worker_command(chain_off: bool) -> list[str]:
    return [sys.executable, "-c", CHAIN_OFF] if chain_off else [sys.executable, "-m", "core"]


def run(kind: str, workers: int, n: int, concurrency: int, pg_url: str,
        dead: bool = False, chain_off: bool = False) -> dict:
    receiver = Receiver()
    silent = DeadEndpoint() if dead else None
    url, drop = fresh_database(kind, pg_url)
    try:
        db = Database(url)
        db.upgrade_schema()
        env = {**os.environ, "DOCKET_DATABASE_URL": url, "DOCKET_OUTBOUND_ALLOWLIST": "127.0.0.1/32",
               "DOCKET_EMBEDDED_WORKER": "off"}
        os.environ["DOCKET_OUTBOUND_ALLOWLIST"] = "127.0.0.1/32"
        queue(db, receiver.url, n, (silent.url,) if silent else ())
        started, cpu0 = time.monotonic(), os.times()
        procs = [subprocess.Popen(worker_command(chain_off) + [
                                   "worker", "--once", "--concurrency", str(concurrency)],
                                  cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(workers)]
        if dead:  # the live endpoint's deliveries are what is timed: stop once they are in
            while len(receiver.times) < n and any(p.poll() is None for p in procs):
                time.sleep(0.05)
            for p in procs:
                p.terminate()
        for p in procs:
            _, err = p.communicate()
            if p.returncode and not dead:
                raise SystemExit(f"worker failed: {err.decode()[-500:]}")
        wall, cpu1 = time.monotonic() - started, os.times()
        cpu = (cpu1.children_user + cpu1.children_system) - (cpu0.children_user + cpu0.children_system)
        with db.read() as s:
            delivered = s.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.state == "delivered"))
        db.dispose()
        delivered = min(delivered, len(receiver.times)) if dead else delivered
        window = (receiver.times[-1] - receiver.times[0]) if len(receiver.times) > 1 else wall
        return {"db": kind + (" +dead" if dead else "") + (" -chain" if chain_off else ""),
                "workers": workers,
                "threads": workers * concurrency, "delivered": delivered,
                "received": len(receiver.times), "wall_s": wall,
                "per_s": delivered / window if window else 0.0, "per_s_wall": delivered / wall,
                "connections": receiver.connections,
                "cpu_ms": 1000 * cpu / max(1, len(receiver.times)),
                "load": os.getloadavg()[0]}
    finally:
        receiver.server.shutdown()
        if silent:
            silent.close()
        drop()


def latency(kind: str, rate: float, seconds: float, concurrency: int, pg_url: str) -> dict:
    """Decision -> delivery: a polling worker, decisions queued at `rate` per second."""
    receiver = Receiver()
    url, drop = fresh_database(kind, pg_url)
    try:
        db = Database(url)
        db.upgrade_schema()
        env = {**os.environ, "DOCKET_DATABASE_URL": url, "DOCKET_OUTBOUND_ALLOWLIST": "127.0.0.1/32",
               "DOCKET_EMBEDDED_WORKER": "off"}
        os.environ["DOCKET_OUTBOUND_ALLOWLIST"] = "127.0.0.1/32"
        queue(db, receiver.url, 0)
        proc = subprocess.Popen([sys.executable, "-m", "core", "worker", "--concurrency",
                                 str(concurrency)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)  # the worker's start-up
        from core.store.models import Case
        total = int(rate * seconds)
        t0 = time.monotonic()
        for i in range(total):
            time.sleep(max(0.0, t0 + i / rate - time.monotonic()))
            with db.unit_of_work() as s:
                outbox.enqueue(s, case=s.get(Case, "B-1"), decision=None, action="approve",
                               channels=["webhook"])
        deadline = time.monotonic() + 30
        while len(receiver.latencies) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.terminate()
        proc.wait(30)
        db.dispose()
        lat = sorted(receiver.latencies)
        q = statistics.quantiles(lat, n=10) if len(lat) > 1 else [0.0] * 9
        return {"db": kind, "queued": total, "received": len(lat), "p50": statistics.median(lat),
                "p90": q[8], "max": lat[-1]}
    finally:
        receiver.server.shutdown()
        drop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deliveries", type=int, default=1000, help="webhooks queued per run (1000)")
    p.add_argument("--workers", default="1,2", help="worker process counts to try (1,2)")
    p.add_argument("--dead-endpoint", action="store_true",
                   help="a second endpoint that never answers gets every webhook too")
    p.add_argument("--latency", action="store_true",
                   help="decision -> delivery latency with a polling worker instead")
    p.add_argument("--rate", type=float, default=50.0, help="decisions per second (--latency)")
    p.add_argument("--seconds", type=float, default=10.0, help="how long (--latency)")
    p.add_argument("--concurrency", type=int, default=4, help="threads per worker (4)")
    p.add_argument("--databases", default="sqlite,postgresql", help="sqlite,postgresql")
    p.add_argument("--chain-off", action="store_true",
                   help="workers with the audit chain switched off in-process (its cost)")
    p.add_argument("--pg-url", default=os.environ.get(
        "DOCKET_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = p.parse_args()
    if args.latency:
        print(f"\n{'database':<11}{'queued':>8}{'received':>9}{'p50 s':>8}{'p90 s':>8}{'max s':>8}")
        for kind in args.databases.split(","):
            r = latency(kind.strip(), args.rate, args.seconds, args.concurrency, args.pg_url)
            print(f"{r['db']:<11}{r['queued']:>8}{r['received']:>9}{r['p50']:>8.3f}"
                  f"{r['p90']:>8.3f}{r['max']:>8.3f}")
        return
    rows = []
    for kind in args.databases.split(","):
        for w in (int(x) for x in args.workers.split(",")):
            rows.append(run(kind.strip(), w, args.deliveries, args.concurrency, args.pg_url,
                            args.dead_endpoint, args.chain_off))
            r = rows[-1]
            print(f"  {r['db']:<10} {r['workers']} worker(s): {r['per_s']:.0f}/s", file=sys.stderr)
    print(f"\n{'database':<17}{'workers':>8}{'threads':>8}{'delivered':>10}{'wall s':>8}"
          f"{'deliveries/s':>14}{'incl. start-up':>16}{'connections':>12}{'CPU ms':>8}"
          f"{'load':>6}")
    for r in rows:
        print(f"{r['db']:<17}{r['workers']:>8}{r['threads']:>8}{r['delivered']:>10}"
              f"{r['wall_s']:>8.1f}{r['per_s']:>14.0f}{r['per_s_wall']:>16.0f}"
              f"{r['connections']:>12}{r['cpu_ms']:>8.2f}{r['load']:>6.1f}")
    print("\ndeliveries/s: from the receiver's first to last request; incl. start-up: over the "
          "whole run, process start included; connections: TCP connections the live receiver "
          "accepted; CPU ms: the worker processes' CPU time (user + system, start-up included) "
          "per request received, which other work on the machine inflates much less than wall "
          "time; load: the 1-minute load average at the end of the run; +dead: the live "
          "endpoint's rate beside one that never answers.")


if __name__ == "__main__":
    main()
