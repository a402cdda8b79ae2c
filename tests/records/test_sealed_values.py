"""A case event's readable before/after are stored only sealed under the case's subject key
(core/store/audit_values.py): no audit_events column holds an edited value, while the
timeline, the history and the case file show it as before; a flipped byte or a ciphertext
moved to another event is `values_edited`; erasure destroys the key and clears the sealed
values, and the chain still verifies."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime

import pytest
from sqlalchemy import select, text

from core.cases.actions import edit_user_data, load_case
from core.cases.history import case_history
from core.cases.read import case_detail
from core.cli.main import main
from core.records.case_file import export_case_file
from core.records.retention_erase import erase_in
from core.records.verify import verify_chain
from core.store import audit
from core.store.audit_chain_models import AuditEvent, AuditSubjectKey
from core.store.audit_values import SealedValuesError, open_sealed, open_values, seal_values
from tests.factories import make_case, version_of

OLD = "quokka.vermilion@sealed-old.example"
NEW = "narwhal.saffron@sealed-new.example"


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKET_AUDIT_SIGNING_KEY", str(tmp_path / "keys" / "audit.key"))


def _edited(db, case_id: str = "C-1") -> None:
    """A case whose email (in its user data) is edited from OLD to NEW."""
    make_case(db, case_id, assignee="reviewer", user_data={"industry": "trading", "email": OLD})
    edit_user_data(db, case_id, {"email": NEW}, actor="reviewer",
                   expected_version=version_of(db, case_id))


def _raw_rows(db) -> list[dict]:
    """Every audit_events row, every column as the database holds it."""
    with db.read_engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_events"))]


def _as_bytes(value) -> bytes:
    if value is None:
        return b""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (dict, list)):  # PostgreSQL's JSON, parsed by the driver
        return json.dumps(value, ensure_ascii=False).encode()
    return str(value).encode()


def _edit_event(db) -> tuple[int, int]:
    with db.read_engine.connect() as conn:
        row = conn.execute(text("SELECT id, seq FROM audit_events "
                                "WHERE kind = 'user_data.edited'")).one()
    return row.id, row.seq


def test_no_column_holds_the_edited_values_the_timeline_and_case_file_show_them(db):
    _edited(db)
    rows = _raw_rows(db)
    edited = [r for r in rows if r["kind"] == "user_data.edited"]
    assert len(edited) == 1 and edited[0]["sealed_values"] is not None
    assert edited[0]["before"] is None and edited[0]["after"] is None  # SQL NULL
    for row in rows:
        for column, value in row.items():
            stored = _as_bytes(value)
            assert OLD.encode() not in stored and NEW.encode() not in stored, (row["id"], column)
            assert b"quokka" not in stored and b"narwhal" not in stored, (row["id"], column)
    detail = case_detail(db, "C-1")
    sentences = [h.sentence for h in case_history(db, detail)]
    assert f"reviewer changed Email from “{OLD}” to “{NEW}”" in sentences, sentences
    edit = next(e for e in detail.timeline if e["kind"] == "user_data.edited")
    assert (edit["before"]["value"], edit["after"]["value"]) == (OLD, NEW)
    bundle = export_case_file(db, "C-1", profile="examiner", actor="lead",
                              recipient="FCA examiner").data
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        contents = json.loads(z.read("case.json"))
        events = json.loads(z.read("audit/events.json"))
    assert any(OLD in t["sentence"] and NEW in t["sentence"] for t in contents["timeline"])
    edit = next(e for e in events if e["kind"] == "user_data.edited")
    assert (edit["before"]["value"], edit["after"]["value"]) == (OLD, NEW)
    assert verify_chain(db).ok


def test_the_objects_of_an_orm_query_and_open_values_read_the_same(db):
    _edited(db)
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "user_data.edited")).one()
        assert event.after == {"field": "email", "value": NEW}
        row = s.execute(select(AuditEvent.case_id, AuditEvent.kind, AuditEvent.before,
                               AuditEvent.after, AuditEvent.sealed_values)
                        .where(AuditEvent.kind == "user_data.edited")).one()
        assert row.after is None  # the column itself: nothing readable
        assert open_values(s, [row]) == [(event.before, event.after)]


def test_record_many_writes_sealed_rows_too(db):
    with db.unit_of_work() as s:
        audit.record_many(s, [{"case_id": "C-7", "actor": "a", "kind": "note.added",
                               "after": {"body": OLD}},
                              {"case_id": None, "actor": "a", "kind": "settings.changed",
                               "after": {"x": 1}}])
    rows = {r["kind"]: r for r in _raw_rows(db)}
    assert OLD.encode() not in _as_bytes(rows["note.added"]["after"])
    assert rows["note.added"]["sealed_values"] is not None
    assert rows["settings.changed"]["sealed_values"] is None  # no case: in clear, as before
    assert json.loads(_as_bytes(rows["settings.changed"]["after"])) == {"x": 1}
    with db.read() as s:
        assert [e.after for e in audit.case_timeline(s, "C-7")] == [{"body": OLD}]
    assert verify_chain(db).ok


def test_a_flipped_byte_is_values_edited_naming_the_row(db, monkeypatch, capsys):
    _edited(db)
    event_id, seq = _edit_event(db)
    with db.write_engine.begin() as conn:
        sealed = bytearray(conn.scalar(text("SELECT sealed_values FROM audit_events "
                                            "WHERE id = :i"), {"i": event_id}))
        sealed[len(sealed) // 2] ^= 0x01
        conn.execute(text("UPDATE audit_events SET sealed_values = :v WHERE id = :i"),
                     {"v": bytes(sealed), "i": event_id})
    monkeypatch.setenv("DOCKET_DATABASE_URL", db.url)
    assert main(["audit", "verify", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["problem"], f["seq"], f["id"]) for f in report["findings"]] == [
        ("values_edited", seq, event_id)]
    with db.read() as s:  # a reader shows nothing rather than fail
        event = s.get(AuditEvent, event_id)
        assert (event.before, event.after) == (None, None)


def test_a_ciphertext_moved_to_another_event_does_not_open(db):
    _edited(db)
    event_id, seq = _edit_event(db)
    with db.write_engine.begin() as conn:
        other = conn.execute(text("SELECT id, sealed_values FROM audit_events WHERE case_id = "
                                  "'C-1' AND id <> :i AND sealed_values IS NOT NULL "
                                  "ORDER BY id LIMIT 1"), {"i": event_id}).one()
        conn.execute(text("UPDATE audit_events SET sealed_values = :v WHERE id = :i"),
                     {"v": other.sealed_values, "i": event_id})
    findings = verify_chain(db).findings
    assert [(f.problem, f.seq) for f in findings] == [("values_edited", seq)]


def test_values_stored_in_clear_beside_sealed_ones_are_values_edited(db):
    _edited(db)
    event_id, seq = _edit_event(db)
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET after = :v WHERE id = :i"),
                     {"v": json.dumps({"field": "email", "value": NEW}),
                      "i": event_id})
    assert [(f.problem, f.seq) for f in verify_chain(db).findings] == [("values_edited", seq)]


def test_sealing_binds_the_case_and_kind_and_the_derived_key():
    key = bytes(range(32))
    sealed = seal_values(key, "C-1", "note.added", {"a": 0.5}, {"b": "x"})
    assert sealed[0] == 1 and len(sealed) > 1 + 12 + 16
    assert open_sealed(key, "C-1", "note.added", sealed) == ({"a": 0.5}, {"b": "x"})
    assert sealed != seal_values(key, "C-1", "note.added", {"a": 0.5}, {"b": "x"})  # nonce
    for case_id, kind, other_key in (("C-2", "note.added", key), ("C-1", "case.note", key),
                                     ("C-1", "note.added", bytes(32))):
        with pytest.raises(SealedValuesError):
            open_sealed(other_key, case_id, kind, sealed)
    with pytest.raises(SealedValuesError):
        open_sealed(key, "C-1", "note.added", b"\x02" + sealed[1:])


def test_erasure_destroys_the_key_clears_the_sealed_values_and_verify_stays_clean(db):
    _edited(db)
    with db.unit_of_work() as s:  # the erasure itself (its checks are the caller's)
        counts = erase_in(s, load_case(s, "C-1", for_update=True), "admin",
                          datetime(2031, 1, 1))
    assert counts["audit_values_cleared"] >= 2
    rows = [r for r in _raw_rows(db) if r["case_id"] == "C-1"]
    erased_event = next(r for r in rows if r["kind"] == "subject.erased")
    assert all(r["sealed_values"] is None for r in rows)
    assert all(r["before"] is None and r["after"] is None for r in rows if r is not erased_event)
    with db.read() as s:
        key = s.get(AuditSubjectKey, "C-1")
        assert key.key is None and key.destroyed_at is not None
        # after erasure the case's new events are in clear (no key to seal them under)
        assert s.get(AuditEvent, erased_event["id"]).after["erased"]["entity"] == 1
    assert erased_event["sealed_values"] is None and erased_event["after"] is not None
    report = verify_chain(db)
    assert report.ok, [str(f) for f in report.findings]


def test_the_demo_loader_writes_case_values_sealed_only(db):
    from core.demo.generate import seed_demo_if_empty
    assert seed_demo_if_empty(db, 30)  # the demo's cases, written by the bulk loader
    with db.read_engine.connect() as conn:
        counts = conn.execute(text(
            "SELECT count(*), count(sealed_values), count(before) + count(after) "
            "FROM audit_events WHERE case_id IS NOT NULL")).one()
        case_id = conn.scalar(text("SELECT case_id FROM audit_events "
                                   "WHERE kind = 'case.imported' ORDER BY id LIMIT 1"))
    assert counts[0] >= 30 and tuple(counts) == (counts[0], counts[0], 0)
    with db.read() as s:
        imported = audit.case_timeline(s, case_id)[-1]
    assert imported.kind == "case.imported" and imported.after["workflow"]
    assert verify_chain(db).ok
