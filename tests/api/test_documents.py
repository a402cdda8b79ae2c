"""Document uploads over HTTP (multipart): the same gate as an import or a re-upload (type by
content, plain name, size limit), stored as the block's next version by a user who may import
cases. Every refusal stores nothing."""
from __future__ import annotations

import asyncio
import base64
import io
import uuid
from contextlib import contextmanager

import pytest
from fastapi import HTTPException
from PIL import Image
from sqlalchemy import select
from starlette.requests import Request

from api.routes.documents import FORM_OVERHEAD, read_upload
from core import settings_store
from core.access import api_keys
from core.intake.documents import load_file
from core.store.models import AuditEvent, DocumentFile
from tests.api.conftest import a_case, new_id, push
from tests.factories import row_counts

FIRST_PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cec"
                             "DHDEQxwEALnApQXFCNDEAAAAASUVORK5CYII=")
SMALL_LIMIT = 4096  # bytes; the upload limit while an oversize test runs (minimum is 1 KiB)


def a_png(color=(200, 30, 30), size=(8, 8)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def case_with_a_document(api, prefix: str) -> tuple[str, int]:
    """A case in manual review with one document block holding version 1 (a PNG)."""
    case_id = push(api, a_case(new_id(prefix), documents=[{"type": "passport", "file": {
        "filename": "passport.png", "content_base64": base64.b64encode(FIRST_PNG).decode()}}]))
    with api.client("read-admin") as c:
        return case_id, c.get(f"/cases/{case_id}").json()["documents"][0]["id"]


def upload(c, case_id: str, document_id, filename: str, content: bytes):
    return c.post(f"/cases/{case_id}/documents", data={"document_id": str(document_id)},
                  files={"file": (filename, content, "application/octet-stream")})


def versions(api, document_id: int) -> list[int]:
    with api.db.read() as s:
        return list(s.scalars(select(DocumentFile.version)
                              .where(DocumentFile.document_id == document_id)
                              .order_by(DocumentFile.version)))


@contextmanager
def upload_limit_of(api, limit: int):
    settings_store.set_setting(api.db, "uploads.max_bytes", str(limit), actor="svc")
    try:
        yield
    finally:
        settings_store.clear_setting(api.db, "uploads.max_bytes", actor="svc")


def multipart_body(document_id: int, filename: str, content: bytes) -> tuple[str, bytes]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"document_id\"\r\n\r\n"
            f"{document_id}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: image/png\r\n\r\n").encode()
    return (f"multipart/form-data; boundary={boundary}",
            body + content + f"\r\n--{boundary}--\r\n".encode())


def test_a_png_becomes_version_2_and_the_block_awaits_review_again(api):
    case_id, document_id = case_with_a_document(api, "UP")
    block = f"document:{document_id}"
    with api.client("all-admin") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        c.post(f"/cases/{case_id}/actions/ask-to-reupload",
               json={"expected_version": 2, "block": block, "reason": "Expired document"})
        asked = c.post(f"/cases/{case_id}/actions/ask-for-reuploads", json={"expected_version": 3})
        assert asked.status_code == 200, asked.text
        before = c.get(f"/cases/{case_id}").json()
    assert before["documents"][0]["status"] == "pending_reupload"
    new_png = a_png()
    with api.client("intake-admin") as c:
        r = upload(c, case_id, document_id, "passport-renewed.png", new_png)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["document_id"], body["version"], body["filename"], body["content_type"],
            body["size"], body["block_status"]) == (
        document_id, 2, "passport-renewed.png", "image/png", len(new_png), "awaiting_review")
    assert body["case_version"] == before["version"] + 1
    with api.client("read-admin") as c:
        after = c.get(f"/cases/{case_id}").json()
    document = after["documents"][0]
    assert document["status"] == "awaiting_review" and document["reupload_reason"] is None
    assert [f["version"] for f in document["files"]] == [1, 2]
    assert after["status"] == body["status"]
    newest = max(document["files"], key=lambda f: f["version"])
    assert load_file(api.db, newest["id"]) == ("passport-renewed.png", "image/png", new_png)
    with api.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                   AuditEvent.kind == "document.uploaded")).one()
    assert (event.actor, event.via, event.after["version"]) == ("svc", "api key intake-admin", 2)


def test_a_ubos_document_takes_an_upload_too(api):
    case_id = push(api, a_case(new_id("UBO"), ubos=[{
        "full_name": "Mei Chan", "ownership_percent": 60, "documents": [{"type": "passport"}]}]))
    with api.client("read-admin") as c:
        document_id = c.get(f"/cases/{case_id}").json()["kyc_blocks"][0]["documents"][0]["id"]
    with api.client("intake-admin") as c:
        r = upload(c, case_id, document_id, "mei-passport.png", a_png((10, 90, 200)))
    assert r.status_code == 201, r.text
    assert (r.json()["document_id"], r.json()["version"]) == (document_id, 1)
    assert versions(api, document_id) == [1]


def test_a_file_whose_content_is_not_an_allowed_type_is_refused_and_nothing_is_stored(api):
    case_id, document_id = case_with_a_document(api, "FAKE")
    counts = row_counts(api.db)
    with api.client("intake-admin") as c:
        exe = upload(c, case_id, document_id, "photo.png", b"MZ\x90\x00" + b"\x00" * 200)
        html = upload(c, case_id, document_id, "scan.pdf", b"<html><script>x()</script></html>")
        empty = upload(c, case_id, document_id, "empty.png", b"")
        bad_name = upload(c, case_id, document_id, "../etc/passwd.png", a_png())
    for r in (exe, html, empty, bad_name):
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["field"] == "file"
    assert "read from the content" in exe.json()["errors"][0]["reason"]
    assert "empty" in empty.json()["errors"][0]["reason"]
    assert row_counts(api.db) == counts and versions(api, document_id) == [1]


def test_an_upload_over_the_limit_is_413_and_nothing_is_stored(api):
    case_id, document_id = case_with_a_document(api, "BIG")
    png = a_png()
    just_over = png + b"\x00" * (SMALL_LIMIT + 1 - len(png))  # a valid PNG, one byte too big
    far_over = png + b"\x00" * (200 * 1024)                    # past the limit and the form room
    content_type, body = multipart_body(document_id, "streamed.png", far_over)
    with upload_limit_of(api, SMALL_LIMIT), api.client("intake-admin") as c:
        counts = row_counts(api.db)
        file_over = upload(c, case_id, document_id, "big.png", just_over)
        declared_over = upload(c, case_id, document_id, "bigger.png", far_over)
        # streamed without Content-Length (chunked): refused once the bytes read pass it
        streamed_over = c.post(f"/cases/{case_id}/documents",
                               headers={"Content-Type": content_type},
                               content=(body[i:i + 16384] for i in range(0, len(body), 16384)))
        assert row_counts(api.db) == counts
    assert "content-length" in declared_over.request.headers
    assert "content-length" not in streamed_over.request.headers
    for r in (file_over, declared_over, streamed_over):
        assert r.status_code == 413, r.text
        assert f"{SMALL_LIMIT:,} bytes" in r.json()["detail"]
    assert versions(api, document_id) == [1]
    with api.client("intake-admin") as c:  # the limit is back: the same file is welcome
        assert upload(c, case_id, document_id, "big.png", just_over).status_code == 201
    assert versions(api, document_id) == [1, 2]


def test_reading_a_body_without_length_stops_soon_after_the_limit():
    """The server side of the streamed case above: a body that never ends is read only to
    the limit plus the form's room, then refused."""
    content_type, head = multipart_body(1, "endless.png", a_png())
    chunk, pulled = 16384, 0

    async def receive():  # an ASGI body stream of up to 64 MiB, the file part never closed
        nonlocal pulled
        pulled += 1
        body = head[:-60] if pulled == 1 else b"\x00" * chunk
        return {"type": "http.request", "body": body, "more_body": pulled < 4096}

    request = Request({"type": "http", "method": "POST", "path": "/", "query_string": b"",
                       "headers": [(b"content-type", content_type.encode())]}, receive)
    with pytest.raises(HTTPException) as refused:
        asyncio.run(read_upload(request, SMALL_LIMIT))
    assert refused.value.status_code == 413
    assert (pulled - 1) * chunk <= SMALL_LIMIT + FORM_OVERHEAD + chunk


def test_a_body_that_is_not_multipart_is_415(api):
    case_id, document_id = case_with_a_document(api, "MEDIA")
    counts = row_counts(api.db)
    with api.client("intake-admin") as c:
        as_json = c.post(f"/cases/{case_id}/documents",
                         json={"document_id": document_id, "file": "aGVsbG8="})
        raw = c.post(f"/cases/{case_id}/documents", content=a_png(),
                     headers={"Content-Type": "image/png"})
        none = c.post(f"/cases/{case_id}/documents")
    for r in (as_json, raw, none):
        assert r.status_code == 415, r.text
        assert "multipart/form-data" in r.json()["detail"]
    assert row_counts(api.db) == counts


def test_missing_or_wrong_fields_are_named(api):
    case_id, document_id = case_with_a_document(api, "FIELDS")
    counts = row_counts(api.db)
    with api.client("intake-admin") as c:
        no_file = c.post(f"/cases/{case_id}/documents", data={"document_id": str(document_id)},
                         files={"other": ("x.png", b"", "image/png")})
        no_id = c.post(f"/cases/{case_id}/documents", files={"file": ("x.png", a_png())})
        bad_id = upload(c, case_id, "first", "x.png", a_png())
        other_block = upload(c, case_id, document_id + 10_000, "x.png", a_png())
        no_case = upload(c, new_id("NONE"), document_id, "x.png", a_png())
    assert no_file.status_code == 422 and no_file.json()["errors"][0]["field"] == "file"
    for r in (no_id, bad_id):
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "document_id"
    assert other_block.status_code == 404 and "has no document" in other_block.json()["detail"]
    assert no_case.status_code == 404
    assert row_counts(api.db) == counts


def test_only_a_key_with_intake_for_a_user_who_may_import_cases_uploads(api):
    case_id, document_id = case_with_a_document(api, "WHO")
    analyst = api_keys.create_key(api.db, f"intake-analyst-{uuid.uuid4().hex[:6]}",
                                  scopes="intake", acting_user="ana").secret
    counts = row_counts(api.db)
    answers = {}
    for name in ("intake-reviewer", "events-admin", "read-admin", None):
        with api.client(name) as c:
            answers[name] = upload(c, case_id, document_id, "x.png", a_png())
    with api.client(None, Authorization=f"Bearer {analyst}") as c:
        answers["analyst"] = upload(c, case_id, document_id, "x.png", a_png())
    assert answers[None].status_code == 401
    for name in ("intake-reviewer", "events-admin", "read-admin", "analyst"):
        assert answers[name].status_code == 403, (name, answers[name].text)
    assert "intake" in answers["events-admin"].json()["detail"]
    assert "import" in answers["intake-reviewer"].json()["detail"]
    assert "import" in answers["analyst"].json()["detail"]
    assert row_counts(api.db) == counts and versions(api, document_id) == [1]
