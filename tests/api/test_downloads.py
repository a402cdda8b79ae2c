"""The streamed CSV download route (api/downloads.py) as the ASGI app the server mounts, called
with ASGI messages on the test's real database: the file equals `export_cases` in the
list's order, with download headers; a used, expired, unknown or malformed link gets a short
answer and no file."""
from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette

from api.downloads import ROUTES
from core.access import users
from core.store.models import AuditEvent, Case, utcnow
from core.store.worklist_models import ExportLink
from core.worklist.export import COLUMNS, export_cases
from core.worklist.export_links import create_export_link, download_url
from core.worklist.query import CaseFilter
from tests.factories import make_case


@dataclass
class Answer:
    status_code: int
    headers: httpx.Headers
    parts: list[bytes]  # the body as the app sent it, part by part

    @property
    def content(self) -> bytes:
        return b"".join(self.parts)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


class Client:
    """Requests to the route, spoken in ASGI: each answer whole, its body parts as sent."""

    def __init__(self):
        self.app = Starlette(routes=ROUTES)

    def request(self, method: str, url: str) -> Answer:
        path, _, query = url.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
                 "http_version": "1.1", "method": method, "scheme": "http", "path": path,
                 "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
                 "headers": [(b"host", b"docket")], "server": ("docket", 80),
                 "client": ("127.0.0.1", 50000)}
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        asyncio.run(self.app(scope, receive, send))
        start, *body = sent
        assert start["type"] == "http.response.start" and not body[-1].get("more_body")
        return Answer(start["status"], httpx.Headers(start["headers"]),
                      [m["body"] for m in body if m["body"]])

    def get(self, url: str) -> Answer:
        return self.request("GET", url)

    def head(self, url: str) -> Answer:
        return self.request("HEAD", url)


@pytest.fixture
def client(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    return Client()


def _link(db, actor="analyst", flt=CaseFilter(), **kw) -> str:
    return download_url(create_export_link(db, actor=actor, flt=flt, **kw))


def test_the_download_is_the_export_in_the_lists_order(db, client):
    names = ["=cmd|' /C calc'!A0", "Beta GmbH", "alpha Ltd", "Zoë 株式会社", "Gamma, \"Quoted\""]
    for i, name in enumerate(names):
        make_case(db, f"D-{i}", name=name)
    make_case(db, "F-1", name="Other", collection_completed=False)
    flt = CaseFilter(statuses=("manual_review",))
    url = _link(db, flt=flt, sort="name", descending=False)
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="docket-cases-\d{8}-\d{6}\.csv"',
                        r.headers["content-disposition"])
    assert r.headers["cache-control"] == "no-store"
    expected = "".join(export_cases(db, flt, actor="analyst", sort="name", descending=False))
    assert r.content == expected.encode("utf-8")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == 1 + len(names) and "F-1" not in {row[0] for row in rows}
    assert "'=cmd|' /C calc'!A0" in {row[1] for row in rows}  # formula neutralised
    with db.read() as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.kind == "cases.exported")) \
            == "analyst"


def test_a_link_works_once(db, client):
    make_case(db, "C-1")
    url = _link(db)
    assert client.get(url).status_code == 200
    again = client.get(url)
    assert again.status_code == 410
    assert again.headers["content-type"].startswith("text/plain")
    assert "already used" in again.text and "C-1" not in again.text
    assert "content-disposition" not in again.headers


def test_expired_unknown_and_malformed_links(db, client):
    url = _link(db)
    with db.unit_of_work() as s:
        s.execute(update(ExportLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    expired = client.get(url)
    assert expired.status_code == 410 and "expired" in expired.text
    assert client.get(download_url("x" * 43)).status_code == 404
    assert client.get(download_url("not a token")).status_code == 400
    assert client.get("/downloads/cases.csv").status_code == 400
    for r in (expired, client.get(download_url("x" * 43))):
        assert r.headers["cache-control"] == "no-store"
        assert "content-disposition" not in r.headers


def test_a_user_disabled_since_gets_403_and_a_head_does_not_use_the_link(db, client):
    make_case(db, "C-1")
    url = _link(db)
    assert client.head(url).status_code == 405  # a preview or prefetch must not use it
    users.set_disabled(db, "analyst", True)
    refused = client.get(url)
    assert refused.status_code == 403 and "C-1" not in refused.text
    users.set_disabled(db, "analyst", False)
    assert client.get(url).status_code == 200  # nothing was used up by the refusals


def test_the_body_arrives_in_chunks_as_it_is_read(db, client):
    """Many batches and several chunks: the response is a stream, not one buffered body."""
    for i in range(70):
        make_case(db, f"S-{i:02d}", name=f"Streamed {i}")
    with db.unit_of_work() as s:  # ~3 KB a row: more than one chunk of CHUNK_CHARS
        s.execute(update(Case).values(decision_reason="x" * 3000))
    url = _link(db)
    r = client.get(url)
    assert "content-length" not in r.headers  # streamed: the size is not known up front
    assert len(r.parts) > 1
    rows = list(csv.reader(io.StringIO(r.text, newline="")))
    assert [row[0] for row in rows[1:]] == [f"S-{i:02d}" for i in reversed(range(70))]
