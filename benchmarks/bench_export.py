"""The Cases page's CSV export, streamed by the real server (docs/PERFORMANCE.md, "Export
streamed").

Seeds a database with N demo cases (core.demo.generate; kept with --db to run again), starts
the real server (`streamlit run streamlit_app.py`) on it, makes a download link through core
(`create_export_link`: every case, newest first) and downloads it with a streaming HTTP client
that counts the bytes and keeps none. Measured, median of --repeat downloads:

- the server process's memory growth: /proc/PID/status VmRSS sampled every 20 ms during each
  download, the peak minus the fresh server's (started, one /healthz answered), and minus
  the value just before that download (target: at most 100 MB at 1M cases);
- the download's wall time, against the same columns in the same order written by
  `sqlite3 -csv` (PostgreSQL: `psql -c "\\copy (...) TO STDOUT CSV"`) to /dev/null
  (target: at most 3x);
- the slowest /healthz answer while the download runs (the event loop is not blocked);
- CPU seconds: the server process's (/proc/PID/stat, user + system) during each download,
  and the reference tool's (its rusage; for psql the client only), steadier than wall time
  on a shared machine.

`--in-process` measures the export alone, without the server: CPU seconds to produce and
encode every chunk, for `export_cases` and for the frozen copy of the export as it was on
2026-12-05 (tests/worklist/export_oracle.py: cells in Python, `csv.writer` per row), and the
export gzipped as the route does it (api/downloads.py: ISA-L when installed) against zlib's
level 1.

With `--postgres URL --in-process` it measures the export alone on PostgreSQL, with the
backend's CPU counted (client + backend, /proc/PID/stat of every backend the run used, told
by `application_name`), against `COPY (…) TO STDOUT WITH CSV` of the same columns read
through psycopg (as `psql \\copy` runs it: the backend writes the CSV; without parallel
workers, whose CPU no backend's /proc counts, and as planned), and against the export as it
read until 2026-12-06 (a pool checkout per batch).
`--schema NAME` keeps the seeded PostgreSQL schema to run again (dropped otherwise).

Each download is timed twice: as a browser asks for it (`Accept-Encoding: gzip`, which the
server's gzip middleware honours) and uncompressed (`identity`, as curl or a script gets it).

    python benchmarks/bench_export.py                          # SQLite, 1M cases
    python benchmarks/bench_export.py --sizes 100000 --repeat 3
    python benchmarks/bench_export.py --db /tmp/export-1m.sqlite3   # seed once, keep the file
    python benchmarks/bench_export.py --postgres URL           # PostgreSQL (a throwaway schema)
    python benchmarks/bench_export.py --db /tmp/export-1m.sqlite3 --in-process
    python benchmarks/bench_export.py --sizes 200000 --postgres URL --schema bench_x --in-process
"""
from __future__ import annotations

import argparse
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from datetime import datetime
from pathlib import Path
from typing import Callable
from urllib.parse import quote, unquote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from common import refresh_statistics  # noqa: E402
from sqlalchemy import create_engine, func, select, text  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Case  # noqa: E402
from core.worklist.export_links import create_export_link, download_url  # noqa: E402
from core.worklist.query import CaseFilter  # noqa: E402
from tests.servers import free_port, wait_healthy  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024
# The export's 21 columns, in its order, read the way the export reads them (the status as
# stored, not its label; the ages as whole days; the tags as their JSON text).
SQLITE_SELECT = (
    "SELECT c.id, e.name, e.kind, e.country, c.workflow, c.case_status, c.assignee, "
    "c.created_at, c.updated_at, CAST(julianday('now') - julianday(c.created_at) AS INTEGER), "
    "c.decision, c.decided_by, c.decided_at, c.decision_reason, e.email, "
    "e.registration_number, c.tags, "
    "CAST(julianday('now') - julianday(c.status_changed_at) AS INTEGER), "
    "c.open_hits, c.risk_level, c.risk_points "
    "FROM cases c JOIN entities e ON e.id = c.entity_id ORDER BY c.created_at DESC, c.id DESC")
POSTGRES_SELECT = (
    "SELECT c.id, e.name, e.kind, e.country, c.workflow, c.case_status, c.assignee, "
    "c.created_at, c.updated_at, date_part('day', now() at time zone 'utc' - c.created_at), "
    "c.decision, c.decided_by, c.decided_at, c.decision_reason, e.email, "
    "e.registration_number, c.tags, "
    "date_part('day', now() at time zone 'utc' - c.status_changed_at), "
    "c.open_hits, c.risk_level, c.risk_points "
    "FROM cases c JOIN entities e ON e.id = c.entity_id ORDER BY c.created_at DESC, c.id DESC")


def grow(db: Database, want: int) -> int:
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(Case)) or 0
    if have < want:
        started = time.perf_counter()
        generate_cases(db, want - have, seed=want)
        print(f"  seeded {want - have:,} cases in {time.perf_counter() - started:.1f} s",
              flush=True)
        refresh_statistics(db)
    return max(have, want)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Server:
    """The real server on `url`'s database, on a free port, demo mode and the embedded worker
    off."""

    def __init__(self, db_url: str, log_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log = log_dir / "streamlit.log"
        env = {**os.environ, "DOCKET_DATABASE_URL": db_url, "DOCKET_DEMO_MODE": "off",
               "DOCKET_EMBEDDED_WORKER": "off", "PYTHONUNBUFFERED": "1",
               "DOCKET_COOKIE_KEY": secrets.token_urlsafe(48)[:64]}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                 "--server.headless", "true", "--server.port", str(self.port),
                 "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
                 "--server.fileWatcherType", "none"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        wait_healthy(self.url, self.proc, log)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def download(server: Server, db: Database, encoding: str) -> dict:
    """One download of every case: seconds, bytes received, RSS growth, slowest /healthz."""
    token = create_export_link(db, actor="analyst", flt=CaseFilter())
    pid, done = server.proc.pid, threading.Event()
    before = rss_bytes(pid)
    peak = [before]
    health: list[float] = []

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes(pid))
            time.sleep(0.02)

    def ping() -> None:
        with httpx.Client(timeout=60) as c:
            while not done.is_set():
                started = time.perf_counter()
                c.get(f"{server.url}/healthz")
                health.append(time.perf_counter() - started)
                time.sleep(0.2)

    threads = [threading.Thread(target=sample), threading.Thread(target=ping)]
    for t in threads:
        t.start()
    received = 0
    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    try:
        with httpx.Client(timeout=600) as c, c.stream(
                "GET", server.url + download_url(token),
                headers={"Accept-Encoding": encoding}) as r:
            r.raise_for_status()
            for part in r.iter_raw(64 * 1024):
                received += len(part)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
    finally:
        done.set()
        for t in threads:
            t.join()
    return {"seconds": seconds, "cpu": cpu, "bytes": received, "growth": peak[0] - before,
            "peak": peak[0], "healthz_max": max(health, default=0.0)}


def reference(db: Database) -> tuple[float, float]:
    """Seconds and CPU seconds for the database's own CSV writer to write the same columns to
    /dev/null."""
    env = dict(os.environ)
    if db.is_sqlite:
        cmd = ["sqlite3", "-csv", "-header", urlsplit(db.url).path.removeprefix("/"),
               SQLITE_SELECT]
    else:
        url, _, query = db.url.replace("postgresql+psycopg://", "postgresql://").partition("?")
        for part in query.split("&"):  # the throwaway schema's search_path
            if part.startswith("options="):
                env["PGOPTIONS"] = unquote(part.removeprefix("options="))
        cmd = ["psql", url, "-q", "-c", f"\\copy ({POSTGRES_SELECT}) TO STDOUT WITH CSV HEADER"]
    cpu = children_cpu()
    started = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        subprocess.run(cmd, stdout=sink, check=True, env=env)
    return time.perf_counter() - started, children_cpu() - cpu


def bench(db: Database, size: int, repeat: int, log_dir: Path) -> None:
    have = grow(db, size)
    print(f"{db.dialect}, {have:,} cases; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores", flush=True)
    reference(db)  # warm the page cache for both
    server = Server(db.url, log_dir)
    try:
        httpx.get(f"{server.url}/healthz")
        fresh = rss_bytes(server.proc.pid)  # growth is counted from the fresh server's memory
        results: dict[str, list[dict]] = {"identity": [], "gzip": []}
        refs = []
        for _ in range(repeat):
            refs.append(reference(db))
            for encoding in results:
                results[encoding].append(download(server, db, encoding))
    finally:
        server.stop()
    ref = statistics.median(r[0] for r in refs)
    ref_cpu = statistics.median(r[1] for r in refs)
    tool = "sqlite3 -csv" if db.is_sqlite else "psql \\copy"
    print(f"  {tool}: {ref:.2f} s, {ref_cpu:.2f} s CPU (median of {repeat}; each: "
          f"{', '.join(f'{r[0]:.1f}' for r in refs)} s); load average {os.getloadavg()[0]:.2f}")
    for encoding, runs in results.items():
        seconds = statistics.median(r["seconds"] for r in runs)
        cpu = statistics.median(r["cpu"] for r in runs)
        each = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        print(f"  download ({encoding}): each {each} s;"
              f" server CPU {cpu:.2f} s, {cpu / ref_cpu:.2f}x the reference's CPU")
        growth = max(r["peak"] - fresh for r in runs)
        print(f"  download ({encoding}): {seconds:.2f} s, {runs[0]['bytes'] / MB:.1f} MB "
              f"received, ratio {seconds / ref:.2f}x; server RSS {fresh / MB:.0f} MB fresh, "
              f"peak growth {growth / MB:.1f} MB (during the download itself at most "
              f"{max(r['growth'] for r in runs) / MB:.1f} MB); slowest /healthz during it "
              f"{max(r['healthz_max'] for r in runs) * 1000:.0f} ms", flush=True)


def in_process(db: Database, size: int) -> None:
    """The export alone (no server): CPU seconds to produce and encode every chunk, now and as
    it was (the frozen copy in tests/), and gzipped as the route does it against zlib level 1."""
    from core.worklist.export import export_cases
    from core.worklist.query import CaseFilter as Filter
    from tests.worklist import export_oracle

    have = grow(db, size)
    now = datetime(2026, 12, 6)
    runs = {
        "export_cases (cells column by column, DB-API tuples)":
            lambda: export_cases(db, Filter(), actor="analyst", now=now),
        "as it was (cells in Python, tests/worklist/export_oracle.py)":
            lambda: export_oracle._chunks(export_oracle._batches(
                db, Filter(), sort="created_at", descending=True, batch_size=2000), 0, None,
                now),
    }
    print(f"{db.dialect}, {have:,} cases, in process; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    print(f"  reference: {reference(db)[1]:.2f} s CPU", flush=True)
    for name, chunks in runs.items():
        cpu, started, size_out = time.process_time(), time.perf_counter(), 0
        for chunk in chunks():
            size_out += len(chunk.encode("utf-8"))
        print(f"  {name}: {time.process_time() - cpu:.2f} s CPU, "
              f"{time.perf_counter() - started:.2f} s, {size_out / MB:.1f} MB; load average "
              f"{os.getloadavg()[0]:.2f}", flush=True)
    from api.downloads import DEFLATE, GZIP_LEVEL, _gzipped
    deflates = ((f"the route's ({DEFLATE.__name__}, level {GZIP_LEVEL})", DEFLATE),
                ("zlib, level 1", zlib))
    for name, deflate in deflates:
        cpu, out = time.process_time(), 0
        for data in _gzipped(export_cases(db, Filter(), actor="analyst", now=now), deflate):
            out += len(data)
        print(f"  export + gzip, {name}: {time.process_time() - cpu:.2f} s CPU, "
              f"{out / MB:.1f} MB; load average {os.getloadavg()[0]:.2f}", flush=True)
    text = list(export_cases(db, Filter(), actor="analyst", now=now))  # the gzip alone
    for _ in range(3):
        for name, deflate in deflates:
            cpu, out = time.process_time(), 0
            for data in _gzipped(iter(text), deflate):
                out += len(data)
            print(f"  gzip alone (encode + compress the file's chunks), {name}: "
                  f"{time.process_time() - cpu:.2f} s CPU, {out / MB:.1f} MB", flush=True)


APP_NAME = "docket_bench_export"


def backend_cpu(db: Database) -> float:
    """CPU seconds so far of every PostgreSQL backend of this benchmark's connections (this
    machine's server: /proc/PID/stat)."""
    with db.write_engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %(name)s",
            {"name": APP_NAME}).scalars().all()
    return sum(cpu_seconds(pid) for pid in pids if Path(f"/proc/{pid}").exists())


def _per_batch_checkout(db: Database, now: datetime):
    """The export's chunks as it read them until 2026-12-06 on PostgreSQL: each batch on a
    connection checked out of the pool for it (`db.read()`), no read-ahead."""
    from core.worklist import export
    from core.worklist.query import CaseFilter as Filter
    from core.worklist.query import keyset_after

    base = export.export_query(Filter(), db.dialect, sort="created_at", descending=True)
    times = export.Times(now, datetime.fromisoformat)
    last = None
    while True:
        stmt = base if last is None else base.where(
            keyset_after(Case.created_at, last[0], last[1], True))
        with db.read() as s:
            result = s.connection().execute(stmt.limit(2000))
            rows = result.cursor.fetchall()
            result.close()
        if rows:
            last = (rows[-1][export.KEY_AT], rows[-1][export.ID_AT])
        yield export.lines(rows, times)
        if len(rows) < 2000:
            return


def pg_in_process(db: Database, size: int, repeat: int) -> None:
    """PostgreSQL, the export alone: client + backend CPU and wall time against COPY of the
    same columns (CSV written by the backend, read through psycopg), and against the export
    as it read until 2026-12-06, alternated `repeat` times. The reference runs twice: as the
    server plans it (two parallel workers sort it, whose CPU no /proc/PID/stat of the backend
    counts) and with `max_parallel_workers_per_gather = 0` (all its CPU in the backend)."""
    from core.worklist.export import export_cases
    from core.worklist.query import CaseFilter as Filter

    have = grow(db, size)
    now = datetime(2026, 12, 6)

    def copy_reference(workers: int) -> Callable[[], int]:
        def run() -> int:
            with db.read() as s:
                driver = s.connection().connection.driver_connection
                driver.execute(f"SET LOCAL max_parallel_workers_per_gather = {workers}")
                with driver.cursor() as cur, cur.copy(
                        f"COPY ({POSTGRES_SELECT}) TO STDOUT WITH CSV HEADER") as copy:
                    return sum(len(part) for part in copy)
        return run

    runs = {"COPY … WITH CSV, no parallel workers (reference)": copy_reference(0),
            "COPY … WITH CSV, parallel workers as planned (their CPU not counted)":
                copy_reference(2),
            "export now (one connection, next batch read ahead)":
                lambda: sum(len(c.encode("utf-8")) for c in export_cases(
                    db, Filter(), actor="analyst", now=now)),
            "export as it was (a pool checkout per batch)":
                lambda: sum(len(c.encode("utf-8")) for c in _per_batch_checkout(db, now))}
    for run in runs.values():  # warm the cache and open the pool's connections
        run()
    print(f"{db.dialect}, {have:,} cases, in process; load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    results: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            client, backend, started = time.process_time(), backend_cpu(db), \
                time.perf_counter()
            out = run()
            wall = time.perf_counter() - started
            results[name].append((time.process_time() - client, backend_cpu(db) - backend,
                                  wall))
            print(f"  {name}: client {results[name][-1][0]:.2f} s + backend "
                  f"{results[name][-1][1]:.2f} s CPU, {wall:.2f} s wall, {out / MB:.1f} MB; "
                  f"load average {os.getloadavg()[0]:.2f}", flush=True)
    ref = statistics.median(c + b for c, b, _ in results[next(iter(runs))])
    ref_wall = statistics.median(w for _, _, w in results[next(iter(runs))])
    for name, each in results.items():
        total = statistics.median(c + b for c, b, _ in each)
        wall = statistics.median(w for _, _, w in each)
        print(f"  median of {repeat}: {name}: {total:.2f} s CPU ({total / ref:.2f}x), "
              f"{wall:.2f} s wall ({wall / ref_wall:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000],
                        help="case counts to measure at (default: 1000000)")
    parser.add_argument("--repeat", type=int, default=1, help="downloads per size (median)")
    parser.add_argument("--db", type=Path, help="a SQLite file to seed (grown to each size) "
                        "and keep, to run again without seeding")
    parser.add_argument("--postgres", metavar="URL",
                        help="also on PostgreSQL (a throwaway schema), e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--in-process", action="store_true",
                        help="the export alone, without the server, now and as it was")
    parser.add_argument("--schema", help="PostgreSQL: seed this schema and keep it, to run "
                        "again without seeding (default: a throwaway schema)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "export.sqlite3"
        db = Database(f"sqlite:///{path.resolve()}")
        for size in sorted(args.sizes):
            if args.in_process and args.postgres and not args.db:
                break  # PostgreSQL's in-process run alone
            if args.in_process:
                in_process(db, size)
            else:
                bench(db, size, args.repeat, Path(tmp))
        db.dispose()
        if args.postgres:
            schema = args.schema or f"bench_export_{uuid.uuid4().hex[:8]}"
            admin = create_engine(args.postgres)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            sep = "&" if "?" in args.postgres else "?"
            pg = Database(f"{args.postgres}{sep}options={quote(f'-csearch_path={schema}')}"
                          f"&application_name={APP_NAME}")
            try:
                for size in sorted(args.sizes):
                    if args.in_process:
                        pg_in_process(pg, size, args.repeat)
                    else:
                        bench(pg, size, args.repeat, Path(tmp))
            finally:
                pg.dispose()
                if not args.schema:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
