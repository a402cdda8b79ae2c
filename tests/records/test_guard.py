"""PostgreSQL's guard on the audit log (core/store/audit_chain_guard.py): the app's role can
append and seal, but an UPDATE or DELETE of an audit row fails with the trigger's message, and
the role cannot switch the trigger off."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from core.records.verify import verify_chain
from core.store import audit
from core.store.audit_chain_guard import protect_audit_log, unprotect_audit_log
from core.store.db import Database
from core.store.models import AuditEvent

ROLE = "docket_app_test"


@pytest.fixture
def guarded(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the guard is PostgreSQL's (set DOCKET_TEST_DATABASE_URL)")
    db = Database(database_url)
    with db.write_engine.begin() as conn:
        conn.execute(text(f"DO $$ BEGIN CREATE ROLE {ROLE}; EXCEPTION WHEN duplicate_object "
                          "THEN NULL; END $$"))
        schema = conn.scalar(text("SELECT current_schema()"))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {ROLE}'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {ROLE}'))
        protect_audit_log(conn, app_role=ROLE)
    yield db
    with db.write_engine.begin() as conn:
        unprotect_audit_log(conn)  # the next test's fixture empties every table
        conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA "{schema}" FROM {ROLE}'))
        conn.execute(text(f'REVOKE ALL ON ALL SEQUENCES IN SCHEMA "{schema}" FROM {ROLE}'))
        conn.execute(text(f'REVOKE ALL ON SCHEMA "{schema}" FROM {ROLE}'))
    db.dispose()


def _as_app(db: Database):
    engine = create_engine(db.url)

    def connect():
        conn = engine.connect()
        conn.execute(text(f"SET ROLE {ROLE}"))
        return conn
    return engine, connect


def test_the_app_role_appends_and_seals_but_cannot_change_or_delete(guarded):
    engine, connect = _as_app(guarded)
    from sqlalchemy.orm import Session
    with connect() as conn:
        with Session(bind=conn) as s:
            audit.record(s, case_id="C-1", actor="reviewer", kind="case.note", after={"n": 1})
            audit.record(s, case_id=None, actor="admin", kind="user.created", after={"u": "x"})
            s.commit()
        conn.commit()
        seq = conn.scalar(select(AuditEvent.seq).where(AuditEvent.kind == "case.note"))
        assert seq is not None
        for statement, verb in (
                ("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s", "UPDATE"),
                ("UPDATE audit_events SET after = NULL WHERE seq = :s", "UPDATE"),
                ("DELETE FROM audit_events WHERE seq = :s", "DELETE"),
                ("UPDATE audit_chain_head SET seq = 0", "UPDATE")):
            # DELETE is not even granted; UPDATE is, narrowed by the trigger
            expected = "permission denied" if verb == "DELETE" else f"append-only: {verb}"
            with pytest.raises(DBAPIError, match=expected):
                conn.execute(text(statement), {"s": seq})
            conn.rollback()
        with pytest.raises(DBAPIError, match="must be owner|permission denied"):
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER docket_audit_guard"))
        conn.rollback()
        with pytest.raises(DBAPIError, match="append-only: TRUNCATE|permission denied"):
            conn.execute(text("TRUNCATE audit_events"))
        conn.rollback()
    engine.dispose()
    with guarded.write_engine.connect() as owner:  # the triggers bind the owner too
        for statement, verb in (("UPDATE audit_events SET kind = 'x' WHERE seq = :s", "UPDATE"),
                                ("DELETE FROM audit_events WHERE seq = :s", "DELETE")):
            with pytest.raises(DBAPIError, match=f"audit log is append-only: {verb}"):
                owner.execute(text(statement), {"s": seq})
            owner.rollback()
    assert verify_chain(guarded).ok


def test_erasure_may_clear_the_values_of_a_case_whose_key_is_destroyed(guarded):
    with guarded.unit_of_work() as s:
        audit.record(s, case_id="C-2", actor="reviewer", kind="case.note", after={"name": "Ann"})
    engine, connect = _as_app(guarded)
    with connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("UPDATE audit_events SET after = NULL WHERE case_id = 'C-2'"))
        conn.rollback()
        conn.execute(text("UPDATE audit_subject_keys SET key = NULL, destroyed_at = now() "
                          "WHERE case_id = 'C-2'"))
        conn.execute(text("UPDATE audit_events SET before = NULL, after = NULL "
                          "WHERE case_id = 'C-2'"))
        conn.commit()
    engine.dispose()
    assert verify_chain(guarded).ok  # cleared values are accepted once the key is gone


def test_sealed_values_cannot_be_changed_only_cleared_once_the_key_is_destroyed(guarded):
    with guarded.unit_of_work() as s:
        audit.record(s, case_id="C-3", actor="reviewer", kind="case.note", after={"name": "Bo"})
    change = "UPDATE audit_events SET sealed_values = '\\x01'::bytea WHERE case_id = 'C-3'"
    clear = ("UPDATE audit_events SET sealed_values = NULL, before = NULL, after = NULL "
             "WHERE case_id = 'C-3'")
    engine, connect = _as_app(guarded)
    with connect() as conn:
        for statement in (change, clear):  # the key still exists: neither
            with pytest.raises(DBAPIError, match="append-only: UPDATE"):
                conn.execute(text(statement))
            conn.rollback()
        conn.execute(text("UPDATE audit_subject_keys SET key = NULL, destroyed_at = now() "
                          "WHERE case_id = 'C-3'"))
        conn.commit()
        with pytest.raises(DBAPIError, match="append-only: UPDATE"):  # still no change
            conn.execute(text(change))
        conn.rollback()
        conn.execute(text(clear))  # the erasure's
        conn.commit()
    engine.dispose()
    with guarded.read_engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_events WHERE case_id = 'C-3' "
                                "AND sealed_values IS NOT NULL")) == 0
    assert verify_chain(guarded).ok


def test_migration_0026_rewrites_the_values_with_the_guard_installed(guarded):
    """The owner migrates with the guard's triggers in place: 0026's rewrite (both ways)
    switches the row trigger off inside its transaction and back on."""
    from alembic import command

    from core.store.db import alembic_config
    with guarded.unit_of_work() as s:
        audit.record(s, case_id="C-4", actor="reviewer", kind="case.note", after={"n": 4})
    with guarded.write_engine.begin() as conn:
        cfg = alembic_config(guarded)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025")
        assert conn.scalar(text("SELECT after::text FROM audit_events "
                                "WHERE case_id = 'C-4'")) == '{"n": 4}'
        command.upgrade(cfg, "head")
        row = conn.execute(text("SELECT after, sealed_values FROM audit_events "
                                "WHERE case_id = 'C-4'")).one()
        assert row.after is None and row.sealed_values is not None
        assert conn.scalar(text("SELECT tgenabled FROM pg_trigger t JOIN pg_class c ON "
                                "c.oid = t.tgrelid WHERE t.tgname = 'docket_audit_guard' AND "
                                "c.relnamespace = current_schema()::regnamespace")) == "O"
    with guarded.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.case_id == "C-4")).one().after == {
            "n": 4}
    assert verify_chain(guarded).ok
