"""Document files: the upload gate (names, types by content, size) and versioned storage."""
from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.errors import InvalidInput, NotFound
from core.intake.documents import (
    MAX_FILENAME_CHARS,
    add_file_version,
    check_upload,
    current_file,
    load_file,
    store_blob,
)
from core.store.models import Case, Document, DocumentFile, Entity, FileBlob

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def image_bytes(fmt: str, color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), color).save(buffer, fmt)
    return buffer.getvalue()


PNG = image_bytes("PNG")


@pytest.mark.parametrize("filename, content, content_type", [
    ("statement.pdf", PDF, "application/pdf"),
    ("scan.png", PNG, "image/png"),
    ("photo.jpg", image_bytes("JPEG"), "image/jpeg"),
    ("selfie.webp", image_bytes("WEBP"), "image/webp"),
    # the type is read from the bytes, whatever the name says
    ("scan.pdf", PNG, "image/png"),
    ("no-extension", PDF, "application/pdf"),
    ("Überweisung März 2024.pdf", PDF, "application/pdf"),
    ("a.b.c.pdf", PDF, "application/pdf"),
    ("x" * MAX_FILENAME_CHARS, PDF, "application/pdf"),
])
def test_check_upload_accepts_allowed_types_read_from_content(filename, content, content_type):
    assert check_upload(filename, content) == (filename, content_type)


@pytest.mark.parametrize("filename, message", [
    ("../../etc/passwd.pdf", "path separator"),
    ("a/b.pdf", "path separator"),
    ("a\\b.pdf", "path separator"),
    ("C:\\x.pdf", "path separator"),
    ("C:x.pdf", "drive letter"),
    ("..", "'..'"),
    ("report..pdf", "'..'"),
    ("x\x00.pdf", "control character (U+0000)"),
    ("x\n.pdf", "control character (U+000A)"),
    ("x\x7f.pdf", "control character (U+007F)"),
    ("invoice\u202efdp.exe", "control character (U+202E)"),
    ("", "empty"),
    ("   ", "empty"),
    (" leading.pdf", "white space"),
    ("x" * (MAX_FILENAME_CHARS + 1), "256 characters long; at most 255"),
    (None, "must be text"),
    (b"bytes.pdf", "must be text"),
])
def test_check_upload_refuses_names_that_are_not_plain(filename, message):
    with pytest.raises(InvalidInput) as refused:
        check_upload(filename, PDF)
    assert message in str(refused.value)


@pytest.mark.parametrize("content, message", [
    (b"<html><script>alert(1)</script></html>", "not a known type"),
    (b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120, "application/x-msdownload"),
    (b"PK\x03\x04" + b"\x00" * 60, "application/zip"),
    (image_bytes("GIF"), "image/gif"),
    (b"just some text", "not a known type"),
    (b"", "is empty"),
])
def test_check_upload_refuses_content_that_is_not_an_allowed_type(content, message):
    with pytest.raises(InvalidInput) as refused:
        check_upload("document.pdf", content)
    assert message in str(refused.value)
    if content:
        assert "allowed: PDF, PNG image, JPEG image, WebP image" in str(refused.value)


def test_check_upload_refuses_files_over_the_size_limit(monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", str(len(PDF)))
    assert check_upload("exact.pdf", PDF) == ("exact.pdf", "application/pdf")
    with pytest.raises(InvalidInput, match=rf"is {len(PDF) + 1} bytes; the limit is {len(PDF)} bytes"):
        check_upload("big.pdf", PDF + b"\n")


def _document(session) -> Document:
    case = Case(id="DOC-1", workflow="onboarding", case_status="manual_review",
                collection_completed=True,
                entity=Entity(kind="person", name="Ada Lovelace", country="GB"))
    document = Document(document_type="passport", properties={})
    case.documents.append(document)
    session.add(case)
    session.flush()
    return document


def test_store_blob_is_content_addressed_and_inserts_once(db):
    with db.unit_of_work() as session:
        first = store_blob(session, PNG, "image/png")
        again = store_blob(session, PNG, "image/png")
        other = store_blob(session, PDF, "application/pdf")
    with db.unit_of_work() as session:  # a later transaction storing the same bytes
        later = store_blob(session, PNG, "image/png")
    assert first == again == later == hashlib.sha256(PNG).hexdigest()
    assert other == hashlib.sha256(PDF).hexdigest()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(FileBlob)) == 2
        blob = session.get(FileBlob, first)
        assert (blob.size, blob.content_type, bytes(blob.content)) == (len(PNG), "image/png", PNG)


def test_file_versions_count_up_and_every_version_stays_readable(db):
    with db.unit_of_work() as session:
        document = _document(session)
        v1 = add_file_version(session, document, "passport.png", PNG, "applicant")
        v2 = add_file_version(session, document, "passport-rescan.pdf", PDF, "applicant")
        v3 = add_file_version(session, document, "passport.png", PNG, "reviewer")
        ids = [v1.id, v2.id, v3.id]
        assert [v1.version, v2.version, v3.version] == [1, 2, 3]
        assert current_file(document) is v3
        document_id = document.id
    assert load_file(db, ids[0]) == ("passport.png", "image/png", PNG)
    assert load_file(db, ids[1]) == ("passport-rescan.pdf", "application/pdf", PDF)
    with db.read() as session:
        versions = session.execute(select(DocumentFile.version, DocumentFile.uploaded_by)
                                   .where(DocumentFile.document_id == document_id)
                                   .order_by(DocumentFile.version)).all()
        assert [tuple(v) for v in versions] == [(1, "applicant"), (2, "applicant"), (3, "reviewer")]
        # v1 and v3 share one blob
        assert session.scalar(select(func.count()).select_from(FileBlob)) == 2
    # a version added in a later transaction continues the count
    with db.unit_of_work() as session:
        document = session.get(Document, document_id)
        assert add_file_version(session, document, "fourth.pdf", PDF, "applicant").version == 4


def test_add_file_version_refuses_a_bad_file_and_writes_nothing(db):
    with db.unit_of_work() as session:
        document_id = _document(session).id
    with pytest.raises(InvalidInput, match="path separator"):
        with db.unit_of_work() as session:
            add_file_version(session, session.get(Document, document_id), "../x.pdf", PDF,
                             "applicant")
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(DocumentFile)) == 0
        assert session.scalar(select(func.count()).select_from(FileBlob)) == 0


def test_load_file_of_an_unknown_id_is_not_found(db):
    with pytest.raises(NotFound, match="document file 999 not found"):
        load_file(db, 999)
