"""Every default view x every list question at 1M cases: page 1 with its total, core against
hand-written SQL.

Issue #11's target: each default view x {no filter, a status, a search, assigned to me, a
created range, a tag, sort by each column} — page 1 of 50 with its total — within 50 ms on
SQLite and PostgreSQL, and never slower than 1.5x the best hand-written SQL for the same rows.
The hand SQL is the plain question on the same tables and indexes — the page over `cases`
(the entity's name, country and kind are on the case since migration 0011; a tag within a
view from `case_tags` alone, whose rows carry the view's columns since 0027 — `--old-tag-sql`
for the tag's cases through `case_tags` tested against the view on `cases`) and its total
as the list shows it: COUNT(*) up to COUNT_CAP rows, "10,000+" above. Core runs `list_cases` as the Cases page does (`count_cap=COUNT_CAP`; its counters
answer exactly where they can).

    python benchmarks/bench_list_matrix.py --sqlite /tmp/m.sqlite3           # seeds 1M if empty
    python benchmarks/bench_list_matrix.py --postgres URL --schema bench_m   # kept for reruns
    python benchmarks/bench_list_matrix.py --sqlite F --only "Hong Kong"     # a subset
    python benchmarks/bench_list_matrix.py --sqlite F --cpu    # CPU time (a loaded machine)
    python benchmarks/bench_list_matrix.py --sqlite F --more   # + a tag with a status

Each cell is the median of `--repeat` timed runs after one warm-up; the table is printed as
Markdown with the worst cases last. A seeded database is kept so a rerun measures at once
(the seeding itself takes about 90 s per million cases).
"""
from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import create_schema, median_ms  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from core.access.users import ensure_demo_users  # noqa: E402
from core.app_setup import prepare_database  # noqa: E402
from core.demo.generate import generate_cases  # noqa: E402
from core.store.db import Database  # noqa: E402
from core.store.models import Case  # noqa: E402
from core.store.statistics import planner_statistics  # noqa: E402
from core.worklist.query import COUNT_CAP, CaseFilter, list_cases  # noqa: E402
from core.worklist.search_clause import CASE_TERMS, view_terms  # noqa: E402
from core.worklist.views import list_views  # noqa: E402

ME = "reviewer"
WORD = "golden"
SORTS = (("created_at", True), ("created_at", False), ("due_at", False), ("updated_at", True),
         ("name", False), ("status", False), ("id", False))
HAND_ORDER = {"created_at": "c.created_at", "updated_at": "c.updated_at", "id": "c.id",
              "status": "c.case_status", "name": "c.entity_name", "due_at": "c.due_at"}
# the entity's name, country and kind as copied onto the case (migration 0011): the best hand
# SQL reads them there too, without a join
ROWS = ("c.id, c.entity_name, c.entity_kind, c.entity_country, c.workflow, c.case_status, "
        "c.assignee, c.created_at, c.updated_at, c.due_at")


def most_common_tag(db: Database) -> str:
    """A tag the demo data carries on a few percent of the cases (the third most common)."""
    with db.read() as s:
        found = s.execute(text("SELECT tag, count(*) AS n FROM case_tags GROUP BY tag "
                               "ORDER BY n DESC, tag")).all()
    return found[min(2, len(found) - 1)][0]


def hand_view(view, alias: str = "c") -> list[str]:
    """The view's conditions on `cases` (alias c) or on the tag rows (alias t, migration 0027:
    they carry the same columns)."""
    where = []
    if view.workflows:
        where.append(f"{alias}.workflow IN (" + ", ".join(f"'{w}'" for w in view.workflows)
                     + ")")
    for p in view.predicates:
        column = {"country": "entity_country", "entity_type": "entity_kind"}[p["field"]]
        where.append(f"{alias}.{column} = '{p['value']}'")
    return where


def hand_tag_sql(view, tag: str, *also: str) -> list[str]:
    """The best hand SQL for a tag within a view since migration 0027: the tag's rows carry
    the view's columns and the created time, so the total and the page's ids are index ranges
    of `case_tags`, and only the page's 50 rows are read from `cases`."""
    cond = " AND ".join([f"t.tag = '{tag}'", *hand_view(view, "t"), *also])
    return [f"SELECT count(*) FROM (SELECT 1 FROM case_tags t WHERE {cond} "
            f"LIMIT {COUNT_CAP + 1}) n",
            f"SELECT {ROWS} FROM case_tags t JOIN cases c ON c.id = t.case_id WHERE {cond} "
            "ORDER BY t.created_at DESC, t.case_id DESC LIMIT 50"]


def hand_filter(kind: str, dialect: str, tag: str, since, view=None) -> list[str]:
    if kind == "status":
        return ["c.case_status = 'manual_review'"]
    if kind == "me":
        return [f"c.assignee = '{ME}'"]
    if kind == "created":
        return [f"c.created_at >= '{since:%Y-%m-%d %H:%M:%S}'"]
    if kind == "tag":  # the tag index of migration 0011 (--old-tag-sql; else hand_tag_sql)
        return [f"c.id IN (SELECT case_id FROM case_tags WHERE tag = '{tag}')"]
    if kind == "search":  # the per-case full-text index of migration 0023
        if dialect == "sqlite":
            return [f"(c.id IN ('{WORD}', '{WORD.upper()}') OR c.rowid IN (SELECT rowid FROM "
                    f"case_entity_search WHERE case_entity_search MATCH '\"{WORD}\"*'))"]
        # the case's terms with its view's (migration 0029), as the list asks for them
        in_view = view_terms(CaseFilter(view=view)) if view is not None else None
        words = f"to_tsquery('simple', '{WORD}:*')"
        if in_view:
            words = f"({words} && '{in_view.replace(chr(39), chr(39) * 2)}'::tsquery)"
        return [f"(c.id IN ('{WORD}', '{WORD.upper()}') OR "
                f"{CASE_TERMS.format(t='c.')} @@ {words})"]
    return []


def hand_sql(where: list[str], sort: str, descending: bool, dialect: str) -> list[str]:
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    way = "DESC" if descending else "ASC"
    column = HAND_ORDER[sort]
    if sort == "due_at":  # no due time last ascending, as the list orders it
        nulls = " NULLS FIRST" if descending else " NULLS LAST"
        order = f"{column} {way}{nulls}, c.id {way}" if dialect == "postgresql" else \
            f"{column} IS {'NOT ' if descending else ''}NULL, {column} {way}, c.id {way}"
    else:
        order = f"{column} {way}, c.id {way}"
    # the total as the list shows it: exact up to COUNT_CAP, then "10,000+"
    return [f"SELECT count(*) FROM (SELECT 1 FROM cases c{cond} LIMIT {COUNT_CAP + 1}) t",
            f"SELECT {ROWS} FROM cases c{cond} ORDER BY {order} LIMIT 50"]


def scenarios(db: Database, args_old_tag_sql: bool = False, more: bool = False):
    """(view name, question, core call, hand statements) for the whole matrix.
    `args_old_tag_sql`: a tag's hand SQL as before migration 0027 (its cases through
    `case_tags`, then tested against the view on `cases`)."""
    tag = most_common_tag(db)
    with db.read() as s:
        newest = s.scalar(select(func.max(Case.created_at)))
    since = newest - timedelta(days=30)
    questions = [("no filter", {}), ("status manual review", {"statuses": ("manual_review",)}),
                 (f"search '{WORD}'", {"search": WORD}),
                 ("assigned to me", {"assignee": "me", "me": ME}),
                 ("created in the last 30 days", {"created_from": since.date()}),
                 (f"tag {tag}", {"tags": (tag,)})]
    kinds = ["none", "status", "search", "me", "created", "tag"]
    out = []
    for view in list_views(db)[:5]:
        for (label, kw), kind in zip(questions, kinds):
            flt = CaseFilter(view=view, **kw)
            where = hand_view(view) + hand_filter(kind, db.dialect, tag, since, view)
            hand = (hand_tag_sql(view, tag) if kind == "tag" and not args_old_tag_sql
                    else hand_sql(where, "created_at", True, db.dialect))
            out.append((view.name, label, (lambda f=flt: list_cases(db, f, count_cap=COUNT_CAP)),
                        hand))
        if more:  # outside the matrix: a tag with a status (migration 0029's index)
            flt = CaseFilter(view=view, tags=(tag,), statuses=("manual_review",))
            out.append((view.name, f"tag {tag} + status manual review",
                        (lambda f=flt: list_cases(db, f, count_cap=COUNT_CAP)),
                        hand_tag_sql(view, tag, "t.case_status = 'manual_review'")))
        for sort, descending in SORTS[1:]:
            flt = CaseFilter(view=view)
            label = f"sort {sort} {'desc' if descending else 'asc'}"
            out.append((view.name, label,
                        (lambda f=flt, so=sort, d=descending: list_cases(
                            db, f, sort=so, descending=d, count_cap=COUNT_CAP)),
                        hand_sql(hand_view(view), sort, descending, db.dialect)))
    return out



def median_cpu_ms(fn, repeat: int) -> float:
    """The median CPU milliseconds of this process over `repeat` calls after a warm-up: on
    SQLite (in-process) the whole query's work, whatever other load the machine carries;
    on PostgreSQL it leaves out the server's, so use wall time there."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.process_time()
        fn()
        times.append((time.process_time() - started) * 1000)
    return sorted(times)[len(times) // 2]


def run_hand(db: Database, statements: list[str]) -> None:
    raw = db.read_engine.raw_connection()
    try:
        cur = raw.cursor()
        for sql in statements:
            cur.execute(sql)
            cur.fetchall()
        cur.close()
    finally:
        raw.close()


def open_database(url: str, size: int) -> Database:
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(Case)) or 0
    if have < size:
        started = time.perf_counter()
        generate_cases(db, size - have, seed=size)
        print(f"  seeded {size - have:,} cases in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    planner_statistics(db)  # as the server does at start (SQLite; PostgreSQL's autovacuum)
    return db


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sqlite", metavar="FILE", help="a SQLite file (seeded when short of --size)")
    p.add_argument("--postgres", metavar="URL", help="a PostgreSQL server")
    p.add_argument("--schema", default="bench_matrix",
                   help="PostgreSQL schema to seed and keep (default bench_matrix)")
    p.add_argument("--size", type=int, default=1_000_000, help="cases (default 1,000,000)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per cell (median)")
    p.add_argument("--cpu", action="store_true",
                   help="SQLite: CPU time of this process instead of wall time (a loaded machine)")
    p.add_argument("--old-tag-sql", action="store_true",
                   help="a tag's hand SQL as before migration 0027 (through cases)")
    p.add_argument("--more", action="store_true",
                   help="also questions outside the matrix (a tag with a status)")
    p.add_argument("--only", action="append", default=[],
                   help="only rows whose view or question contains this (repeatable: any)")
    args = p.parse_args()
    if not args.sqlite and not args.postgres:
        p.error("give --sqlite FILE and/or --postgres URL")
    urls = []
    if args.sqlite:
        urls.append(f"sqlite:///{Path(args.sqlite).resolve()}")
    if args.postgres:
        urls.append(create_schema(args.postgres, args.schema))
    results = []
    for url in urls:
        db = open_database(url, args.size)
        for view, question, call, hand in scenarios(db, args.old_tag_sql, args.more):
            if args.only and not any(o.lower() in f"{view} {question}".lower()
                                     for o in args.only):
                continue
            timed = median_cpu_ms if args.cpu and db.dialect == "sqlite" else median_ms
            core_ms = timed(call, args.repeat)
            hand_ms = timed(lambda h=hand: run_hand(db, h), args.repeat)
            results.append((db.dialect, view, question, core_ms, hand_ms))
            print(f"  {db.dialect} {view} / {question}: {core_ms:.1f} ms (hand {hand_ms:.1f})",
                  file=sys.stderr)
        db.dispose()
    print("| database | view | question | core (ms) | hand SQL (ms) | ratio |")
    print("|---|---|---|---:|---:|---:|")
    for dialect, view, question, core_ms, hand_ms in results:
        print(f"| {dialect} | {view} | {question} | {core_ms:.1f} | {hand_ms:.1f} | "
              f"{core_ms / hand_ms:.2f} |")
    worst = max(results, key=lambda r: r[3])
    over = [r for r in results if r[3] > 50 or r[3] > 1.5 * r[4]]
    print(f"\n{len(results)} cells; slowest {worst[3]:.1f} ms ({worst[0]} {worst[1]} / {worst[2]}); "
          f"{len(over)} over 50 ms or 1.5x hand SQL", file=sys.stderr)


if __name__ == "__main__":
    main()
