"""Realistic demo cases, bulk-inserted fast enough for a million-case benchmark: the entry points.

Why it exists: the demo mode needs a populated dashboard on first start
(`seed_demo_if_empty`), and the list, count and search queries need a big database to be
measured against (`generate_cases`, `python -m core demo --cases N`). This module runs a load;
the pieces live beside it: `case_templates` (states whose status is derived by the rules),
`world` (countries, names, word lists), `rows` (the row factory), `files` (the document files,
stored once in `file_blobs`) and `bulk_load` (the SQLite and PostgreSQL writers, batches,
the child process that builds rows).
"""
from __future__ import annotations

import logging
import time
from contextlib import closing
from typing import Callable, Sequence

from sqlalchemy import select

from core.access.users import ensure_demo_users
from core.cases.retention_state import end_relationships_of_rejected
from core.cases.risk import recompute_risk
from core.demo.bulk_load import _Writer, open_writer, row_batches
from core.demo.files import _files_by_type, demo_files, ring_file
from core.demo.rows import ID_TABLES, TABLE_ORDER
from core.demo.screening_demo import load_demo_lists, seed_demo_screening
from core.store.audit_chain import seal_connection
from core.store.db import Database
from core.store.models import Case, User, utcnow
from core.workflows.definitions import DEFAULT_WORKFLOWS, ensure_default_workflows
from core.workflows.sla import due_times
from core.worklist.views import ensure_default_views

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

DEMO_TAG = "demo"
DEMO_SEED = 20240601


def _next_case_number(w: _Writer) -> int:
    """1 + the highest number among existing ids shaped C-<digits>."""
    w.cur.execute("SELECT length(id), max(id) FROM cases WHERE id LIKE 'C-%' GROUP BY length(id)")
    best = 0
    for _, top in w.cur.fetchall():
        digits = top[2:]
        if digits.isdigit():
            best = max(best, int(digits))
        else:  # a non-numeric id sorts last among equal lengths: look at all of them
            w.cur.execute("SELECT id FROM cases WHERE id LIKE 'C-%' AND length(id) = "
                          + str(len(top)))
            best = max([best] + [int(i[2:]) for (i,) in w.cur.fetchall() if i[2:].isdigit()])
    return best + 1


def _assignable_users(db: Database) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(User.username).where(
            User.role.in_(("reviewer", "admin")), User.disabled.is_(False)).order_by(User.username)))


def generate_cases(db: Database, n_cases: int, *, seed: int = 0,
                   progress: Progress | None = None) -> int:
    """Insert `n_cases` realistic demo cases (with entities, UBOs, documents, processes and
    decisions) in one transaction; returns the number of cases inserted."""
    return _generate(db, n_cases, seed=seed, progress=progress)


def seed_demo_if_empty(db: Database, n_cases: int = 300) -> bool:
    """Demo mode's first start: workflows, demo users, default views, then `n_cases` cases
    tagged "demo" with audit timelines, a few of them with screening hits, and the two
    fictional lists of core/demo/lists loaded for the built-in screener. Does nothing
    (returns False) if any case exists."""
    with db.read() as s:
        if s.scalar(select(Case.id).limit(1)) is not None:
            return False
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    ensure_demo_users(db)
    with db.unit_of_work() as s:
        ensure_default_views(s)
    seeded = _generate(db, n_cases, seed=DEMO_SEED, extra_tags=(DEMO_TAG,), with_audit=True,
                       only_if_empty=True) > 0
    if seeded:
        seed_demo_screening(db)  # a few cases with screening hits to look at
        recompute_risk(db, only_missing=True)  # the bulk loader writes no risk score
        load_demo_lists(db)  # the built-in screener's fictional lists; the worker screens
    return seeded


def _slas(db: Database) -> dict:
    """(workflow, status) -> SLA of the workflows demo cases use, for their due times."""
    with db.read() as s:
        return due_times(s, list(DEFAULT_WORKFLOWS))


def _generate(db: Database, n_cases: int, *, seed: int = 0, progress: Progress | None = None,
              extra_tags: Sequence[str] = (), with_audit: bool = False,
              only_if_empty: bool = False) -> int:
    if n_cases <= 0:
        return 0
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
    reviewers = _assignable_users(db)
    slas = _slas(db)  # read before the writer locks the tables (a bulk load locks workflows)
    files = (*demo_files(), ring_file())  # ring_file: the demo rings' re-used file
    writer: _Writer = open_writer(db, n_cases)
    ok = False
    try:
        writer.lock()
        if only_if_empty and writer.scalar("SELECT id FROM cases LIMIT 1") is not None:
            return 0
        first_case = _next_case_number(writer)
        first_id = {t: (writer.scalar(f"SELECT max(id) FROM {t}") or 0) + 1 for t in ID_TABLES}
        writer.insert_blobs(files)
        writer.begin_load()
        params = {"seed": seed, "n_cases": n_cases, "first_case": first_case,
                  "first_id": first_id, "reviewers": reviewers, "extra_tags": list(extra_tags),
                  "with_audit": with_audit, "now": utcnow().isoformat(),
                  "files": _files_by_type(), "sla": slas,
                  "ring_file": (ring_file().filename, ring_file().sha256)}
        batches = row_batches(params)
        done = 0
        spent = dict.fromkeys(TABLE_ORDER, 0.0)
        clock = time.perf_counter
        with closing(batches):
            for size, batch in batches:
                for table in TABLE_ORDER:
                    t = clock()
                    writer.write(table, batch[table])
                    spent[table] += clock() - t
                done += size
                if progress:
                    progress(done, n_cases)
        log.debug("demo data: rows written in %s", {t: round(v, 1) for t, v in spent.items()})
        t = time.perf_counter()
        writer.end_load()
        log.debug("demo data: indexes and search rebuilt in %.1fs", time.perf_counter() - t)
        ok = True
    finally:
        t = time.perf_counter()
        try:
            writer.finish(ok)
        finally:
            writer.close()
        log.debug("demo data: commit in %.1fs", time.perf_counter() - t)
    if ok:
        with db.unit_of_work() as s:
            # rejected demo cases ended their relationship then: retention runs from it
            end_relationships_of_rejected(s.connection())
            if with_audit:  # the loader wrote audit rows without the ORM: chain them now
                seal_connection(s.connection())
    return n_cases
