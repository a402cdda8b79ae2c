"""The Deliveries page at scale (docs/PERFORMANCE.md, "Deliveries page").

Seeds a temporary database with N deliveries (90% delivered, 5% failed, 3% pending, 2%
skipped; webhooks to 5 endpoints, emails, SMS and CRM calls; 100,000 cases) and times, median
of --repeat runs, `delivery_page` (one page of 50 and the total, as the page asks for them)
for each filter the page offers, counting up to COUNT_CAP as the page does and exactly as
the API does, next to the same two statements written by hand in SQL (exact count);
and the counts per state the page shows at its top (`count_deliveries`).

    python benchmarks/bench_deliveries.py                        # SQLite, 1M
    python benchmarks/bench_deliveries.py --postgres URL         # also PostgreSQL
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import median_ms, refresh_statistics, throwaway_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from core.app_setup import prepare_database  # noqa: E402
from core.notifications.deliveries import (  # noqa: E402
    COUNT_CAP,
    count_deliveries,
    delivery_page,
)
from core.store.db import Database  # noqa: E402

ENDPOINTS = 5
CASES = 100_000

# state by id % 100: 0-4 failed, 5-7 pending, 8-9 skipped, else delivered
STATE_SQL = ("CASE WHEN n % 100 < 5 THEN 'failed' WHEN n % 100 < 8 THEN 'pending' "
             "WHEN n % 100 < 10 THEN 'skipped' ELSE 'delivered' END")
# channel by n % 10: 0-5 webhook (endpoint n % 5 + 1), 6-7 email, 8 sms, 9 crm
CHANNEL_SQL = ("CASE WHEN n % 10 < 6 THEN 'webhook' WHEN n % 10 < 8 THEN 'email' "
               "WHEN n % 10 = 8 THEN 'sms' ELSE 'crm' END")


def seed(db: Database, size: int) -> None:
    numbers = ("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq "
               f"WHERE n < {size}) SELECT n FROM seq" if db.is_sqlite
               else f"SELECT n FROM generate_series(1, {size}) AS n")
    now = "CURRENT_TIMESTAMP"
    with db.write_engine.begin() as conn:
        for i in range(1, ENDPOINTS + 1):
            conn.execute(text(
                "INSERT INTO webhook_endpoints (id, url, description, event_types, secrets, "
                "enabled, created_at, created_by) VALUES (:i, :url, '', '[]', '[]', true, "
                f"{now}, 'bench')"), {"i": i, "url": f"https://hooks{i}.example.com/docket"})
        conn.execute(text(
            "INSERT INTO outbox (id, message_id, case_id, channel, event_type, payload, state, "
            "attempts, next_attempt_at, created_at) "
            f"SELECT n, 'msg_' || n, 'C-' || (n % {CASES}), 'webhook', 'case.approved', "
            f"'{{}}', 'delivered', 1, {now}, {now} FROM ({numbers}) AS s"))
        conn.execute(text(
            "INSERT INTO deliveries (id, outbox_id, message_id, case_id, channel, event_type, "
            "target, endpoint_id, state, attempts, next_attempt_at, created_at, finished_at) "
            f"SELECT n, n, 'msg_' || n, 'C-' || (n % {CASES}), {CHANNEL_SQL}, 'case.approved', "
            f"CASE WHEN n % 10 < 6 THEN 'endpoint:' || (n % {ENDPOINTS} + 1) "
            f"ELSE {CHANNEL_SQL} END, "
            f"CASE WHEN n % 10 < 6 THEN n % {ENDPOINTS} + 1 END, {STATE_SQL}, 1, {now}, {now}, "
            f"{now} FROM ({numbers}) AS s"))
    refresh_statistics(db)



FILTERS = {  # name -> (delivery_page kwargs, hand-written WHERE)
    "no filter": ({}, "1 = 1"),
    "failed": ({"status": "failed"}, "state = 'failed'"),
    "delivered": ({"status": "delivered"}, "state = 'delivered'"),
    "endpoint 3": ({"endpoint_id": 3}, "endpoint_id = 3"),
    "endpoint 3, failed": ({"endpoint_id": 3, "status": "failed"},
                           "endpoint_id = 3 AND state = 'failed'"),
    "one case": ({"case_id": "C-4242"}, "case_id = 'C-4242'"),
    "sms": ({"channel": "sms"}, "channel = 'sms'"),
    "sms, failed": ({"channel": "sms", "status": "failed"}, "channel = 'sms' AND state = 'failed'"),
}


def hand(db: Database, where: str, page: int):
    def run():
        with db.read_engine.connect() as conn:
            conn.execute(text(
                "SELECT d.*, e.url FROM deliveries d LEFT JOIN webhook_endpoints e "
                f"ON e.id = d.endpoint_id WHERE {where} ORDER BY d.id DESC LIMIT 50 "
                f"OFFSET {(page - 1) * 50}")).all()
            conn.execute(text(f"SELECT count(*) FROM deliveries WHERE {where}")).scalar()
    return run


def measure(db: Database, size: int, repeat: int) -> list[tuple]:
    rows = []
    for name, (kwargs, where) in FILTERS.items():
        for page in (1, 100):
            ours = median_ms(lambda: delivery_page(db, actor="admin", page=page,
                                                   count_cap=COUNT_CAP, **kwargs), repeat)
            exact = median_ms(lambda: delivery_page(db, actor="admin", page=page, **kwargs),
                              repeat)
            theirs = median_ms(hand(db, where, page), repeat)
            rows.append((db.dialect, size, name, page, ours, exact, theirs))
            print(f"  {db.dialect:10} {size:>9,} {name:20} page {page:>3}  {ours:7.1f} ms  "
                  f"hand {theirs:7.1f} ms  x{ours / theirs:.2f}", file=sys.stderr)

    def hand_counts():
        with db.read_engine.connect() as conn:
            conn.execute(text("SELECT state, count(*) FROM deliveries GROUP BY state")).all()
    rows.append((db.dialect, size, "counts per state (page header)", "-",
                 median_ms(lambda: count_deliveries(db, cap=COUNT_CAP), repeat),
                 median_ms(lambda: count_deliveries(db), repeat), median_ms(hand_counts, repeat)))
    return rows


def bench(url: str, size: int, repeat: int) -> list[tuple]:
    db = Database(url)
    prepare_database(db, demo=True)  # the admin user
    started = time.perf_counter()
    seed(db, size)
    print(f"  seeded {size:,} deliveries in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    out = measure(db, size, repeat)
    db.dispose()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=15, help="timed runs per measure (median)")
    p.add_argument("--postgres", metavar="URL", help="also run on this PostgreSQL server")
    p.add_argument("--no-sqlite", action="store_true")
    args = p.parse_args()
    results = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            results += bench(f"sqlite:///{tmp}/bench.sqlite3", args.size, args.repeat)
    if args.postgres:
        with throwaway_schema(args.postgres) as url:
            results += bench(url, args.size, args.repeat)
    print("| database | deliveries | filter | page | the page (count to 10,000) ms "
          "| exact count (API) ms | hand-written SQL, exact ms | API / hand |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for dialect, size, name, page, ours, exact, theirs in results:
        print(f"| {dialect} | {size:,} | {name} | {page} | {ours:.1f} | {exact:.1f} | "
              f"{theirs:.1f} | {exact / theirs:.2f} |")


if __name__ == "__main__":
    main()
