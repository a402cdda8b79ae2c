"""Document uploads: a new file version of a case's document block, as multipart/form-data.

The file passes the same gate as an import or a re-upload (`core.intake.documents`: type read
from the content, plain file name, size limit) and is stored by the `document_uploaded` event
(the key's user must be allowed to import cases; the block returns to awaiting review).

A body larger than the upload limit is refused (413) before it is read whole: at once when its
Content-Length says so, otherwise as soon as the bytes read pass the limit. The file's own
size is checked against the exact limit once parsed.
"""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import Db, Intake, acting
from api.problems import PROBLEM_RESPONSES
from core.access.api_keys import ApiPrincipal
from core.cases.read import case_detail
from core.errors import InvalidInput
from core.intake.documents import upload_limit
from core.intake.events import report_event
from core.store.db import Database

router = APIRouter(tags=["documents"], responses=PROBLEM_RESPONSES)

MULTIPART = "multipart/form-data"
# Room for the boundaries, the part headers and the document_id field around the file.
FORM_OVERHEAD = 64 * 1024
MAX_ID = 2_147_483_647  # ids are 32-bit integers in the database

REQUEST_BODY = {"required": True, "content": {MULTIPART: {"schema": {
    "type": "object", "required": ["document_id", "file"],
    "properties": {
        "document_id": {"type": "integer", "description": "the document block's id "
                        "(`documents[].id` of GET /cases/{case_id})"},
        "file": {"type": "string", "format": "binary", "description": "PDF, PNG, JPEG or WebP, "
                 "read from the content; at most the upload limit (Settings, else "
                 "DOCKET_MAX_UPLOAD_BYTES)"}}}}}}


class UploadedDocument(BaseModel):
    case_id: str
    document_id: int
    version: int          # the new file version (the block's current file)
    filename: str
    content_type: str
    size: int
    block_status: str     # awaiting_review
    status: str           # the case's status afterwards
    case_version: int


class _TooLarge(Exception):
    pass


def _too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the upload is larger than the limit of {limit:,} bytes "
                              "(uploads.max_bytes on the Settings page, else "
                              "DOCKET_MAX_UPLOAD_BYTES); nothing was stored")


def _bounded(request: Request, most: int) -> Request:
    """The same request, whose body reading stops with _TooLarge past `most` bytes."""
    seen = 0

    async def receive():
        nonlocal seen
        message = await request.receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > most:
                raise _TooLarge
        return message

    return Request(request.scope, receive)


def _field_problem(field: str, reason: str) -> InvalidInput:
    return InvalidInput("the upload was refused; nothing was stored", [f"{field}: {reason}"])


async def read_upload(request: Request, limit: int) -> tuple[int, str, bytes]:
    """(document id, file name, content) of the form; HTTPException 413 past `limit`, having
    read at most `limit` + FORM_OVERHEAD bytes of the body."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise _too_large(limit)
    try:
        async with _bounded(request, limit + FORM_OVERHEAD).form(max_files=1,
                                                                 max_fields=1) as form:
            raw_id, file = form.get("document_id"), form.get("file")
            if not isinstance(file, UploadFile):
                raise _field_problem("file", "a file part named `file` is required")
            if (file.size or 0) > limit:
                raise _too_large(limit)
            content = await file.read()
            filename = file.filename
    except _TooLarge:
        raise _too_large(limit) from None
    if not isinstance(raw_id, str) or not raw_id.strip().isdigit() or not (
            0 < int(raw_id) <= MAX_ID):
        raise _field_problem("document_id", "a document block's id (a whole number) is required")
    return int(raw_id), filename or "", content


def _store(db: Database, p: ApiPrincipal, case_id: str, document_id: int, filename: str,
           content: bytes) -> UploadedDocument:
    with acting(p):
        try:
            report_event(db, case_id, "document_uploaded", reporter=p.username,
                         document_id=document_id, filename=filename, content=content)
        except InvalidInput as e:  # every refusal here is about the file: name it
            raise _field_problem("file", str(e)) from None
    after = case_detail(db, case_id, with_timeline=False)
    blocks = [*after.documents, *(d for kyc in after.kyc_blocks for d in kyc.documents)]
    block = next(d for d in blocks if d.id == document_id)  # a UBO's documents are in its KYC block
    current = max(block.files, key=lambda f: f.version)
    return UploadedDocument(case_id=case_id, document_id=document_id, version=current.version,
                            filename=current.filename, content_type=current.content_type,
                            size=current.size, block_status=block.status,
                            status=after.status, case_version=after.version)


@router.post("/cases/{case_id}/documents", response_model=UploadedDocument, status_code=201,
             openapi_extra={"requestBody": REQUEST_BODY},
             summary="Upload a new file version of a document block (multipart/form-data)")
async def post_document(case_id: str, request: Request, p: Intake, db: Db) -> UploadedDocument:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != MULTIPART:
        raise HTTPException(415, f"send the file as {MULTIPART} with the fields document_id "
                                 "and file")
    limit = await run_in_threadpool(upload_limit, db)
    document_id, filename, content = await read_upload(request, limit)
    return await run_in_threadpool(_store, db, p, case_id, document_id, filename, content)
