"""Migration 0019 chains the events already there, in id order (floats of old events
included), then appends `audit.chain_started`; verify then says from when integrity is proven."""
from __future__ import annotations

import json

from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.records.verify import verify_chain
from core.store.db import Database, alembic_config


def test_existing_events_are_chained_and_the_start_is_recorded(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    cfg = alembic_config(db)
    before = ScriptDirectory.from_config(cfg).get_revision("0019").down_revision
    with db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, before)
        for i in range(30):
            conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind, before, after) "
                              "VALUES (:c, :at, 'reviewer', 'case.note', NULL, :after)"),
                         {"c": f"C-{i % 4}" if i % 3 else None, "at": f"2025-01-0{1 + i % 9} "
                          "10:00:00.000000", "after": '{"score": 12.5, "n": %d}' % i})
    db.upgrade_schema()
    with db.read_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, seq, kind, after FROM audit_events ORDER BY id")).all()
    assert [r.seq for r in rows] == list(range(1, 32))  # id order
    assert rows[-1].kind == "audit.chain_started"
    assert json.loads(rows[-1].after) == {"chained_from_id": 1, "existing_events": 30}
    report = verify_chain(db)
    assert report.ok, [str(f) for f in report.findings]
    assert report.proven_from.endswith("(seq 31: the 30 events before it were chained then)")
    with db.write_engine.begin() as conn:  # an old event's float is committed too
        conn.execute(text("UPDATE audit_events SET after = '{\"score\": 12.6, \"n\": 0}' "
                          "WHERE seq = 2"))
    assert [f.problem for f in verify_chain(db).findings] == ["values_edited"]
    db.dispose()
