"""Dispatcher throughput: webhook deliveries per second to a local receiver.

For each database (a temporary SQLite file; a throwaway schema on PostgreSQL) it queues N
signed webhooks for one endpoint, starts W worker processes (`python -m core worker --once`)
and times them until every delivery is delivered. The receiver on 127.0.0.1 answers 200 at
once, so the figure is Docket's own cost: claim, sign, send, record the attempt, settle.

    python benchmarks/bench_dispatcher.py                       # SQLite and PostgreSQL, 1 and 4 workers
    python benchmarks/bench_dispatcher.py --databases sqlite --deliveries 2000
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
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
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.times.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


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


def queue(db: Database, url: str, n: int) -> None:
    from core.notifications.endpoints import create_endpoint
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    create_endpoint(db, url, actor="system")
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


def run(kind: str, workers: int, n: int, concurrency: int, pg_url: str) -> dict:
    receiver = Receiver()
    url, drop = fresh_database(kind, pg_url)
    try:
        db = Database(url)
        db.upgrade_schema()
        env = {**os.environ, "DOCKET_DATABASE_URL": url, "DOCKET_OUTBOUND_ALLOWLIST": "127.0.0.1/32",
               "DOCKET_EMBEDDED_WORKER": "off"}
        os.environ["DOCKET_OUTBOUND_ALLOWLIST"] = "127.0.0.1/32"
        queue(db, receiver.url, n)
        started = time.monotonic()
        procs = [subprocess.Popen([sys.executable, "-m", "core", "worker", "--once",
                                   "--concurrency", str(concurrency)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                 for _ in range(workers)]
        for p in procs:
            _, err = p.communicate()
            if p.returncode:
                raise SystemExit(f"worker failed: {err.decode()[-500:]}")
        wall = time.monotonic() - started
        with db.read() as s:
            delivered = s.scalar(select(func.count()).select_from(Delivery)
                                 .where(Delivery.state == "delivered"))
        db.dispose()
        window = (receiver.times[-1] - receiver.times[0]) if len(receiver.times) > 1 else wall
        return {"db": kind, "workers": workers, "threads": workers * concurrency,
                "delivered": delivered, "received": len(receiver.times), "wall_s": wall,
                "per_s": delivered / window if window else 0.0, "per_s_wall": delivered / wall}
    finally:
        receiver.server.shutdown()
        drop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deliveries", type=int, default=1000, help="webhooks queued per run (1000)")
    p.add_argument("--workers", default="1,4", help="worker process counts to try (1,4)")
    p.add_argument("--concurrency", type=int, default=4, help="threads per worker (4)")
    p.add_argument("--databases", default="sqlite,postgresql", help="sqlite,postgresql")
    p.add_argument("--pg-url", default=os.environ.get(
        "DOCKET_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = p.parse_args()
    rows = []
    for kind in args.databases.split(","):
        for w in (int(x) for x in args.workers.split(",")):
            rows.append(run(kind.strip(), w, args.deliveries, args.concurrency, args.pg_url))
            r = rows[-1]
            print(f"  {r['db']:<10} {r['workers']} worker(s): {r['per_s']:.0f}/s", file=sys.stderr)
    print(f"\n{'database':<11}{'workers':>8}{'threads':>8}{'delivered':>10}{'wall s':>8}"
          f"{'deliveries/s':>14}{'incl. start-up':>16}")
    for r in rows:
        print(f"{r['db']:<11}{r['workers']:>8}{r['threads']:>8}{r['delivered']:>10}"
              f"{r['wall_s']:>8.1f}{r['per_s']:>14.0f}{r['per_s_wall']:>16.0f}")
    print("\ndeliveries/s: from the receiver's first to last request; incl. start-up: over the "
          "whole run, process start included.")


if __name__ == "__main__":
    main()
