"""Bulk loading: the trigger text the SQLite bulk path drops and recreates.

The bulk path itself (indexes, foreign keys and triggers restored; the child process that builds
rows) runs through `generate_cases` in tests/demo/test_generate.py and tests/test_case_counts.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.demo.bulk_load import SQLITE_FTS_TRIGGERS
from core.store.db import Database


def test_fts_triggers_constant_matches_the_migration(database_url):
    """SQLITE_FTS_TRIGGERS is a copy of migration 0001's triggers: compare with a fresh
    migrated database, not with the migration module."""
    db = Database(database_url)
    try:
        if not db.is_sqlite:
            pytest.skip("SQLite only: PostgreSQL uses a generated tsvector column")
        with db.read() as s:
            triggers = dict(s.execute(text(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                "AND name NOT LIKE 'case_counts_%'")).all())
        assert triggers == SQLITE_FTS_TRIGGERS
    finally:
        db.dispose()
