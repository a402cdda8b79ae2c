"""Migration 0022 on a database that has cases already: the counters are recounted with open
hits in their key, its triggers keep them, and going down brings back 0003's and 0007's
triggers and counts."""
from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import text

from core.store.db import alembic_config
from core.store.models import utcnow
from core.worklist.overdue import count_overdue, real_overdue_count
from core.worklist.query import CaseFilter, count_cases, counter_clauses, real_count

# (id, workflow, status, country, open hits, assignee, due in hours from now or None)
CASES = (("C-1", "onboarding", "manual_review", "HK", 2, None, -30),
         ("C-2", "onboarding", "manual_review", "HK", 0, "reviewer", -30),
         ("C-3", "onboarding", "manual_review", "SG", 1, "reviewer", 10),
         ("C-4", "ongoing_monitoring", "revisions", "HK", 0, None, None),
         ("C-5", "onboarding", "approved", "SG", 3, None, None))


def _sums(conn, table: str) -> dict[tuple, int]:
    """The counters' rows summed per (workflow, status, country, assigned)."""
    rows = conn.execute(text(f"SELECT workflow, case_status, country, assigned, sum(n) "
                             f"FROM {table} GROUP BY workflow, case_status, country, assigned "
                             "HAVING sum(n) <> 0")).all()
    return {(w, s, c, bool(a)): int(n) for w, s, c, a, n in rows}


def _from_cases(conn, where: str = "") -> dict[tuple, int]:
    rows = conn.execute(text(
        "SELECT c.workflow, c.case_status, e.country, c.assignee IS NOT NULL, count(*) "
        f"FROM cases c JOIN entities e ON e.id = c.entity_id {where} "
        "GROUP BY c.workflow, c.case_status, e.country, c.assignee IS NOT NULL")).all()
    return {(w, s, c, bool(a)): int(n) for w, s, c, a, n in rows}


def test_0022_recounts_an_existing_database_and_goes_down_again(db):
    """`db`: the default workflows and the demo users (assignees) are there already."""
    now = utcnow()
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0021")
        for i, (case_id, workflow, status, country, hits, assignee, due) in enumerate(CASES):
            conn.execute(text("INSERT INTO entities (id, kind, name, email, phone, country, "
                              "registration_number) VALUES (:id, 'business', :name, '', '', "
                              ":country, '')"),
                         {"id": i + 1, "name": f"Acme {i}", "country": country})
            conn.execute(text(
                "INSERT INTO cases (id, workflow, entity_id, case_status, collection_completed, "
                "tags, user_data, registry_data, created_at, updated_at, status_changed_at, "
                "version, open_hits, assignee, due_at) VALUES (:id, :wf, :entity, :st, true, "
                "'[]', '{}', '{}', :at, :at, :at, 1, :hits, :assignee, :due)"),
                {"id": case_id, "wf": workflow, "entity": i + 1, "st": status,
                 "at": datetime(2026, 11, 2, 9, 30), "hits": hits, "assignee": assignee,
                 "due": None if due is None else now + timedelta(hours=due)})
        command.upgrade(cfg, "0022")
        counted = conn.execute(text(
            "SELECT case_status, country, has_open_hits, sum(n) FROM case_counts "
            "GROUP BY case_status, country, has_open_hits HAVING sum(n) <> 0")).all()
        assert sorted((s, c, bool(h), int(n)) for s, c, h, n in counted) == [
            ("approved", "SG", True, 1), ("manual_review", "HK", False, 1),
            ("manual_review", "HK", True, 1), ("manual_review", "SG", True, 1),
            ("revisions", "HK", False, 1)]
        command.upgrade(cfg, "head")
    for hits, expected in (("open", {"C-1", "C-3", "C-5"}), ("none", {"C-2", "C-4"})):
        flt = CaseFilter(open_hits=hits)
        assert counter_clauses(flt) is not None
        assert count_cases(db, flt) == real_count(db, flt) == len(expected)
        # overdue: C-1 and C-2 30 h past due (the counters' past hours), C-3 not yet
        assert count_overdue(db, flt, now=now) == real_overdue_count(db, flt, now=now) == 1
    with db.unit_of_work() as s:  # the new triggers keep them: C-1's hits all decided
        s.execute(text("UPDATE cases SET open_hits = 0 WHERE id = 'C-1'"))
    assert count_cases(db, CaseFilter(open_hits="open")) == 2
    assert count_overdue(db, CaseFilter(open_hits="open"), now=now) == 0
    assert count_overdue(db, CaseFilter(open_hits="none"), now=now) == 2

    with db.write_engine.begin() as conn:  # down: 0003's and 0007's triggers and counts
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0021")
        assert _sums(conn, "case_counts") == _from_cases(conn)
        assert _sums(conn, "case_due_counts") == _from_cases(conn, "WHERE c.due_at IS NOT NULL")
        conn.execute(text("UPDATE cases SET case_status = 'approved', due_at = NULL "
                          "WHERE id = 'C-2'"))
        conn.execute(text("UPDATE entities SET country = 'FR' WHERE id = 4"))
        assert _sums(conn, "case_counts") == _from_cases(conn)
        assert _sums(conn, "case_due_counts") == _from_cases(conn, "WHERE c.due_at IS NOT NULL")
        command.upgrade(cfg, "head")
    for flt in (CaseFilter(open_hits="open"), CaseFilter(open_hits="none"), CaseFilter()):
        assert count_cases(db, flt) == real_count(db, flt)
        assert count_overdue(db, flt, now=now) == real_overdue_count(db, flt, now=now)
