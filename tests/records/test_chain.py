"""The chain's format (canonical JSON, the hash's bytes, commitments) and how events are sealed:
at commit, in order, dropped with a rollback, from every kind of session."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.records.verify import verify_chain
from core.store import audit
from core.store.audit_chain_format import GENESIS, body_of, canonical, event_hash
from core.store.audit_chain_models import AuditChainHead, AuditSubjectKey
from core.store.models import AuditEvent

# RFC 8785 (JSON Canonicalization Scheme) examples without numbers other than integers
RFC8785 = [
    # 3.2.3: property sorting by UTF-16 code units (the emoji sorts before U+FB33)
    ('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With '
     'Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
     '"\\u00f6":"Latin Small Letter O With Diaeresis"}',
     '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With '
     'Diaeresis","\u20ac":"Euro Sign","\U0001F600":"Emoji: Grinning Face","\ufb33":"Hebrew '
     'Letter Dalet With Dagesh"}'),
    # 3.2.2.2: string escaping
    ('{"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/"}',
     '{"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'),
    # 3.2.2.1: literals; whitespace removed
    ('{ "literals" : [ null , true , false ] , "numbers": [ 0, 333333333, 4, 2 ] }',
     '{"literals":[null,true,false],"numbers":[0,333333333,4,2]}'),
]


@pytest.mark.parametrize("source,expected", RFC8785)
def test_canonical_json_is_rfc_8785_for_what_docket_writes(source, expected):
    assert canonical(json.loads(source)) == expected


def test_the_hash_is_sha256_over_the_documented_bytes():
    body = '{"a":1}'
    expected = hashlib.sha256(b"docket.audit.v1\x00" + b"12" + b"\x00" + GENESIS.encode()
                              + b"\x00" + body.encode()).hexdigest()
    assert event_hash(12, GENESIS, body) == expected


def test_a_case_events_values_are_committed_per_field_not_stored():
    key = bytes(range(32))
    body = json.loads(body_of(kind="case.note", actor="a", case_id="C-1",
                              at=datetime(2026, 1, 2, 3, 4, 5, 6), via=None, case_prev_seq=3,
                              before=None, after={"name": "Ann Lee", "n": 2}, key=key))
    mac = hmac.new(key, b"docket.audit.v1.commit\x00name\x00" + b'"Ann Lee"', "sha256")
    assert body["after"] == {"name": "hmac:" + mac.hexdigest(), "n": body["after"]["n"]}
    assert body["at"] == "2026-01-02T03:04:05.000006Z" and body["case_prev_seq"] == 3
    assert "Ann Lee" not in json.dumps(body)


@pytest.mark.parametrize("value, recorded", [
    (0.93, "0.93"), (1e-07, "1e-07"), (float("nan"), "NaN"), (float("-inf"), "-Infinity"),
    (2 ** 60, str(2 ** 60)), ({"scores": [0.5, 1, True]}, {"scores": ["0.5", 1, True]})])
def test_record_keeps_numbers_to_integers_floats_become_their_decimal_text(db, value, recorded):
    with db.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="x", after={"v": value})
        audit.record_many(s, [{"case_id": "C-1", "actor": "a", "kind": "y", "after": {"v": value}}])
    with db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.kind.in_(("x", "y")))).all()
    assert [r.after for r in rows] == [{"v": recorded}, {"v": recorded}]
    assert verify_chain(db).ok


@pytest.mark.parametrize("value", [{1: "x"}, {"d": b"x"}, object()])
def test_record_refuses_what_canonical_json_cannot_hold(db, value):
    with pytest.raises(TypeError, match="audit after"):
        with db.unit_of_work() as s:
            audit.record(s, case_id="C-1", actor="a", kind="x", after={"v": value})


def _events(db):
    with db.read() as s:
        return s.execute(select(AuditEvent.kind, AuditEvent.seq, AuditEvent.case_prev_seq)
                         .order_by(AuditEvent.seq)).all()


def test_events_are_sealed_at_commit_in_order_and_dropped_with_a_rollback(db):
    start = len(_events(db))
    with db.unit_of_work() as s:
        audit.record(s, case_id="C-1", actor="a", kind="one")
        audit.record_many(s, [{"case_id": "C-1", "actor": "a", "kind": "two"},
                              {"case_id": None, "actor": "a", "kind": "three"}])
        audit.record(s, case_id="C-1", actor="a", kind="four")
        assert s.scalar(select(AuditEvent.seq).where(AuditEvent.kind == "four")) is None
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            audit.record(s, case_id="C-1", actor="a", kind="rolled back")
            raise RuntimeError
    rows = _events(db)[start:]
    assert [r.kind for r in rows] == ["one", "two", "three", "four"]
    seqs = [r.seq for r in rows]
    assert seqs == list(range(start + 1, start + 5))
    assert [r.case_prev_seq for r in rows] == [None, seqs[0], None, seqs[1]]
    with db.read() as s:
        head = s.get(AuditChainHead, 1)
        assert (head.seq, head.hash) == (seqs[-1], s.scalar(select(AuditEvent.hash).where(
            AuditEvent.seq == seqs[-1])))
        assert s.scalar(select(AuditSubjectKey.key).where(AuditSubjectKey.case_id == "C-1"))
    assert verify_chain(db).ok


def test_plain_sessions_and_read_sessions_are_chained_too(db):
    with Session(db.write_engine) as s:
        audit.record(s, case_id=None, actor="a", kind="plain")
        s.commit()
    with db.read() as s:
        event = AuditEvent(case_id="C-2", actor="a", kind="x")  # for the object's seq below
        audit.record(s, case_id="C-2", actor="a", kind="from a read session")
        s.commit()
    with db.unit_of_work() as s:
        with s.begin_nested():
            audit.record(s, case_id=None, actor="a", kind="in a savepoint")
        with pytest.raises(RuntimeError), s.begin_nested():
            audit.record(s, case_id=None, actor="a", kind="savepoint rolled back")
            raise RuntimeError
    kinds = {r.kind: r.seq for r in _events(db)}
    assert all(kinds[k] for k in ("plain", "from a read session", "in a savepoint"))
    assert "savepoint rolled back" not in kinds and event.seq is None
    assert verify_chain(db).ok


def test_the_recorded_object_shows_its_seq_after_the_commit(db):
    with db.unit_of_work() as s:
        audit.record(s, case_id="C-3", actor="a", kind="x")
        obj = next(o for o in s.new if isinstance(o, AuditEvent))
    assert obj.seq and obj.hash == event_hash(obj.seq, obj.prev_hash, obj.body)


def test_record_many_in_a_rolled_back_savepoint_leaves_nothing_unchained(db):
    with db.unit_of_work() as s:
        audit.record(s, case_id="C-5", actor="a", kind="before the savepoint")
        with pytest.raises(RuntimeError), s.begin_nested():
            audit.record_many(s, [{"case_id": "C-5", "actor": "a", "kind": "in the savepoint"}])
            raise RuntimeError
        audit.record_many(s, [{"case_id": "C-6", "actor": "a", "kind": "after the savepoint"}])
    rows = _events(db)
    kinds = {r.kind: r.seq for r in rows}
    assert kinds["before the savepoint"] and kinds["after the savepoint"]
    assert "in the savepoint" not in kinds and all(r.seq for r in rows)
    report = verify_chain(db)
    assert report.ok and report.checked == len(rows)
