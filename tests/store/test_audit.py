"""The audit log's writers: `record_many` writes the same rows as `record` one by one."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from core.store import audit
from core.store.models import AuditEvent

EVENTS = [
    {"case_id": "C-1", "actor": "admin", "kind": "case.imported",
     "after": {"workflow": "onboarding", "entity": "Acme", "status": "manual_review",
               "documents": 2, "ubos": [], "note": None}},
    {"case_id": None, "actor": "system", "kind": "api_key.created", "before": None,
     "after": {"key": "crm"}},
    {"case_id": "C-2", "actor": "reviewer", "kind": "case.note", "before": {"x": 1}},
    {"case_id": "C-1", "actor": "admin", "kind": "case.assigned"},  # neither before nor after
]
COLUMNS = ("case_id", "actor", "kind", "before", "after", "via")


def rows(db) -> list[tuple]:
    with db.read() as s:
        return [tuple(getattr(e, c) for c in COLUMNS)
                for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def stored(db) -> list[tuple]:
    """The rows as the database holds them: JSON as its text (a JSON null is not SQL NULL)."""
    with db.read() as s:
        return [tuple(r) for r in s.execute(text(
            "SELECT case_id, actor, kind, CAST(before AS TEXT), CAST(after AS TEXT), via "
            "FROM audit_events ORDER BY id"))]


def empty(db) -> None:
    with db.unit_of_work() as s:
        s.execute(AuditEvent.__table__.delete())


def written(db, write) -> tuple[list[tuple], list[tuple]]:
    empty(db)
    with db.unit_of_work() as s:
        write(s)
    return rows(db), stored(db)


@pytest.mark.parametrize("via", [None, "api key onboarding"])
def test_record_many_writes_what_record_writes_one_by_one(db, via):
    def one_by_one(s):
        for e in EVENTS:
            audit.record(s, **e)

    def at_once(s):
        assert audit.record_many(s, iter(EVENTS)) == len(EVENTS)

    if via:
        with audit.through(via):
            single, many = written(db, one_by_one), written(db, at_once)
    else:
        single, many = written(db, one_by_one), written(db, at_once)
    assert many == single  # the values, and the stored text (JSON nulls as record's)
    assert [r[-1] for r in many[0]] == [via] * len(EVENTS)
    assert [r[:5] for r in many[0]] == [tuple(e.get(c) for c in COLUMNS[:5]) for e in EVENTS]


def test_record_many_keeps_the_order_of_calls_with_pending_records(db):
    with db.unit_of_work() as s:
        audit.record(s, case_id="C-9", actor="admin", kind="first")  # pending, not flushed
        audit.record_many(s, [{"case_id": "C-9", "actor": "admin", "kind": "second"},
                              {"case_id": "C-9", "actor": "admin", "kind": "third"}])
        audit.record(s, case_id="C-9", actor="admin", kind="fourth")
    with db.read() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == "C-9")
                          .order_by(AuditEvent.id)).all()
        ats = set(s.scalars(select(AuditEvent.at).where(AuditEvent.kind.in_(["second",
                                                                             "third"]))))
    assert kinds == ["first", "second", "third", "fourth"]
    assert len(ats) == 1  # one `at` for the events of one call


@pytest.mark.parametrize("event", [{"case_id": "C-1", "actor": "admin"},
                                   {"case_id": "C-1", "actor": "admin", "kind": "x", "at": 1}])
def test_record_many_refuses_what_record_would_and_writes_nothing(db, event):
    empty(db)
    with pytest.raises(TypeError):
        with db.unit_of_work() as s:
            audit.record_many(s, [{"case_id": "C-1", "actor": "admin", "kind": "ok"}, event])
    assert rows(db) == []
    with db.unit_of_work() as s:
        assert audit.record_many(s, []) == 0
