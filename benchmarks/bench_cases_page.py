"""Benchmark: one full run of the Cases page (AppTest) at 1,000 and at 1,000,000 cases.

The page must not get slower with the number of cases: only one page of 50 rows is loaded,
counts come from indexed queries. Target: the 1M run within 2x of the 1k run.

For each size N: a temporary SQLite database is prepared (schema, default workflows and
views, demo users), N cases are generated with `core.demo.generate.generate_cases`, and the app
is run under Streamlit's AppTest signed in as `reviewer` (default view, first page). Timed,
each after one warm-up run that is not counted, median of --runs runs:

- page (cold): a full run with Streamlit's data caches cleared first (view and status counts
  recomputed), i.e. the worst case of a reviewer's click;
- page (warm): a full run with the counts still cached (their TTL is a few seconds), i.e. the
  common case while a reviewer clicks around;
- at the largest size also: page 2,000 (deep paging) and a search, both cold.

This is a plain script, not a test: `python benchmarks/bench_cases_page.py --help`.
Seeding 1,000,000 cases takes a couple of minutes; run it alone on the machine.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)  # AppTest's "no runtime" chatter


def _prepare(path: Path, n: int) -> tuple[str, float]:
    import core.access.users
    from core.access.users import ensure_demo_users
    from core.app_setup import prepare_database
    from core.demo.generate import generate_cases
    from core.store.db import Database

    core.access.users.BCRYPT_ROUNDS = 4
    url = f"sqlite:///{path}"
    db = Database(url)
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    started = time.perf_counter()
    inserted = generate_cases(db, n, seed=1)
    seconds = time.perf_counter() - started
    db.dispose()
    if inserted != n:
        raise SystemExit(f"generate_cases inserted {inserted} cases, not {n}")
    return url, seconds


def _search_word(url: str) -> str:
    """A word of a case's entity name, to search for (a realistic, selective search)."""
    from sqlalchemy import select

    from core.store.db import Database
    from core.store.models import Entity
    db = Database(url)
    with db.read() as s:
        name = s.scalar(select(Entity.name).order_by(Entity.id.desc()).limit(1))
    db.dispose()
    return max(name.split(), key=len)


def _timed(at, runs: int, *, cold: bool) -> list[float]:
    import streamlit as st
    times = []
    for i in range(runs + 1):  # the first run warms up and is not counted
        if cold:
            st.cache_data.clear()
        started = time.perf_counter()
        at.run()
        elapsed = time.perf_counter() - started
        if at.exception:
            raise SystemExit(f"the page failed: {at.exception[0].message}")
        if i:
            times.append(elapsed)
    return times


def _fmt(times: list[float]) -> str:
    return (f"median {statistics.median(times) * 1000:8.1f} ms "
            f"(min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f})")


def _profile_queries(url: str, runs: int, word: str) -> None:
    """The core queries one cold page run makes, each timed alone (median of `runs`)."""
    from core.store.db import Database
    from core.worklist.query import (
        CaseFilter,
        count_cases,
        counts_by_status,
        counts_by_view,
        list_cases,
    )
    from core.worklist.views import list_views

    db = Database(url)
    views = list_views(db)
    default = CaseFilter(view=views[0], me="reviewer")
    probes = {"counts_by_view (all views)": lambda: counts_by_view(db, views)}
    for v in views:
        probes[f"  count_cases view {v.name!r}"] = (lambda v=v: count_cases(db, CaseFilter(view=v)))
    probes.update({
        "counts_by_status (default view)": lambda: counts_by_status(db, default),
        "count_cases (default view)": lambda: count_cases(db, default),
        "list_cases page 1 (incl. count)": lambda: list_cases(db, default, page=1),
        "list_cases page 2,000 (incl. count)": lambda: list_cases(db, default, page=2000),
        f"list_cases search {word!r} (incl. count)":
            lambda: list_cases(db, CaseFilter(view=views[0], me="reviewer", search=word)),
        f"counts_by_status search {word!r}":
            lambda: counts_by_status(db, CaseFilter(view=views[0], me="reviewer", search=word)),
    })
    print("core queries, each alone:")
    for name, probe in probes.items():
        probe()
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            probe()
            times.append(time.perf_counter() - started)
        print(f"  {name:<48} {_fmt(times)}")
    db.dispose()


def bench_size(n: int, runs: int, tmp: Path, extras: bool) -> dict[str, float]:
    import pytest

    from tests.app.harness import new_app, sign_in, table, texts

    print(f"\n== {n:,} cases")
    url, seed_s = _prepare(tmp / f"bench-{n}.sqlite3", n)
    size_mb = (tmp / f"bench-{n}.sqlite3").stat().st_size / 1e6
    print(f"seeded in {seed_s:.1f} s (database {size_mb:,.0f} MB)")
    mp = pytest.MonkeyPatch()
    try:
        at = new_app(mp, url)
        at.default_timeout = 600
        sign_in(at, "reviewer")
        shown = len(table(at))
        total = next((t for t in texts(at) if " cases** · showing" in t), "?")
        print(f"signed in as reviewer; default view shows {shown} rows; {total}")
        results = {}
        results["cold"] = statistics.median(t := _timed(at, runs, cold=True))
        print(f"page (cold)      {_fmt(t)}")
        results["warm"] = statistics.median(t := _timed(at, runs, cold=False))
        print(f"page (warm)      {_fmt(t)}")
        if extras:
            at.number_input(key="page_no").set_value(2000)
            results["page2000"] = statistics.median(t := _timed(at, runs, cold=True))
            shown_page = next((x for x in texts(at) if x.startswith("Page ")), "?")
            print(f"page 2,000 (cold) {_fmt(t)}  [{shown_page}, {len(table(at))} rows]")
            at.number_input(key="page_no").set_value(1)
            at.run()
            word = _search_word(url)
            at.text_input(key="f_search").input(word)
            results["search"] = statistics.median(t := _timed(at, runs, cold=True))
            found = next((x for x in texts(at) if " cases** · showing" in x), "?")
            print(f"search {word!r} (cold) {_fmt(t)}  [{found}]")
            _profile_queries(url, runs, word)
    finally:
        mp.undo()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time one full Cases page run (Streamlit AppTest, signed-in reviewer, "
                    "default view, first page) at several case counts; prints the ratio of "
                    "the largest to the smallest (target: at most 2x).")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000],
                        help="case counts to benchmark (default: 1000 1000000)")
    parser.add_argument("--runs", type=int, default=5,
                        help="timed runs per measurement, after one warm-up (default: 5)")
    parser.add_argument("--tmp", type=Path, default=None,
                        help="folder for the temporary databases (default: a new temp dir, "
                             "deleted at the end)")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sizes = sorted(set(args.sizes))
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="docket-bench-") as tmp:
        results = {n: bench_size(n, args.runs, Path(tmp), extras=n == sizes[-1])
                   for n in sizes}
    small, large = results[sizes[0]], results[sizes[-1]]
    print("\n== summary (median of "
          f"{args.runs} runs, ms)")
    print(f"{'cases':>12} {'cold':>9} {'warm':>9}")
    for n in sizes:
        print(f"{n:>12,} {results[n]['cold'] * 1000:9.1f} {results[n]['warm'] * 1000:9.1f}")
    if len(sizes) > 1:
        for kind in ("cold", "warm"):
            ratio = large[kind] / small[kind]
            verdict = "OK" if ratio <= 2 else "OVER TARGET"
            print(f"ratio {sizes[-1]:,} / {sizes[0]:,} ({kind}): {ratio:.2f}x  [{verdict}, target <= 2x]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
