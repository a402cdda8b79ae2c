"""The export's batches stay index reads on SQLite at any size: the list's own order read from
the sort's index, and the restricted cases (core/cases/retention_state.hide_restricted) found
through their index even when the statistics say every row has the same erasure time — what
ANALYZE records while no erasure is pending, the usual case. Read from a table scan instead,
each batch of a 1M-case export cost about a second more (docs/PERFORMANCE.md, "Export
streamed")."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from core.store.db import Database
from core.worklist.export import export_query
from core.worklist.query import CaseFilter
from tests.factories import make_case


@pytest.fixture
def analysed(db, database_url):
    if not db.is_sqlite:
        pytest.skip("SQLite's planner; PostgreSQL counts NULLs in its statistics")
    for i in range(5):
        make_case(db, f"C-{i}")
    with db.write_engine.begin() as conn:  # the statistics of 1M cases, none restricted
        conn.execute(text("ANALYZE"))
        for table in ("cases", "entities"):
            conn.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = :t"), {"t": table})
            conn.execute(text("INSERT INTO sqlite_stat1 VALUES (:t, NULL, '1000000')"),
                         {"t": table})
            for (index,) in conn.execute(text(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                    {"t": table}).all():
                conn.execute(text("INSERT INTO sqlite_stat1 VALUES (:t, :i, :s)"),
                             {"t": table, "i": index,
                              "s": "1000000 1000000" if "erasure" in index else "1000000 1"})
    db.dispose()
    fresh = Database(database_url)  # a new connection reads the statistics
    yield fresh
    fresh.dispose()


@pytest.mark.parametrize("sort", ["created_at", "name", "risk"])
def test_a_batch_reads_indexes_not_the_whole_table(analysed, sort):
    stmt = export_query(CaseFilter(), "sqlite", sort=sort, descending=True).limit(2000)
    with analysed.read() as s:
        conn = s.connection()
        compiled = stmt.compile(conn)
        plan = [row[3] for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + str(compiled),
            tuple(compiled.params[name] for name in compiled.positiontup)).all()]
    assert "SEARCH restricted_case USING INDEX ix_cases_erasure_requested" in " ".join(plan)
    assert not any(step.startswith("SCAN cases") and "INDEX" not in step for step in plan)
    assert not any(step.startswith("SCAN restricted_case") for step in plan)
    assert not any("TEMP B-TREE" in step for step in plan), plan  # no sort: the index's order
