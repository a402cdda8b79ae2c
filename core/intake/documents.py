"""Document files: the one gate every uploaded file passes, and where its bytes are kept.

A file enters Docket only through `check_upload` (import, re-upload): its type is read from
its bytes, never from its name, and its name must be a plain file name, refused rather than
rewritten. Bytes are stored once per content (`FileBlob`, keyed by SHA-256); each upload is a
new `DocumentFile` version of its document, old versions kept.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

import filetype
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import config, settings_store
from core.cases.case_keys import add_document_key
from core.errors import InvalidInput, NotFound
from core.store.db import Database
from core.store.models import Document, DocumentFile, FileBlob, utcnow

ALLOWED_CONTENT_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
    "image/webp": "WebP image",
}
MAX_FILENAME_CHARS = 255
MAX_UPLOADED_BY_CHARS = 64

_DRIVE_LETTER = re.compile(r"^[A-Za-z]:")
# Bidirectional overrides let "invoice\u202efdp.exe" display as "invoiceexe.pdf".
_BIDI_CONTROLS = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def filename_problem(filename: object) -> str | None:
    """Why `filename` is not a plain file name, or None when it is."""
    if not isinstance(filename, str):
        return f"the file name must be text, got {type(filename).__name__}"
    if not filename.strip():
        return "the file name is empty"
    if len(filename) > MAX_FILENAME_CHARS:
        return f"the file name is {len(filename):,} characters long; at most {MAX_FILENAME_CHARS}"
    for char in filename:
        if unicodedata.category(char) in ("Cc", "Cs") or char in _BIDI_CONTROLS:
            return (f"the file name {_shown(filename)} contains a control character "
                    f"(U+{ord(char):04X})")
    if "/" in filename or "\\" in filename:
        return f"the file name {_shown(filename)} contains a path separator (/ or \\)"
    if ".." in filename:
        return f"the file name {_shown(filename)} contains '..'"
    if _DRIVE_LETTER.match(filename):
        return f"the file name {_shown(filename)} starts with a drive letter"
    if filename != filename.strip():
        return f"the file name {_shown(filename)} starts or ends with white space"
    return None


def content_type_of(content: bytes) -> str | None:
    """The content type read from the file's first bytes (magic numbers), if it is allowed."""
    kind = filetype.guess(content)
    if kind is None or kind.mime not in ALLOWED_CONTENT_TYPES:
        return None
    return kind.mime


def upload_limit(source) -> int:
    """The largest document file accepted, in bytes, for a Database or Session: the value set
    on the Settings page, else DOCKET_MAX_UPLOAD_BYTES."""
    return settings_store.upload_limit(source)


def check_upload(filename: str, content: bytes, *, limit: int | None = None) -> tuple[str, str]:
    """(safe file name, content type) of an uploaded file, or InvalidInput saying why not.
    `limit` in bytes: `upload_limit(db)` where a database is at hand; None: the environment's
    DOCKET_MAX_UPLOAD_BYTES."""
    problem = filename_problem(filename)
    if problem:
        raise InvalidInput(problem)
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"the file content must be bytes, got {type(content).__name__}")
    size = len(content)
    limit = config.max_upload_bytes() if limit is None else limit
    if size == 0:
        raise InvalidInput(f"the file {filename!r} is empty")
    if size > limit:
        raise InvalidInput(f"the file {filename!r} is {size:,} bytes; the limit is {limit:,} bytes "
                           "(DOCKET_MAX_UPLOAD_BYTES)")
    content_type = content_type_of(bytes(content[:8192]))
    if content_type is None:
        guessed = filetype.guess(bytes(content[:8192]))
        found = f"its content is {guessed.mime}" if guessed else "its content is not a known type"
        allowed = ", ".join(ALLOWED_CONTENT_TYPES.values())
        raise InvalidInput(f"the file {filename!r} is refused: {found}; allowed: {allowed} "
                           "(the type is read from the content, not the name)")
    return filename, content_type


def store_blob(session: Session, content: bytes, content_type: str) -> str:
    """Stores the bytes once (content-addressed) and returns their SHA-256."""
    content = bytes(content)
    sha256 = hashlib.sha256(content).hexdigest()
    values = {"sha256": sha256, "content_type": content_type, "size": len(content),
              "content": content}
    dialect = session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two transactions storing the same bytes at once must not fail each other.
        session.execute(insert(FileBlob).values(**values)
                        .on_conflict_do_nothing(index_elements=["sha256"]))
    elif session.get(FileBlob, sha256) is None:
        session.add(FileBlob(**values))
        session.flush()
    return sha256


def add_file_version(session: Session, document: Document, filename: str, content: bytes,
                     uploaded_by: str) -> DocumentFile:
    """Adds the file as the document's newest version (highest version + 1) and returns it."""
    filename, content_type = check_upload(filename, content, limit=upload_limit(session))
    if not isinstance(uploaded_by, str) or not 0 < len(uploaded_by) <= MAX_UPLOADED_BY_CHARS:
        raise InvalidInput(f"uploaded_by must be 1 to {MAX_UPLOADED_BY_CHARS} characters")
    sha256 = store_blob(session, content, content_type)
    if document.id is None:
        session.flush()
    stored_max = session.scalar(select(DocumentFile.version)
                                .where(DocumentFile.document_id == document.id)
                                .order_by(DocumentFile.version.desc()).limit(1)) or 0
    pending_max = max((f.version for f in document.files if f.version is not None), default=0)
    version_file = DocumentFile(version=max(stored_max, pending_max) + 1, filename=filename,
                                blob_sha256=sha256, uploaded_at=utcnow(), uploaded_by=uploaded_by)
    document.files.append(version_file)
    session.flush()
    add_document_key(session, document.case_id, sha256, filename)  # related cases
    return version_file


def current_file(document: Document) -> DocumentFile | None:
    """The document's newest file version (the one shown), or None before any upload."""
    return max(document.files, key=lambda f: f.version, default=None)


def load_file(db: Database, document_file_id: int) -> tuple[str, str, bytes]:
    """(file name, content type, bytes) of one stored file version, for preview or download."""
    with db.read() as session:
        row = session.execute(
            select(DocumentFile.filename, FileBlob.content_type, FileBlob.content)
            .join(FileBlob, FileBlob.sha256 == DocumentFile.blob_sha256)
            .where(DocumentFile.id == document_file_id)).first()
    if row is None:
        raise NotFound(f"document file {document_file_id!r} not found")
    return row.filename, row.content_type, bytes(row.content)
