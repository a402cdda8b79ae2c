"""The Alembic migrations own the schema: they must build exactly what core.store.models describes,
and go down and up again cleanly."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect

from core.store.db import MIGRATIONS, Database, alembic_config
from core.store.models import Base

# A database made by `python -m core init` at commit 9159555, before the migrations moved from
# core/migrations/ to core/store/migrations/ (schema only, gzipped SQLite).
PRE_LAYOUT_DB = Path(__file__).resolve().parent / "fixtures" / "pre_layout_0003.sqlite.gz"
# The revision chain as it was before the move: ids must never change, or every existing
# database would be asked to migrate again.
REVISIONS_BEFORE_THE_MOVE = ["0001", "0002", "0003"]


def _diff(db: Database):
    with db.write_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, Base.metadata)
    # the full-text search objects live outside the ORM on purpose
    def search_object(d):
        text = repr(d)
        return "entity_search" in text or "search_vector" in text or "ix_entities_search" in text
    return [d for d in diffs if not search_object(d)]


def test_models_match_the_migrations(database_url):
    db = Database(database_url)
    assert _diff(db) == []
    db.dispose()


def test_downgrade_to_base_and_up_again(database_url):
    db = Database(database_url)
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
    assert _diff(db) == []
    db.upgrade_schema()  # idempotent on start
    db.dispose()


def test_revision_ids_survived_the_move():
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    chain = [r.revision for r in reversed(list(script.walk_revisions()))]
    assert chain[:3] == REVISIONS_BEFORE_THE_MOVE


def test_upgrading_a_database_made_before_the_move_runs_only_newer_revisions(tmp_path):
    path = tmp_path / "pre_layout.sqlite"
    path.write_bytes(gzip.decompress(PRE_LAYOUT_DB.read_bytes()))
    db = Database(f"sqlite:///{path}")
    writes: list[str] = []

    @event.listens_for(db.write_engine, "before_cursor_execute")
    def record(conn, cursor, statement, *args):
        if re.match(r"\s*(CREATE|ALTER|DROP|INSERT|UPDATE|DELETE)\b", statement, re.I):
            writes.append(statement)

    old_tables = set(inspect(db.write_engine).get_table_names())
    db.upgrade_schema()
    recreated = [w for w in writes
                 if re.match(r"\s*CREATE TABLE (\w+)", w) and
                 re.match(r"\s*CREATE TABLE (\w+)", w).group(1) in old_tables]
    assert recreated == []
    applied = {w.split("'")[1] for w in writes if "alembic_version" in w and "'" in w}
    assert applied and not applied & set(REVISIONS_BEFORE_THE_MOVE)
    with db.write_engine.connect() as conn:
        head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert _diff(db) == []
    db.dispose()


def test_0007_backfills_due_times_and_counters_from_status_changed_at(database_url):
    """Cases written before 0007 get due_at = status_changed_at + the default SLA of their
    workflow and status (none for other statuses), and the overdue counters count them."""
    from datetime import datetime, timedelta

    from sqlalchemy import text

    from core.worklist.overdue import count_overdue, real_overdue_count
    db = Database(database_url)
    entered = datetime(2026, 11, 2, 9, 30, 15, 123456)
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
        conn.execute(text("INSERT INTO workflows (name, title, definition) VALUES "
                          "('onboarding', 'Onboarding', '{}'), "
                          "('ongoing_monitoring', 'Ongoing monitoring', '{}'), "
                          "('kyb_eu', 'KYB EU', '{}')"))
        conn.execute(text("INSERT INTO entities (id, kind, name, email, phone, country, "
                          "registration_number) VALUES (1, 'business', 'Acme', '', '', 'HK', '')"))
        for case_id, workflow, status in (("C-1", "onboarding", "manual_review"),
                                          ("C-2", "ongoing_monitoring", "manual_review"),
                                          ("C-3", "kyb_eu", "manual_review"),
                                          ("C-4", "onboarding", "revisions"),
                                          ("C-5", "onboarding", "approved")):
            conn.execute(text(
                "INSERT INTO cases (id, workflow, entity_id, case_status, collection_completed, "
                "tags, user_data, registry_data, created_at, updated_at, status_changed_at, "
                "version) VALUES (:id, :wf, 1, :st, true, '[]', '{}', '{}', :at, :at, :at, 1)"),
                {"id": case_id, "wf": workflow, "st": status, "at": entered})
        command.upgrade(cfg, "head")
    with db.read() as s:
        due = dict(s.execute(text("SELECT id, due_at FROM cases")).all())
    hours = {"C-1": 24, "C-2": 72, "C-3": 24}
    for case_id in ("C-1", "C-2", "C-3", "C-4", "C-5"):
        expected = entered + timedelta(hours=hours[case_id]) if case_id in hours else None
        got = due[case_id]
        got = datetime.fromisoformat(got) if isinstance(got, str) else got
        assert got == expected, case_id
    assert count_overdue(db) == real_overdue_count(db) == 3
    assert _diff(db) == []
    db.dispose()


def test_0021_ends_the_relationship_of_cases_rejected_before_it(database_url):
    """A case rejected before 0021 ended its relationship at its newest rejection: retention
    runs five years from then; other cases get no end."""
    from datetime import datetime

    from sqlalchemy import text

    db = Database(database_url)
    first, last = datetime(2020, 2, 29, 9, 30, 15, 123456), datetime(2021, 3, 1, 8, 0, 0, 5)
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0020")
        conn.execute(text("INSERT INTO workflows (name, title, definition) VALUES "
                          "('onboarding', 'Onboarding', '{}')"))
        conn.execute(text("INSERT INTO entities (id, kind, name, email, phone, country, "
                          "registration_number) VALUES (1, 'business', 'Acme', '', '', 'HK', '')"))
        for case_id, status in (("C-1", "rejected"), ("C-2", "approved"), ("C-3", "rejected")):
            conn.execute(text(
                "INSERT INTO cases (id, workflow, entity_id, case_status, collection_completed, "
                "tags, user_data, registry_data, created_at, updated_at, status_changed_at, "
                "version) VALUES (:id, 'onboarding', 1, :st, true, '[]', '{}', '{}', :at, :at, "
                ":at, 1)"), {"id": case_id, "st": status, "at": first})
        for case_id, action, at in (("C-1", "reject", first), ("C-1", "reject", last),
                                    ("C-2", "approve", last), ("C-3", "reject", first)):
            conn.execute(text("INSERT INTO decisions (case_id, action, actor, at) "
                              "VALUES (:c, :a, 'reviewer', :at)"), {"c": case_id, "a": action,
                                                                    "at": at})
        command.upgrade(cfg, "head")
    with db.read() as s:
        rows = {r.id: r for r in s.execute(text(
            "SELECT id, relationship_ended_at, retention_until FROM cases"))}

    def day(value):
        return datetime.fromisoformat(value) if isinstance(value, str) else value
    assert (day(rows["C-1"].relationship_ended_at), day(rows["C-1"].retention_until)) == (
        last, datetime(2026, 3, 1, 8, 0, 0, 5))
    assert (day(rows["C-3"].relationship_ended_at), day(rows["C-3"].retention_until)) == (
        first, datetime(2025, 2, 28, 9, 30, 15, 123456))
    assert rows["C-2"].relationship_ended_at is None and rows["C-2"].retention_until is None
    assert _diff(db) == []
    db.dispose()


def test_0026_seals_case_values_and_its_downgrade_opens_them_again(database_url):
    """0026: a case event's clear before/after (a pre-chain float among them) end sealed under
    the case's key, the columns NULL, the chain intact; the downgrade puts them back."""
    import json

    from sqlalchemy import select, text

    from core.records.verify import verify_chain
    from core.store.audit_chain import seal_connection
    from core.store.audit_values import open_values
    from core.store.models import AuditEvent

    db = Database(database_url)
    values = {"C-1": {"score": 12.5, "email": "a@clear.example"}, "C-2": {"n": 7}}
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025")
        for case_id in ("C-1", "C-2", None, "C-1"):
            after = values.get(case_id, {"setting": "x"})
            conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind, before, after) "
                              "VALUES (:c, :at, 'reviewer', 'case.note', NULL, :after)"),
                         {"c": case_id, "at": "2025-01-02 10:00:00.000000",
                          "after": json.dumps(after)})
        seal_connection(conn, lock=False)  # chained as 0019 would (clear values, floats)
        command.upgrade(cfg, "head")
    with db.read_engine.connect() as conn:
        raw = conn.execute(text("SELECT case_id, before, after, sealed_values FROM audit_events "
                                "WHERE kind = 'case.note' ORDER BY id")).all()
    assert [(r.case_id, r.after is None, r.sealed_values is None) for r in raw] == [
        ("C-1", True, False), ("C-2", True, False), (None, False, True), ("C-1", True, False)]
    assert all(r.before is None for r in raw)
    with db.read() as s:
        rows = s.execute(select(AuditEvent.case_id, AuditEvent.kind, AuditEvent.before,
                                AuditEvent.after, AuditEvent.sealed_values)
                         .where(AuditEvent.kind == "case.note").order_by(AuditEvent.id)).all()
        assert [after for _, after in open_values(s, rows)] == [
            values["C-1"], values["C-2"], {"setting": "x"}, values["C-1"]]
    report = verify_chain(db)
    assert report.ok, [str(f) for f in report.findings]
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025")
        back = conn.execute(text("SELECT after FROM audit_events WHERE kind = 'case.note' "
                            "ORDER BY id")).all()
        assert [json.loads(a) if isinstance(a, str) else a for (a,) in back] == [
            values["C-1"], values["C-2"], {"setting": "x"}, values["C-1"]]
        command.upgrade(cfg, "head")
    with db.read() as s:
        first = s.scalars(select(AuditEvent).where(AuditEvent.kind == "case.note")
                          .order_by(AuditEvent.id)).first()
        assert first.after == values["C-1"]
    assert _diff(db) == []
    db.dispose()
