"""The streamed CSV download compresses itself when the request accepts gzip (as browsers
ask), at a fast level, and the server's gzip middleware (Streamlit's, wrapping Starlette's
GZipMiddleware at level 5) passes that response through untouched; without gzip in
`Accept-Encoding` the file comes plain. Either way the bytes are the export's."""
from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest
from starlette.applications import Starlette
from streamlit.web.server.starlette.starlette_gzip_middleware import SelectiveGZipMiddleware

from api.downloads import ROUTES, accepts_gzip
from core.worklist.export import export_cases
from core.worklist.export_links import create_export_link, download_url
from core.worklist.query import CaseFilter
from tests.factories import make_case


def get(app, url: str, accept_encoding: str | None) -> tuple[int, dict, list[bytes]]:
    """One GET spoken in ASGI: status, headers, the body's parts as sent."""
    path, _, query = url.partition("?")
    headers = [(b"host", b"docket")]
    if accept_encoding is not None:
        headers.append((b"accept-encoding", accept_encoding.encode()))
    scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"},
             "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "server": ("docket", 80), "client": ("127.0.0.1", 50000)}
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start, *body = sent
    return (start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]},
            [m["body"] for m in body if m.get("body")])


@pytest.fixture
def cases(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    for i in range(60):
        make_case(db, f"G-{i:02}", name=["=cmd|' /C calc'!A0", "Zoë 株式会社", "Plain Ltd"][i % 3])
    return db


def _expected(db) -> bytes:
    return "".join(export_cases(db, CaseFilter(), actor="analyst")).encode("utf-8")


@pytest.mark.parametrize("behind_middleware", [False, True], ids=["route", "streamlit-gzip"])
def test_a_browser_gets_the_file_gzipped_once(cases, behind_middleware):
    app = Starlette(routes=ROUTES)
    if behind_middleware:  # as the server mounts it: Streamlit's gzip layer, level 5
        app = SelectiveGZipMiddleware(app, minimum_size=1000, compresslevel=5)
    url = download_url(create_export_link(cases, actor="analyst", flt=CaseFilter()))
    status, headers, parts = get(app, url, "gzip, deflate, br, zstd")
    assert status == 200
    assert headers["content-encoding"] == "gzip" and "content-length" not in headers
    assert headers["vary"] == "Accept-Encoding"
    body = b"".join(parts)
    plain = gzip.decompress(body)  # one layer: the middleware did not compress it again
    assert plain == _expected(cases)
    assert len(body) < len(plain) / 2
    # what the route wrote, not the middleware: its gzip header carries no time (MTIME 0),
    # where the middleware's GzipFile stamps the current one (RFC 1952)
    assert body[:4] == b"\x1f\x8b\x08\x00" and body[4:8] == b"\0\0\0\0"


@pytest.mark.parametrize("accept", [None, "identity", "gzip;q=0", "br", "gzip;q=0, *;q=1"])
def test_without_gzip_the_file_comes_plain(cases, accept):
    url = download_url(create_export_link(cases, actor="analyst", flt=CaseFilter()))
    status, headers, parts = get(Starlette(routes=ROUTES), url, accept)
    assert status == 200 and "content-encoding" not in headers
    assert b"".join(parts) == _expected(cases)


def test_refusals_are_never_compressed(cases):
    status, headers, parts = get(Starlette(routes=ROUTES), download_url("x" * 43), "gzip")
    assert status == 404 and "content-encoding" not in headers
    assert b"".join(parts).startswith(b"This download link")


@pytest.mark.parametrize("header, wanted", [
    ("gzip", True), ("GZIP", True), ("deflate, gzip;q=0.5", True), ("x-gzip", True),
    ("*", True), ("gzip;q=0", False), ("gzip;q=0.0, *", False), ("*;q=0", False),
    ("identity", False), ("", False), ("br, zstd", False), ("gzip;q=nonsense", False)])
def test_accept_encoding_is_read_with_its_q_values(header, wanted):
    assert accepts_gzip(header) is wanted


def _deflates():
    """The standard library's zlib (the fallback) and ISA-L's, when installed."""
    yield pytest.param(zlib, id="zlib")
    try:
        from isal import isal_zlib
    except ImportError:
        return
    yield pytest.param(isal_zlib, id="isal")


@pytest.mark.parametrize("deflate", list(_deflates()))
def test_the_gzip_stream_is_one_valid_member(deflate):
    from api.downloads import _gzipped
    chunks = ["a,b\r\n", "Zoë,1\r\n" * 5000, "", "".join(f"C-{i},=x{i % 7}\r\n" for i in range(20000))]
    data = b"".join(_gzipped(iter(chunks), deflate=deflate))
    text = "".join(chunks).encode()
    # what browsers run: a standard gzip member, read by zlib's gzip mode and the gzip module
    assert zlib.decompress(data, 16 + zlib.MAX_WBITS) == text
    assert gzip.decompress(data) == text
    assert data[:3] == b"\x1f\x8b\x08" and len(data) < len(text) / 3
    assert int.from_bytes(data[-4:], "little") == len(text)  # ISIZE, as RFC 1952 has it


def test_the_route_uses_isa_l_when_it_is_installed():
    import api.downloads
    try:
        from isal import isal_zlib
    except ImportError:
        assert api.downloads.DEFLATE is zlib
    else:
        assert api.downloads.DEFLATE is isal_zlib
