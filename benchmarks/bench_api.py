"""API speed at 1M cases: batch and single intake, the case list, and 50 concurrent clients.

Runs the real server (`streamlit run streamlit_app.py`, via tests/servers.py) on a SQLite
database of N demo cases (`python -m core demo --cases N`, or an existing one given with
--db; ANALYZEd once if it has no planner statistics, as the server would at its start),
with the per-key rate limit off, and an API key made in-process for the demo admin. Every
figure is measured over HTTP on 127.0.0.1 with httpx, the client on the same machine. Beside
wall times it reports the server process's CPU time per request (/proc/PID/stat), which other
work on the machine does not inflate the way it inflates wall times.

0. Baseline: `GET /healthz` (no key, no database) on one kept-alive connection and on a new
   connection per request: what the server costs before Docket's code runs.
1. Batch intake: --batches requests `POST /api/v1/cases` of `{"cases": [...]}` with
   --batch-size cases each, interleaved with the same number of batches of the same size
   (other ids) imported in-process by `core.intake.importer.import_cases` from JSON bytes,
   which is what `python -m core import FILE` does. Cases/s of each and their ratio.
2. Single intake: --singles requests `POST /cases` of one case each, one after the other
   (p50, p99), without and with an `Idempotency-Key`.
3. The case list: `GET /cases` (page 1, 50 rows, with its total) for a few filters, against
   `core.worklist.query.list_cases` called in this process for the same filter; medians of
   --repeat runs after one warm-up, and their ratio.
4. Concurrency: --clients clients (asyncio, one connection each) for --duration seconds,
   each sending a mix of list pages (the filters of 3), case reads and single pushes
   without pause. Errors, requests/s, p50/p99, and the server process's RSS sampled every
   second (/proc/PID/status).

The intake cases have fresh ids per run (`BAPI-<run>-...`), so a database given with --db
grows by each run's cases. Plain script, not a test: `python benchmarks/bench_api.py --help`.

    python benchmarks/bench_api.py --db /tmp/docket-1m.sqlite3        # reuse (or build) it
    python benchmarks/bench_api.py --cases 10000 --batches 3 --singles 100 --duration 10
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from core.store.db import Database  # noqa: E402

USER = "admin"  # the demo admin: allowed to import, and an assignee of demo cases
FILTERS = {  # name -> (GET /cases query, CaseFilter keyword arguments)
    "no filter": ({}, {}),
    "status manual_review": ({"status": "manual_review"}, {"statuses": ("manual_review",)}),
    "search 'golden'": ({"search": "golden"}, {"search": "golden"}),
    "assignee me": ({"assignee": "me"}, {"assignee": "me", "me": USER}),
}
MIX = (("list", 60), ("read", 25), ("push", 15))  # the concurrent clients' requests, by weight


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def commit() -> str:
    """The commit measured, and whether the tree had uncommitted changes."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()
    head = git("log", "-1", "--format=%h") or "unknown"
    return head + (" with uncommitted changes" if git("status", "--porcelain") else "")


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, in the values' unit."""
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


# --- the database ---------------------------------------------------------------------------

def prepare(path: Path, n: int, analyze: bool) -> str:
    """A SQLite database of at least n cases at `path` (built if missing), with the demo users
    (made before the cases, so demo cases are assigned to them); ANALYZEd if it never was."""
    import core.access.users
    from core.access.users import ensure_demo_users
    from core.app_setup import prepare_database
    from core.store.models import Case

    core.access.users.BCRYPT_ROUNDS = 4  # the users never sign in here
    url = f"sqlite:///{path}"
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(Case))
    db.dispose()
    if have < n:
        print(f"seeding {n - have:,} cases: python -m core demo (load {loadavg()})", file=sys.stderr)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "core", "demo", "--cases", str(n - have),
                        "--seed", str(have)], cwd=ROOT, check=True,
                       env={**os.environ, "DOCKET_DATABASE_URL": url})
        print(f"  seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    db = Database(url)
    with db.write_engine.connect() as conn:
        analyzed = conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if analyze and analyzed.first() is None:
            # `core demo` leaves no planner statistics; without them SQLite sorts every case
            # of "assignee me" (bench_case_list.py also measures after ANALYZE)
            started = time.perf_counter()
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
            print(f"  ANALYZE in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    db.dispose()
    return url


def a_case(case_id: str, k: int) -> dict:
    """A case of the import format (docs/INTAKE.md) as an onboarding stack pushes it: a
    business with a pending process, two documents not uploaded yet, and a UBO."""
    return {"id": case_id, "workflow": "onboarding" if k % 4 else "ongoing_monitoring",
            "collection_completed": k % 3 != 0,
            "entity": {"type": "business", "name": f"Bench Trading {k} Ltd",
                       "country": ("GB", "HK", "DE", "SG")[k % 4],
                       "email": f"ops{k}@bench.example", "registration_number": f"BR-{k:08d}"},
            "risk_score": k % 101, "tags": ["bench"],
            "user_data": {"industry": "trading", "employees": k % 500, "website": "bench.example"},
            "processes": [{"name": "sanctions_screening", "state": "pending"}],
            "documents": [{"type": "certificate_of_incorporation"}, {"type": "proof_of_address"}],
            "ubos": [{"full_name": f"Owner {k}", "ownership_percent": 60,
                      "date_of_birth": "1980-04-02", "nationality": "GB",
                      "kyc": {"state": "sent"}}]}


class Ids:
    def __init__(self):
        self.run, self.n = uuid.uuid4().hex[:8].upper(), 0
        self.lock = threading.Lock()

    def cases(self, count: int, kind: str) -> list[dict]:
        with self.lock:
            first, self.n = self.n, self.n + count
        return [a_case(f"BAPI-{self.run}-{kind}-{k:07d}", k) for k in range(first, first + count)]


# --- the server -----------------------------------------------------------------------------

def server_pid() -> int:
    """The server: this process's child running streamlit."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"streamlit" in cmd:
            return int(stat.parent.name)
    raise SystemExit("the server process was not found")


class Server(threading.Thread):
    """The server process: its resident memory (MB), sampled once a second from
    /proc/PID/status, and the CPU time it has used (/proc/PID/stat), which unlike wall time
    does not grow when other work shares the cores."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.samples, self.stopped = pid, [], threading.Event()

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def run(self) -> None:
        while not self.stopped.is_set():
            self.samples.append((time.monotonic(), self.rss_mb()))
            self.stopped.wait(1.0)

    def between(self, start: float, end: float) -> list[float]:
        return [mb for t, mb in self.samples if start <= t <= end]


# --- the phases -----------------------------------------------------------------------------

def batch_intake(client: httpx.Client, server: Server, db: Database, ids: Ids, batches: int,
                 size: int) -> dict:
    from core.intake.importer import import_cases
    api_s = imp_s = api_cpu = imp_cpu = 0.0
    for _ in range(batches):  # interleaved, so both see the same machine and database size
        body = json.dumps({"cases": ids.cases(size, "B")}).encode()
        started, cpu = time.perf_counter(), server.cpu_s()
        r = client.post("/cases", content=body, headers={"Content-Type": "application/json"})
        api_s += time.perf_counter() - started
        api_cpu += server.cpu_s() - cpu
        if r.status_code != 200 or len(r.json()["created"]) != size:
            raise SystemExit(f"batch push failed: {r.status_code} {r.text[:500]}")
        data = json.dumps({"cases": ids.cases(size, "F")}).encode()
        started, cpu = time.perf_counter(), time.process_time()
        written = import_cases(db, data, actor=USER)
        imp_s += time.perf_counter() - started
        imp_cpu += time.process_time() - cpu
        if len(written) != size:
            raise SystemExit(f"import wrote {len(written)} cases, not {size}")
    n = batches * size
    return {"cases": n, "api_s": api_s, "import_s": imp_s, "api_rate": n / api_s,
            "import_rate": n / imp_s, "ratio": api_s / imp_s,
            "api_cpu_ms": api_cpu / n * 1000, "import_cpu_ms": imp_cpu / n * 1000}


def baseline(url: str, n: int) -> dict:
    """GET /healthz (no key, no database): the server's own cost per request, on one kept-alive
    connection and on a new connection each time."""
    kept, fresh = [], []
    with httpx.Client(base_url=url) as client:
        for i in range(n + 5):
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            kept.append((time.perf_counter() - started) * 1000)
    for i in range(n + 5):
        with httpx.Client(base_url=url) as client:
            started = time.perf_counter()
            client.get("/healthz").raise_for_status()
            fresh.append((time.perf_counter() - started) * 1000)
    kept, fresh = kept[5:], fresh[5:]
    return {"n": n, "kept_p50": pct(kept, 50), "kept_p99": pct(kept, 99),
            "fresh_p50": pct(fresh, 50), "fresh_p99": pct(fresh, 99)}


def single_intake(client: httpx.Client, server: Server, ids: Ids, n: int,
                  idempotent: bool) -> dict:
    times, cpu = [], server.cpu_s()
    for case in ids.cases(n, "S"):
        headers = {"Idempotency-Key": f"bench-{case['id']}"} if idempotent else {}
        started = time.perf_counter()
        r = client.post("/cases", json=case, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if r.status_code != 200 or r.json()["created"] != [case["id"]]:
            raise SystemExit(f"single push failed: {r.status_code} {r.text[:500]}")
    return {"n": n, "p50": pct(times, 50), "p99": pct(times, 99), "mean": statistics.mean(times),
            "max": max(times), "cpu_ms": (server.cpu_s() - cpu) / n * 1000}


def case_list(client: httpx.Client, server: Server, db: Database, repeat: int) -> list[dict]:
    from core.worklist.query import CaseFilter, list_cases
    rows = []
    for name, (query, kwargs) in FILTERS.items():
        api, core, api_cpu, core_cpu = [], [], 0.0, 0.0
        for i in range(repeat + 1):  # the first of each is a warm-up, not counted
            started, cpu = time.perf_counter(), server.cpu_s()
            r = client.get("/cases", params=query)
            elapsed = (time.perf_counter() - started) * 1000
            api_cpu += (server.cpu_s() - cpu) if i else 0.0
            if r.status_code != 200:
                raise SystemExit(f"GET /cases failed: {r.status_code} {r.text[:500]}")
            total = r.json()["total"]
            started, cpu = time.perf_counter(), time.process_time()
            page = list_cases(db, CaseFilter(**kwargs))
            core_ms = (time.perf_counter() - started) * 1000
            core_cpu += (time.process_time() - cpu) if i else 0.0
            if page.total != total or len(page.rows) != len(r.json()["cases"]):
                raise SystemExit(f"{name}: the API and the core disagree")
            if i:
                api.append(elapsed)
                core.append(core_ms)
        rows.append({"filter": name, "total": total, "api": statistics.median(api),
                     "api_p99": pct(api, 99), "core": statistics.median(core),
                     "ratio": statistics.median(api) / statistics.median(core),
                     "api_cpu": api_cpu / repeat * 1000, "core_cpu": core_cpu / repeat * 1000})
    return rows


async def _client(url: str, key: str, deadline: float, ids: Ids, case_ids: list[str],
                  seed: int, out: dict) -> None:
    rnd = random.Random(seed)
    kinds = [k for k, w in MIX for _ in range(w)]
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=120,
                                 headers={"Authorization": f"Bearer {key}"}) as c:
        while time.monotonic() < deadline:
            kind = rnd.choice(kinds)
            started = time.perf_counter()
            try:
                if kind == "list":
                    r = await c.get("/cases", params=rnd.choice(list(FILTERS.values()))[0])
                elif kind == "read":
                    r = await c.get(f"/cases/{rnd.choice(case_ids)}")
                else:
                    r = await c.post("/cases", json=ids.cases(1, "C")[0])
                ok = r.status_code == 200
                if not ok:
                    out["errors"].append(f"{kind}: {r.status_code} {r.text[:200]}")
            except httpx.HTTPError as e:
                ok = False
                out["errors"].append(f"{kind}: {type(e).__name__}: {e}")
            if ok:
                out[kind].append((time.perf_counter() - started) * 1000)


def concurrent(url: str, key: str, ids: Ids, case_ids: list[str], clients: int,
               duration: float, server: Server) -> dict:
    out: dict = {"errors": [], **{k: [] for k, _ in MIX}}

    async def main() -> None:
        deadline = time.monotonic() + duration
        await asyncio.gather(*(_client(url, key, deadline, ids, case_ids, i, out)
                               for i in range(clients)))

    load_before, started, cpu = loadavg(), time.monotonic(), server.cpu_s()
    asyncio.run(main())
    wall, cpu = time.monotonic() - started, server.cpu_s() - cpu
    memory = server.between(started - 1, time.monotonic() + 1) or [server.rss_mb()]
    every = [t for k, _ in MIX for t in out[k]]
    result = {"clients": clients, "wall_s": wall, "requests": len(every),
              "errors": len(out["errors"]), "first_errors": out["errors"][:5],
              "per_s": len(every) / wall, "p50": pct(every, 50), "p99": pct(every, 99),
              "rss_start": memory[0], "rss_end": memory[-1], "rss_max": max(memory),
              "rss_every_10s": memory[::10] + ([memory[-1]] if len(memory) % 10 != 1 else []),
              "samples": len(memory), "load_before": load_before, "load_after": loadavg(),
              "cpu_ms": cpu / max(1, len(every)) * 1000}
    for kind, _ in MIX:
        times = out[kind] or [0.0]
        result[kind] = {"n": len(out[kind]), "p50": pct(times, 50), "p99": pct(times, 99)}
    return result


# --- report ---------------------------------------------------------------------------------

def report(r: dict) -> None:
    b, h, c = r["batch"], r["baseline"], r["concurrent"]
    print(f"\n== API at {r['cases']:,} cases (SQLite), load average before / after: {r['load']}"
          f"; at {r['commit']}")
    print("   (server CPU: the server process's CPU time per request, from /proc)")
    print(f"\nGET /healthz, {h['n']} requests: one kept-alive connection p50 {h['kept_p50']:.1f} "
          f"ms, p99 {h['kept_p99']:.1f} ms; a new connection each p50 {h['fresh_p50']:.1f} ms, "
          f"p99 {h['fresh_p99']:.1f} ms")
    print(f"\nbatch intake, {b['cases']:,} cases in batches of {r['batch_size']:,}")
    print(f"  POST /cases          {b['api_rate']:8.0f} cases/s  ({b['api_s']:.1f} s; server CPU "
          f"{b['api_cpu_ms']:.2f} ms per case)")
    print(f"  import_cases (file)  {b['import_rate']:8.0f} cases/s  ({b['import_s']:.1f} s; CPU "
          f"{b['import_cpu_ms']:.2f} ms per case)")
    print(f"  API time / import time: {b['ratio']:.2f}  [targets: API >= 2,000 cases/s, "
          f"ratio <= 1.5]")
    for label, s in (("single POST /cases", r["single"]),
                     ("single POST /cases + Idempotency-Key", r["single_idem"])):
        print(f"\n{label}, {s['n']} requests: p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms, "
              f"mean {s['mean']:.1f} ms, max {s['max']:.1f} ms; server CPU {s['cpu_ms']:.1f} ms"
              f"  [targets: p50 <= 15, p99 <= 60]")
    print(f"\nGET /cases page 1 (50 rows + total) against list_cases in-process, median of "
          f"{r['repeat']} [target: ratio <= 1.5]")
    print(f"  {'filter':<22}{'total':>10}{'API ms':>9}{'API p99':>9}{'core ms':>9}{'ratio':>7}"
          f"{'API CPU':>9}{'core CPU':>9}")
    for row in r["list"]:
        print(f"  {row['filter']:<22}{row['total']:>10,}{row['api']:>9.1f}{row['api_p99']:>9.1f}"
              f"{row['core']:>9.1f}{row['ratio']:>7.2f}{row['api_cpu']:>9.1f}{row['core_cpu']:>9.1f}")
    print(f"\n{c['clients']} concurrent clients for {c['wall_s']:.0f} s (load before "
          f"{c['load_before']}, after {c['load_after']}): {c['requests']:,} requests, "
          f"{c['errors']} errors, {c['per_s']:.1f} requests/s, p50 {c['p50']:.0f} ms, "
          f"p99 {c['p99']:.0f} ms; server CPU {c['cpu_ms']:.1f} ms per request")
    for kind, _ in MIX:
        k = c[kind]
        print(f"  {kind:<5} {k['n']:>7,} requests  p50 {k['p50']:8.1f} ms  p99 {k['p99']:8.1f} ms")
    print(f"  server RSS: start {c['rss_start']:.0f} MB, end {c['rss_end']:.0f} MB, max "
          f"{c['rss_max']:.0f} MB ({c['samples']} samples, 1/s); every 10 s: "
          + " ".join(f"{mb:.0f}" for mb in c["rss_every_10s"]))
    for e in c["first_errors"]:
        print(f"  error: {e}")


def run(args, url: str, log_dir: Path) -> dict:
    from core.access import api_keys
    from core.store.models import Case
    from tests.servers import running_app

    db = Database(url)
    with db.read() as s:
        cases = s.scalar(select(func.count()).select_from(Case))
        sample = list(s.scalars(select(Case.id).order_by(func.random()).limit(2000)))
    key = api_keys.create_key(db, f"bench-{uuid.uuid4().hex[:8]}",
                              scopes="intake,events,read,act", acting_user=USER).secret
    ids = Ids()
    result: dict = {"cases": cases, "batch_size": args.batch_size, "repeat": args.repeat}
    load_before = loadavg()
    with running_app(url, log_dir, DOCKET_API_RATE_LIMIT="off") as url_:
        server = Server(server_pid())
        server.start()
        with httpx.Client(base_url=f"{url_}/api/v1", timeout=300,
                          headers={"Authorization": f"Bearer {key}"}) as client:
            for query, _ in FILTERS.values():  # warm-up: connections, statement caches
                client.get("/cases", params=query).raise_for_status()
            single_intake(client, server, ids, 5, False)
            result["baseline"] = baseline(url_, args.singles)
            print(f"batch intake (load {loadavg()})", file=sys.stderr)
            result["batch"] = batch_intake(client, server, db, ids, args.batches, args.batch_size)
            print(f"single intake (load {loadavg()})", file=sys.stderr)
            result["single"] = single_intake(client, server, ids, args.singles, False)
            result["single_idem"] = single_intake(client, server, ids, args.singles, True)
            print(f"case list (load {loadavg()})", file=sys.stderr)
            result["list"] = case_list(client, server, db, args.repeat)
        print(f"{args.clients} clients for {args.duration} s (load {loadavg()})", file=sys.stderr)
        result["concurrent"] = concurrent(url_, key, ids, sample, args.clients, args.duration,
                                          server)
        server.stopped.set()
    result["load"] = f"{load_before} / {loadavg()}"
    result["commit"] = commit()
    db.dispose()
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--cases", type=int, default=1_000_000,
                   help="cases in the database before the run (default 1000000; ~90 s to seed)")
    p.add_argument("--db", type=Path, default=None,
                   help="SQLite file to use and keep: seeded up to --cases if it has fewer "
                        "(default: a temporary file, deleted at the end)")
    p.add_argument("--batch-size", type=int, default=1000, help="cases per batch (1000)")
    p.add_argument("--batches", type=int, default=10,
                   help="batches pushed, and as many imported (10)")
    p.add_argument("--singles", type=int, default=500,
                   help="single-case pushes, without and with Idempotency-Key (500 each)")
    p.add_argument("--repeat", type=int, default=20, help="timed runs per list filter (20)")
    p.add_argument("--clients", type=int, default=50, help="concurrent clients (50)")
    p.add_argument("--duration", type=float, default=60, help="seconds of the concurrent run (60)")
    p.add_argument("--no-analyze", action="store_true",
                   help="do not ANALYZE a database that has no planner statistics here (the "
                        "server still does at its start: core.store.statistics.planner_statistics, from start_server)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="docket-bench-api-") as tmp:
        path = args.db or Path(tmp) / "bench.sqlite3"
        result = run(args, prepare(path, args.cases, not args.no_analyze), Path(tmp))
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
