"""Bulk loading: the full-text index after the SQLite bulk path dropped its triggers and rebuilt
it, CJK names included (migration 0005).

The bulk path itself (indexes, foreign keys and triggers restored; the child process that builds
rows) runs through `generate_cases` in tests/demo/test_generate.py and tests/test_case_counts.py.
"""
from __future__ import annotations

import re

from sqlalchemy import text

from core.demo import bulk_load
from core.demo.generate import generate_cases
from core.store.db import Database
from core.worklist.query import CaseFilter, list_cases
from tests.factories import make_case


def _fts_triggers(db: Database) -> dict[str, str]:
    with db.read() as s:
        names = ", ".join(f"'{n}'" for n in bulk_load.SQLITE_FTS_TRIGGER_NAMES)
        return dict(s.execute(text(  # every full-text trigger there is (0001, 0005, 0023)
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            f"AND (name IN ({names}) OR sql LIKE '%entity_search%')")).all())


def _found(db: Database, search: str) -> list[str]:
    return [r.id for r in list_cases(db, CaseFilter(search=search), page_size=500).rows]


def test_a_bulk_load_keeps_cjk_names_findable(db, monkeypatch):
    """The bulk path drops the FTS triggers, rebuilds the index (SQLite: 'rebuild' through
    the content view, which computes the CJK terms; PostgreSQL: COPY fills the generated
    column) and puts the triggers back verbatim: a CJK name written before the load, one
    written by it and one written after are all found by a part of the name."""
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 1000)
    triggers = _fts_triggers(db) if db.is_sqlite else {}
    make_case(db, "CJK-BEFORE", name="北京中文贸易有限公司")
    generate_cases(db, 1200, seed=11)  # bulk: at least as many new entities as existing ones
    if db.is_sqlite:
        assert sorted(triggers) == sorted(bulk_load.SQLITE_FTS_TRIGGER_NAMES)
        assert _fts_triggers(db) == triggers
        with db.read() as s:  # the index agrees with its content, CJK terms included
            s.execute(text("INSERT INTO entity_search(entity_search, rank) "
                           "VALUES ('integrity-check', 1)"))
    make_case(db, "CJK-AFTER", name="東京エレクトロン株式会社")
    assert _found(db, "中文") == ["CJK-BEFORE"]
    assert _found(db, "エレクトロン") == ["CJK-AFTER"]
    with db.read() as s:  # the generated Latin names too: a word starting with "golden"
        rows = s.execute(text("SELECT c.id, e.name, e.email, e.registration_number "
                              "FROM cases c JOIN entities e ON e.id = c.entity_id")).all()
    golden = {case_id for case_id, *fields in rows
              if any(w.startswith("golden") for w in re.findall(r"[0-9a-z]+",
                                                                  " ".join(fields).lower()))}
    assert golden and set(_found(db, "golden")) == golden
