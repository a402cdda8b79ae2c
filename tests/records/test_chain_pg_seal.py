"""PostgreSQL's seal at COMMIT (core/store/audit_chain_pg.py, migration 0024): the server's
trigger gives every event the same bytes and hash the client's seal would (`body_of`,
`event_hash`), the head's lock is first asked for by the COMMIT itself (no client round trip
while it is held), rows without a body are left to `seal_connection`, and the trigger comes
and goes with its migration without touching the rows already chained."""
from __future__ import annotations

import threading
import time

import pytest
from alembic import command
from sqlalchemy import create_engine, select, text, update

from core.records.verify import verify_chain
from core.store import audit
from core.store.audit_chain import seal_connection
from core.store.audit_chain_format import body_of, event_hash
from core.store.audit_chain_models import AuditChainHead, AuditSubjectKey
from core.store.base import utcnow
from core.store.db import Database, alembic_config
from core.store.models import AuditEvent

WAIT_S = 60  # only a hung test waits this long
NAME = "docket-test-committer"  # the committing session, as pg_stat_activity names it


@pytest.fixture
def pg(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("the server's seal is PostgreSQL's (set DOCKET_TEST_DATABASE_URL)")
    db = Database(database_url)
    yield db
    db.dispose()


def _rows(db):
    with db.read() as s:
        return s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()


def _client_bodies(db) -> list[str]:
    """The bodies the client's seal writes for the rows (audit_chain.py's `_chain`), with the
    cases' keys as they are now."""
    with db.read() as s:
        keys = {c: bytes.fromhex(k) if k else None
                for c, k in s.execute(select(AuditSubjectKey.case_id, AuditSubjectKey.key))}
    return [body_of(kind=r.kind, actor=r.actor, case_id=r.case_id, at=r.at, via=r.via,
                    case_prev_seq=r.case_prev_seq, before=r.before, after=r.after,
                    key=keys.get(r.case_id)) for r in _rows(db)]


def _links_hold(rows) -> str:
    prev = "0" * 64
    for row in rows:
        assert row.prev_hash == prev and row.hash == event_hash(row.seq, prev, row.body)
        prev = row.hash
    return prev


def test_the_servers_seal_writes_the_clients_bytes_and_hashes(pg):
    with pg.unit_of_work() as s:  # several events of one case in one transaction
        audit.record(s, case_id="C-1", actor="rëviewer", kind="case.note",
                     before={"name": "Zoë \"Q\" Ünal", "n": 1}, after={"name": "李小龍 😀"})
        audit.record(s, case_id=None, actor="admin", kind="user.created",
                     after={"user": "ann", "roles": ["a", "b"], "case_prev_seq": None})
        audit.record(s, case_id="C-1", actor="rëviewer", kind="case.note", after={"x": True})
    with pg.unit_of_work() as s, audit.through("api key crm"):
        audit.record_many(s, [{"case_id": c, "actor": "api", "kind": "case.imported",
                               "after": {"i": i}} for i, c in enumerate(["C-2", "C-1", "C-2"])])
    rows = _rows(pg)
    assert [r.seq for r in rows] == list(range(1, 7))
    assert [r.case_prev_seq for r in rows] == [None, None, 1, None, 3, 4]
    assert [r.body for r in rows] == _client_bodies(pg)
    assert "李小龍" not in rows[0].body and '"case_prev_seq":null' in rows[1].body
    _links_hold(rows)
    with pg.unit_of_work() as s:  # an erased case: its later events' values in clear
        s.execute(update(AuditSubjectKey).where(AuditSubjectKey.case_id == "C-2")
                  .values(key=None, destroyed_at=utcnow()))
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-2", actor="a", kind="case.note", after={"late": "x"})
    rows = _rows(pg)
    assert rows[-1].seq == 7 and rows[-1].case_prev_seq == 6
    assert rows[-1].body == _client_bodies(pg)[-1] and '"late":"x"' in rows[-1].body
    head = _links_hold(rows)
    with pg.read() as s:
        assert tuple(s.execute(select(AuditChainHead.seq, AuditChainHead.hash))
                     .one()) == (7, head)
    assert verify_chain(pg).ok


def test_the_head_is_locked_by_the_commit_itself(pg):
    """With the head locked elsewhere, a transaction's writes and its flush go through; what
    waits for the lock is its COMMIT: no statement of the client runs while the seal holds
    the lock (docs/PERFORMANCE.md, "Audit chain")."""
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-0", actor="a", kind="case.note")
    blocker = create_engine(pg.url)
    done: list[BaseException | None] = []

    def commit_one():
        try:
            with pg.unit_of_work() as s:
                audit.record(s, case_id="C-9", actor="a", kind="case.note", after={"n": 1})
                s.execute(text("SELECT set_config('application_name', :name, true)"),
                          {"name": NAME})
                s.flush()
            done.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            done.append(exc)

    with blocker.connect() as conn, blocker.connect() as watcher:
        watcher = watcher.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SELECT 1 FROM audit_chain_head WHERE id = 1 FOR UPDATE"))
        worker = threading.Thread(target=commit_one)
        worker.start()
        # polled until COMMIT shows waiting: pg_stat_activity copies a backend's query text
        # and reads its wait live, so under load one read can pair the lock wait of COMMIT
        # with the statement before it. A statement other than COMMIT that waits for the
        # lock waits for good, and the loop ends at the deadline with it.
        deadline, waiting = time.monotonic() + WAIT_S, None
        while waiting != "COMMIT" and time.monotonic() < deadline and not done:
            waiting = watcher.execute(text(
                "SELECT query FROM pg_stat_activity WHERE application_name = :name "
                "AND wait_event_type = 'Lock'"), {"name": NAME}).scalar()
        assert waiting == "COMMIT"
        conn.rollback()
    worker.join(WAIT_S)
    blocker.dispose()
    assert done == [None]
    assert [r.seq for r in _rows(pg)] == [1, 2] and verify_chain(pg).ok


def test_rows_without_a_body_are_left_to_seal_connection(pg):
    with pg.write_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind) "
                          "VALUES ('C-1', now(), 'loader', 'case.imported')"))
    assert [r.seq for r in _rows(pg)] == [None]
    with pg.unit_of_work() as s:  # the trigger passes it over: the app's event is chained
        audit.record(s, case_id="C-1", actor="a", kind="case.note")
    assert sorted((r.kind, r.seq) for r in _rows(pg)) == [("case.imported", None),
                                                          ("case.note", 1)]
    with pg.write_engine.begin() as conn:
        assert seal_connection(conn) == 1
    rows = _rows(pg)
    assert [(r.kind, r.seq, r.case_prev_seq) for r in rows] == [("case.note", 1, None),
                                                               ("case.imported", 2, 1)]
    assert verify_chain(pg).ok


def test_a_rolled_back_transaction_leaves_neither_events_nor_a_move_of_the_head(pg):
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="kept")
    with pytest.raises(RuntimeError), pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="dropped")
        s.flush()
        raise RuntimeError
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="kept too")
    assert [(r.kind, r.seq, r.case_prev_seq) for r in _rows(pg)] == [
        ("kept", 1, None), ("kept too", 2, 1)]


def test_the_trigger_comes_and_goes_with_migration_0024(pg):
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="before")
    cfg = alembic_config(pg)
    with pg.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0023")
        assert conn.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname = "
                                "'docket_audit_seal' AND tgrelid = 'audit_events'::regclass")) == 0
        command.upgrade(cfg, "head")
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="after")
    assert [(r.kind, r.seq, r.case_prev_seq) for r in _rows(pg)] == [
        ("before", 1, None), ("after", 2, 1)]
    assert verify_chain(pg).ok


def test_the_commit_seals_from_its_own_first_row(pg):
    """The commit's seal reads the unchained rows from the transaction's first id on (a range
    of ix_audit_unchained, not every dead `seq IS NULL` version since the last VACUUM). A row
    with a body left unchained below it (here: written with the trigger switched off) is not
    the commit's business; the seal without an argument still takes it."""
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="first")
    with pg.write_engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER docket_audit_seal"))
    try:
        with pg.unit_of_work() as s:
            audit.record(s, case_id="C-1", actor="a", kind="left unchained")
    finally:
        with pg.write_engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER docket_audit_seal"))
    with pg.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="after")
    assert [(r.kind, r.seq) for r in sorted(_rows(pg), key=lambda r: r.id)] == [
        ("first", 1), ("left unchained", None), ("after", 2)]
    with pg.write_engine.begin() as conn:
        assert conn.scalar(text("SELECT docket_audit_seal()")) == 1
    assert [(r.kind, r.seq, r.case_prev_seq) for r in _rows(pg)] == [
        ("first", 1, None), ("after", 2, 1), ("left unchained", 3, 2)]
    assert verify_chain(pg).ok
