"""Idempotency-Key on every POST, against the real server: a retry gets the first answer and
writes nothing, another body under the same key is refused, two requests at once with one
key do the work once, and a key is forgotten after 24 hours. Then the middleware on a small
app of its own, for what the real routes cannot be made to do: fail with a 5xx."""
from __future__ import annotations

import asyncio
import base64
import threading
from datetime import timedelta

import httpx
import pytest
from fastapi import Body, FastAPI, HTTPException
from sqlalchemy import func, select, update

from api import problems
from api.idempotency import HEADER, REPLAYED, IdempotencyMiddleware
from core.access import api_keys
from core.access.idempotency import request_hash
from core.store.models import AuditEvent, IdempotencyRecord, utcnow
from tests.api.conftest import a_case, new_id, push
from tests.factories import row_counts

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEA"
                       "LnApQXFCNDEAAAAASUVORK5CYII=")
STILL_RUNNING = "a request with this Idempotency-Key is still being processed"


def _key() -> str:
    return f"retry-{new_id().lower()}"


def _records(db, key: str) -> list[IdempotencyRecord]:
    with db.read() as s:
        return list(s.scalars(select(IdempotencyRecord)
                              .where(IdempotencyRecord.idempotency_key == key)))


def _key_id(api, name: str) -> int:
    return next(k.id for k in api_keys.list_keys(api.db) if k.name == name)


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["detail"]
    return body


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_writes_nothing(api):
    case, key = a_case(new_id("IK")), _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        first = c.post("/cases", json=case)
        assert first.json() == {"created": [case["id"]], "existing": []}
        assert REPLAYED not in first.headers
        before = row_counts(api.db)
        again = c.post("/cases", json=case)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers[REPLAYED] == "true"
    assert row_counts(api.db) == before
    [record] = _records(api.db, key)
    assert (record.state, record.response_status, record.path) == ("done", 200, "/api/v1/cases")


def test_the_same_key_with_another_body_is_refused_and_writes_nothing(api):
    first, other, key = a_case(new_id("IK")), a_case(new_id("IK")), _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        assert c.post("/cases", json=first).status_code == 200
        before = row_counts(api.db)
        r = c.post("/cases", json=other)
        problem = _problem(r, 422)
        assert problem["errors"][0]["field"] == "Idempotency-Key"
        assert "different request body" in problem["errors"][0]["reason"]
        assert row_counts(api.db) == before
        assert c.get(f"/cases/{other['id']}").status_code == 404
        assert c.post("/cases", json=first).headers[REPLAYED] == "true"


def test_the_same_key_on_another_route_is_refused(api):
    case_id, key = push(api, a_case(new_id("IK"))), _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        assert c.post("/cases", json=a_case(new_id("IK"))).status_code == 200
        before = row_counts(api.db)
        r = c.post(f"/cases/{case_id}/events", json={"event": "process_started",
                                                      "name": "screening"})
    problem = _problem(r, 422)
    assert "was first used for POST /api/v1/cases" in problem["errors"][0]["reason"]
    assert row_counts(api.db) == before


def test_a_refusal_is_kept_and_replayed_too(api):
    bad, key = a_case(new_id("IK"), entity={"type": "business", "name": ""}), _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        first = c.post("/cases", json=bad)
        _problem(first, 422)
        before = row_counts(api.db)
        again = c.post("/cases", json=bad)
    assert (again.status_code, again.content) == (422, first.content)
    assert again.headers["content-type"] == "application/problem+json"
    assert again.headers[REPLAYED] == "true"
    assert row_counts(api.db) == before


def test_two_requests_at_once_with_one_key_do_the_work_once(api):
    """Four clients meet at a barrier and send the same push with one key: one runs it; each
    other gets its answer replayed or, while it runs, the 409 — never a second run (which
    would answer `existing`)."""
    case, key = a_case(new_id("RACE")), _key()
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def send():
        with api.client("all-admin", **{HEADER: key}) as c:
            barrier.wait()
            answers.append(c.post("/cases", json=case))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    first = [r for r in answers if r.status_code == 200 and REPLAYED not in r.headers]
    assert len(answers) == 4 and len(first) == 1
    assert first[0].json() == {"created": [case["id"]], "existing": []}
    for r in answers:
        if r is first[0]:
            continue
        if r.status_code == 409:
            assert _problem(r, 409)["detail"].startswith(STILL_RUNNING)
            assert r.headers["retry-after"] == "1"
        else:
            assert (r.status_code, r.content, r.headers[REPLAYED]) == (200, first[0].content,
                                                                     "true")
    with api.db.read() as s:
        imported = s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.case_id == case["id"], AuditEvent.kind == "case.imported"))
    assert imported == 1
    assert len(_records(api.db, key)) == 1


def test_while_the_first_request_runs_a_retry_is_409_and_changes_nothing(api):
    """A request in flight, as its claim: the retry is refused at once, nothing written."""
    case, key = a_case(new_id("IK")), _key()
    body = httpx.Request("POST", "http://x", json=case).content
    with api.db.unit_of_work() as s:
        s.add(IdempotencyRecord(api_key_id=_key_id(api, "all-admin"), idempotency_key=key,
                                method="POST", path="/api/v1/cases",
                                request_hash=request_hash(body), state="in_progress",
                                created_at=utcnow(), expires_at=utcnow() + timedelta(hours=24)))
    before = row_counts(api.db)
    with api.client("all-admin", **{HEADER: key}) as c:
        r = c.post("/cases", content=body, headers={"Content-Type": "application/json"})
        assert _problem(r, 409)["detail"].startswith(STILL_RUNNING)
        assert r.headers["retry-after"] == "1"
        assert c.get(f"/cases/{case['id']}").status_code == 404
    assert row_counts(api.db) == before


def test_after_24_hours_a_key_is_forgotten(api):
    case, key = a_case(new_id("IK")), _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        assert c.post("/cases", json=case).json()["created"] == [case["id"]]
        with api.db.unit_of_work() as s:
            s.execute(update(IdempotencyRecord).where(IdempotencyRecord.idempotency_key == key)
                      .values(expires_at=utcnow() - timedelta(seconds=1)))
        again = c.post("/cases", json=case)
    assert again.json() == {"created": [], "existing": [case["id"]]}  # run again, not replayed
    assert REPLAYED not in again.headers
    [record] = _records(api.db, key)
    assert record.state == "done" and record.expires_at > utcnow()


def test_a_key_belongs_to_one_api_key(api):
    key = _key()
    for name in ("all-admin", "intake-admin"):
        case = a_case(new_id("IK"))
        with api.client(name, **{HEADER: key}) as c:
            assert c.post("/cases", json=case).json()["created"] == [case["id"]]
    assert len(_records(api.db, key)) == 2


def test_a_rebuilt_multipart_upload_is_the_same_request(api):
    """Clients draw a new multipart boundary for each request; the retry still matches."""
    case_id = push(api, a_case(new_id("IK"), documents=[{"type": "passport"}]))
    key = _key()
    with api.client("all-admin", **{HEADER: key}) as c:
        document = c.get(f"/cases/{case_id}").json()["documents"][0]["id"]

        def upload():
            return c.post(f"/cases/{case_id}/documents", data={"document_id": str(document)},
                          files={"file": ("p.png", PNG, "image/png")})
        first = upload()
        assert first.status_code == 201, first.text
        before = row_counts(api.db)
        again = upload()
    assert first.request.headers["content-type"] != again.request.headers["content-type"]
    assert (again.status_code, again.content, again.headers[REPLAYED]) == (
        201, first.content, "true")
    assert row_counts(api.db) == before


@pytest.mark.parametrize("value", ["x" * 201, "", "caf\u00e9".encode(), "tab\there"])
def test_a_bad_key_header_is_a_400_and_changes_nothing(api, value):
    before = row_counts(api.db)
    with api.client("all-admin") as c:
        r = c.post("/cases", json=a_case(new_id("IK")), headers={HEADER: value})
    assert "printable ASCII" in _problem(r, 400)["detail"]
    assert row_counts(api.db) == before


def test_two_key_headers_are_a_400(api):
    with api.client("all-admin") as c:
        r = c.post("/cases", json=a_case(new_id("IK")),
                   headers=[(HEADER, "one"), (HEADER, "two")])
    _problem(r, 400)


def test_without_a_valid_api_key_the_header_changes_nothing(api):
    before, key = row_counts(api.db), _key()
    with api.client(**{"Authorization": "Bearer dk_00000000_" + "A" * 43, HEADER: key}) as c:
        r = c.post("/cases", json=a_case(new_id("IK")))
    assert _problem(r, 401) and r.headers["www-authenticate"] == "Bearer"
    assert row_counts(api.db) == before


def test_without_the_header_or_on_a_get_nothing_is_kept(api):
    with api.db.read() as s:
        before = s.scalar(select(func.count()).select_from(IdempotencyRecord))
    case = a_case(new_id("IK"))
    with api.client("all-admin") as c:
        assert c.post("/cases", json=case).status_code == 200
        assert c.post("/cases", json=case).json()["existing"] == [case["id"]]
        assert c.get("/views", headers={HEADER: _key()}).status_code == 200
    with api.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == before


def test_every_post_operation_documents_the_header(api):
    doc = httpx.get(f"{api.url}/api/v1/openapi.json").json()
    posts = [op for operations in doc["paths"].values() for m, op in operations.items()
             if m == "post"]
    assert posts
    for op in posts:
        assert HEADER in [p["name"] for p in op.get("parameters", [])], op["summary"]


# --- the middleware on an app of its own: answers the real routes cannot be made to give ---

def _flaky_app(db, failure: str) -> tuple[FastAPI, list]:
    """A POST that fails once (an exception, or a 503), then answers with its call count."""
    app, calls = FastAPI(), []
    problems.install(app)

    @app.post("/flaky")
    def flaky(body: dict = Body(...)):
        calls.append(body)
        if len(calls) == 1 and failure == "exception":
            raise RuntimeError("the database went away")
        if len(calls) == 1:
            raise HTTPException(503, "try again later")
        return {"calls": len(calls)}

    app.add_middleware(IdempotencyMiddleware, database=lambda: db)
    return app, calls


@pytest.mark.parametrize("failure", ["exception", "503"])
def test_a_server_failure_is_not_kept_so_a_retry_runs_again(db, failure):
    secret = api_keys.create_key(db, "flaky", scopes="intake", acting_user="admin").secret
    app, calls = _flaky_app(db, failure)
    headers = {"Authorization": f"Bearer {secret}", HEADER: "flaky-1"}

    async def three_tries() -> list[tuple[httpx.Response, int]]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            out = []
            for _ in range(3):
                r = await c.post("/flaky", json={"n": 1}, headers=headers)
                with db.read() as s:
                    out.append((r, s.scalar(select(func.count())
                                            .select_from(IdempotencyRecord))))
            return out

    (failed, kept_after_failure), (retried, _), (replayed, kept) = asyncio.run(three_tries())
    assert failed.status_code == (500 if failure == "exception" else 503)
    assert kept_after_failure == 0  # forgotten: the retry runs again
    assert retried.json() == {"calls": 2} and REPLAYED not in retried.headers
    assert replayed.json() == {"calls": 2} and replayed.headers[REPLAYED] == "true"
    assert (len(calls), kept) == (2, 1)
