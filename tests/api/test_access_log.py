"""The access log over HTTP: GET /cases/{id} records `case.viewed` for the key's user (once per
15 minutes, naming the key), and the list's `search=` records `search.performed` with the query
as a keyed hash only (core/records/access_log.py)."""
from __future__ import annotations

from sqlalchemy import select

from core.records import access_log
from core.store.models import AuditEvent
from tests.api.conftest import a_case, new_id


def _events(api, kind: str, **where) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, column) == value)
    with api.db.read() as s:
        return list(s.scalars(stmt))


def test_reading_a_case_records_one_view_per_user_naming_the_key(api):
    case_id = new_id("VIEW")
    with api.client("all-admin") as c:
        assert c.post("/cases", json=a_case(case_id)).status_code == 200
        assert _events(api, access_log.VIEWED, case_id=case_id) == []  # pushing is no view
        for _ in range(3):
            assert c.get(f"/cases/{case_id}").status_code == 200
    with api.client("read-analyst") as c:
        assert c.get(f"/cases/{case_id}").status_code == 200
        assert c.get(f"/cases/{new_id('NONE')}").status_code == 404
    views = [(e.actor, e.via) for e in _events(api, access_log.VIEWED, case_id=case_id)]
    assert views == [("svc", "api key all-admin"), ("ana", "api key read-analyst")]


def test_a_search_is_recorded_once_without_its_text(api):
    term = new_id("Zephyrine").lower()
    seen = {e.id for e in _events(api, access_log.SEARCHED)}
    with api.client("read-analyst") as c:
        for page in (1, 2):
            assert c.get("/cases", params={"search": term, "page": page}).status_code == 200
        assert c.get("/cases").status_code == 200  # no search: nothing recorded
    found = [e for e in _events(api, access_log.SEARCHED) if e.id not in seen]
    assert [(e.actor, e.via) for e in found] == [("ana", "api key read-analyst")]
    after = found[0].after
    assert after["where"] == "api" and len(after["query_hash"]) == 64 and after["key_id"]
    assert term not in str(after).lower() and "zephyrine" not in str(after).lower()
