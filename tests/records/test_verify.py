"""`python -m core audit verify`: exit 0 intact, 1 tampered (the finding names the kind and the
row), 2 when it cannot check; `--from-seq` starts later."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from core.cli.main import main
from core.records.verify import verify_chain
from core.store import audit


@pytest.fixture
def chained(db, monkeypatch):
    monkeypatch.setenv("DOCKET_DATABASE_URL", db.url)
    for i in range(5):
        with db.unit_of_work() as s:
            audit.record(s, case_id="C-1", actor="reviewer", kind="case.note", after={"i": i})
    return db


def test_intact_exits_0(chained, capsys):
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "intact" in out and "integrity proven from seq 1" in out


def test_tampered_exits_1_naming_the_kind_and_row(chained, capsys):
    with chained.write_engine.begin() as conn:
        seq = conn.scalar(text("SELECT max(seq) FROM audit_events")) - 2
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = :s"), {"s": seq})
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["problem"], f["seq"], f["detail"]) for f in report["findings"]] == [
        ("column_edited", seq, "actor")]
    assert main(["audit", "verify", "--from-seq", str(seq + 1)]) == 0  # after the change


def test_no_database_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DOCKET_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.sqlite3'}")
    assert main(["audit", "verify"]) == 2
    assert "cannot verify" in capsys.readouterr().err


def test_a_deleted_tail_is_found_through_the_head(chained):
    with chained.write_engine.begin() as conn:
        last = conn.scalar(text("SELECT max(seq) FROM audit_events"))
        conn.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": last - 1})
    report = verify_chain(chained)
    assert [(f.problem, f.seq) for f in report.findings] == [("tail_truncated", last - 1)]
