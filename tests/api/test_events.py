"""Outside events over HTTP: the same events as `python -m core event`, reported with a key."""
from __future__ import annotations

import base64

from sqlalchemy import select

from core.store.models import AuditEvent
from tests.api.conftest import a_case, new_id, push

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEA"
                       "LnApQXFCNDEAAAAASUVORK5CYII=")


def test_a_process_and_the_collection_move_the_case(api):
    case_id = push(api, a_case(new_id("EV"), collection_completed=False,
                               processes=[{"name": "screening", "state": "pending"}]))
    with api.client("events-admin") as c:
        done = c.post(f"/cases/{case_id}/events", json={"event": "collection_completed"})
        assert done.json() == {"case_id": case_id, "event": "collection_completed",
                               "status": "pending_process", "version": 2}
        finished = c.post(f"/cases/{case_id}/events",
                          json={"event": "process_completed", "name": "screening",
                                "detail": "no hits"})
    assert finished.json()["status"] == "manual_review"
    with api.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                   AuditEvent.kind == "process.completed")).one()
    assert (event.actor, event.via) == ("svc", "api key events-admin")


def test_a_document_upload_comes_as_content_and_is_checked_by_content(api):
    case_id = push(api, a_case(new_id("DOC"), documents=[{"type": "passport"}]))
    with api.client("all-admin") as c:
        document = c.get(f"/cases/{case_id}").json()["documents"][0]["id"]
        ok = c.post(f"/cases/{case_id}/events", json={
            "event": "document_uploaded", "document_id": document, "filename": "p.png",
            "content_base64": base64.b64encode(PNG).decode()})
        fake = c.post(f"/cases/{case_id}/events", json={
            "event": "document_uploaded", "document_id": document, "filename": "p.png",
            "content_base64": base64.b64encode(b"MZ\x90\x00 not an image").decode()})
        garbled = c.post(f"/cases/{case_id}/events", json={
            "event": "document_uploaded", "document_id": document, "filename": "p.png",
            "content_base64": "%%%"})
        files = c.get(f"/cases/{case_id}").json()["documents"][0]["files"]
    assert ok.status_code == 200
    assert fake.status_code == 422 and garbled.status_code == 422
    assert garbled.json()["errors"][0]["field"] == "content_base64"
    assert [(f["version"], f["filename"], f["content_type"]) for f in files] == [
        (1, "p.png", "image/png")]


def test_a_server_path_is_never_read(api):
    case_id = push(api, a_case(new_id("PATH"), documents=[{"type": "passport"}]))
    with api.client("all-admin") as c:
        r = c.post(f"/cases/{case_id}/events", json={"event": "document_uploaded",
                                                     "document_id": 1, "path": "/etc/passwd"})
        files = c.get(f"/cases/{case_id}").json()["documents"][0]["files"]
    assert r.status_code == 422 and files == []


def test_an_event_on_a_final_case_is_refused(api):
    case_id = push(api, a_case(new_id("FINAL")))
    with api.client("act-reviewer") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        c.post(f"/cases/{case_id}/actions/approve", json={"expected_version": 2})
    with api.client("events-admin") as c:
        r = c.post(f"/cases/{case_id}/events", json={"event": "process_started",
                                                     "name": "late"})
    assert r.status_code == 409 and "final" in r.json()["detail"]
