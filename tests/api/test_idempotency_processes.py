"""Idempotency-Key across server processes: two real servers on one database (a SQLite file,
or a PostgreSQL schema when DOCKET_TEST_DATABASE_URL is set) get the same POST with one key at
the same moment, round after round. The claim is a row under a unique constraint
(`core.access.idempotency`), so whichever process loses gets, by design (docs/API.md,
"Retries and limits"), either the first answer replayed or a 409 "still being processed"
with `Retry-After: 1`; never a second run, never a 5xx. A retry once the first is answered
gets the first answer from either process."""
from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from typing import Callable, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from api.idempotency import HEADER, REPLAYED
from core.intake.importer import push_cases
from core.store.models import AuditEvent, Case, Document, DocumentFile, IdempotencyRecord, Note
from tests.api.conftest import Api, a_case, new_id
from tests.servers import running_app

ROUNDS = 10  # keys per operation, each sent to both servers at once
STILL_RUNNING = "a request with this Idempotency-Key is still being processed"
KEY = "all-admin"  # an admin key with every scope: the race, not the rights, is under test
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEA"
                       "LnApQXFCNDEAAAAASUVORK5CYII=")


@pytest.fixture(scope="module")
def servers(api: Api, tmp_path_factory) -> Iterator[list[str]]:
    """The session's server and a second process on the same database, same settings."""
    with running_app(api.db.url, tmp_path_factory.mktemp("api-app-second"),
                     DOCKET_EMBEDDED_WORKER="off", DOCKET_API_RATE_LIMIT="off") as second:
        yield [api.url, second]


@pytest.fixture(scope="module")
def clients(api: Api, servers: list[str]) -> Iterator[list[httpx.Client]]:
    """One client per server, its connection opened (and the key checked) before any race,
    so that the requests of a round leave together."""
    made = [httpx.Client(base_url=f"{url}/api/v1", timeout=120,
                         headers={"Authorization": f"Bearer {api.keys[KEY]}"})
            for url in servers]
    try:
        for c in made:
            assert c.get("/views").status_code == 200
        yield made
    finally:
        for c in made:
            c.close()


@dataclass
class Round:
    """One request to race (its path and httpx keywords: `json=`, or `data=` and `files=`),
    and what it must have written exactly once."""
    path: str
    request: dict
    expected: dict                     # the first answer's body
    written_once: Callable[[], None]   # asserts the work was done exactly once


def _count(api: Api, model, *where) -> int:
    with api.db.read() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def _version(api: Api, case_id: str) -> int:
    with api.db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def _pushed(api: Api, **overrides) -> str:
    """A case in manual review at version 1, written directly (not the request under test)."""
    case = a_case(new_id("RACEP"), **overrides)
    assert push_cases(api.db, case, actor="svc").created == [case["id"]]
    return case["id"]


def push_round(api: Api) -> Round:
    case = a_case(new_id("RACE"))

    def written_once():
        assert _count(api, Case, Case.id == case["id"]) == 1
        assert _count(api, AuditEvent, AuditEvent.case_id == case["id"],
                      AuditEvent.kind == "case.imported") == 1
    return Round("/cases", {"json": case}, {"created": [case["id"]], "existing": []},
                 written_once)


def note_round(api: Api) -> Round:
    case_id, text = _pushed(api), f"called the director {new_id('N')}"

    def written_once():
        assert _count(api, Note, Note.case_id == case_id) == 1
        assert _count(api, AuditEvent, AuditEvent.case_id == case_id,
                      AuditEvent.kind == "note.added") == 1
        assert _version(api, case_id) == 2
    return Round(f"/cases/{case_id}/actions/note",
                 {"json": {"expected_version": 1, "text": text}},
                 {"case_id": case_id, "action": "note", "status": "manual_review",
                  "version": 2, "reuploads_requested": None, "approval": None}, written_once)


def upload_round(api: Api) -> Round:
    """An upload is not idempotent by itself: run twice, it stores a second version. Each
    client draws its own multipart boundary; the key still names one request."""
    case_id = _pushed(api, documents=[{"type": "passport"}])
    with api.db.read() as s:
        document_id = s.scalar(select(Document.id).where(Document.case_id == case_id))

    def written_once():
        assert _count(api, DocumentFile, DocumentFile.document_id == document_id) == 1
        assert _version(api, case_id) == 2
    return Round(f"/cases/{case_id}/documents",
                 {"data": {"document_id": str(document_id)},
                  "files": {"file": ("passport.png", PNG, "image/png")}},
                 {"case_id": case_id, "document_id": document_id, "version": 1,
                  "filename": "passport.png", "content_type": "image/png", "size": len(PNG),
                  "block_status": "awaiting_review", "status": "manual_review",
                  "case_version": 2}, written_once)


def race(clients: list[httpx.Client], path: str, request: dict,
         key: str) -> list[httpx.Response]:
    """The same POST with one key to every server, released together by a barrier."""
    barrier = threading.Barrier(len(clients))
    answers: list[httpx.Response | BaseException | None] = [None] * len(clients)

    def send(i: int) -> None:
        try:
            barrier.wait()
            answers[i] = clients[i].post(path, headers={HEADER: key}, **request)
        except BaseException as e:  # noqa: BLE001 - reported by the test's own thread
            answers[i] = e

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a in answers:
        if not isinstance(a, httpx.Response):
            raise AssertionError(f"a request of the race failed: {a!r}")
    return answers  # type: ignore[return-value]


def _is_still_running(r: httpx.Response) -> bool:
    """Whether `r` is the designed 409 for a key whose first request is still running."""
    if r.status_code != 409:
        return False
    assert r.headers["content-type"] == "application/problem+json", r.text
    assert r.json()["detail"].startswith(STILL_RUNNING), r.text
    assert r.headers["retry-after"] == "1"
    assert REPLAYED not in r.headers
    return True


def _shown(answers: list[httpx.Response]) -> list[tuple[int, str | None, str]]:
    return [(r.status_code, r.headers.get(REPLAYED), r.text) for r in answers]


@pytest.mark.parametrize("make_round", [push_round, note_round, upload_round],
                         ids=["push a case", "add a note", "upload a document"])
def test_one_key_sent_to_two_processes_at_once_does_the_work_once(api, clients, make_round):
    for n in range(ROUNDS):
        this = make_round(api)
        key = f"race-{n}-{new_id().lower()}"
        answers = race(clients, this.path, this.request, key)
        assert all(r.status_code < 500 for r in answers), _shown(answers)
        first = [r for r in answers if r.is_success and REPLAYED not in r.headers]
        assert len(first) == 1, _shown(answers)  # exactly one process ran it
        [first] = first
        assert first.json() == this.expected
        for r in answers:
            if r is not first and not _is_still_running(r):
                assert (r.status_code, r.content, r.headers.get(REPLAYED)) == (
                    first.status_code, first.content, "true"), _shown(answers)
        # the first is answered: a retry on either process gets its answer back
        for c in clients:
            again = c.post(this.path, headers={HEADER: key}, **this.request)
            assert (again.status_code, again.content, again.headers.get(REPLAYED)) == (
                first.status_code, first.content, "true"), again.text
        this.written_once()
        with api.db.read() as s:
            [record] = s.scalars(select(IdempotencyRecord)
                                 .where(IdempotencyRecord.idempotency_key == key)).all()
        assert (record.state, record.response_status) == ("done", first.status_code)


def test_one_key_with_two_bodies_at_once_runs_one_and_refuses_the_other(api, clients):
    """The same key with another body on each process, at once: one is run; the other is the
    422 naming the key, or the 409 while the first runs. The refused case is never written."""
    for n in range(ROUNDS):
        cases, key = [a_case(new_id("RACEA")), a_case(new_id("RACEB"))], f"clash-{n}-{new_id()}"
        barrier = threading.Barrier(2)
        answers: list[httpx.Response | None] = [None, None]

        def send(i: int) -> None:
            barrier.wait()
            answers[i] = clients[i].post("/cases", json=cases[i], headers={HEADER: key})

        threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r is not None and r.status_code < 500 for r in answers)
        ran = [i for i, r in enumerate(answers) if r.status_code == 200]
        assert len(ran) == 1, _shown(answers)
        [ran], refused = ran, answers[1 - ran[0]]
        assert answers[ran].json() == {"created": [cases[ran]["id"]], "existing": []}
        if not _is_still_running(refused):
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "Idempotency-Key"
        assert _count(api, Case, Case.id == cases[ran]["id"]) == 1
        assert _count(api, Case, Case.id == cases[1 - ran]["id"]) == 0
