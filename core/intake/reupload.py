"""The applicant's side of a re-upload link: what the link asks for, and taking the files.

A link (`core.notifications.reupload_tokens`) covers one case and some blocks:

- `document:ID` blocks (from "Ask for all re-uploads"): the applicant sends a new file for each.
  It becomes the document's current version (old versions kept) and the block returns to
  awaiting review.
- a `kyc:ID` block (from a KYC "Ask to re-upload"): the UBO's new KYC flow, served by Docket as
  an identity document upload (passport or identity card). The file becomes a new version of
  the UBO's identity document of that type (or that document, if the UBO had none). The block
  leaves "Pending re-upload" (awaiting review) while the KYC flow stays *sent*: the identity
  verification result is awaited, so the block shows "Pending ID verification", and so does the
  case (SPEC rule 6) unless something else comes first. The previous vendor result is cleared
  (it was about the identity the reviewer asked to redo; the audit event keeps it), so nobody
  approves the KYC block on it; the vendor's `kyc_completed` event brings the new result and
  the case to Manual review.

`submit_reupload` checks everything first — the token (forged, expired, used, out of scope),
that the case still waits for these blocks, that every requested block has a file, and every
file's type (by content) and size — and then writes all the new versions, marks the token used
and recomputes the status in ONE transaction. Any refusal writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.cases.actions import BlockRef, load_case
from core.cases.state import refresh_status, touch
from core.cases.status import FINAL_STATUSES, BlockKind, BlockStatus, CaseStatus
from core.errors import InvalidInput
from core.intake.documents import add_file_version, check_upload, upload_limit
from core.notifications.reupload_tokens import (
    InvalidReuploadToken,
    ReuploadScope,
    consume_reupload_token,
    verify_reupload_token,
)
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Document, Ubo
from core.workflows.definitions import definition_of

# The identity documents a UBO may send in their new KYC flow, with fallback labels.
IDENTITY_DOCUMENT_TYPES = {"passport": "Passport", "identity_card": "Identity card"}
APPLICANT = "applicant"

CLOSED = ("This application no longer waits for these documents (it was decided or "
          "changed meanwhile). Nothing was uploaded; contact us if you think this is wrong.")


@dataclass(frozen=True)
class RequestedItem:
    """One thing the link asks for."""
    block: str                       # document:ID | kyc:ID
    kind: str                        # document | kyc
    label: str                       # "Certificate of incorporation", "Identity document"
    reason: str | None               # why (the reviewer's reason)
    current_filename: str | None     # the file we have now (documents)
    person: str | None = None        # the UBO's name (kyc)
    identity_types: tuple[tuple[str, str], ...] = ()   # (type, label) choices (kyc)
    default_identity_type: str | None = None


@dataclass(frozen=True)
class ReuploadRequest:
    token_id: str
    case_id: str
    applicant: str                   # the entity's name
    items: tuple[RequestedItem, ...]
    expires_at: object


@dataclass(frozen=True)
class ReuploadResult:
    case_id: str
    status: CaseStatus
    versions: dict[str, int]         # block -> the new current version number


def _doc_label(definition: dict, document_type: str) -> str:
    return (definition.get("document_types") or {}).get(
        document_type, document_type.replace("_", " ").capitalize())


def _identity_types(definition: dict) -> tuple[tuple[str, str], ...]:
    known = definition.get("document_types") or {}
    offered = [(t, known[t]) for t in IDENTITY_DOCUMENT_TYPES if t in known]
    return tuple(offered or IDENTITY_DOCUMENT_TYPES.items())


def _ubo_identity_documents(case: Case, ubo: Ubo) -> list[Document]:
    return [d for d in case.documents
            if d.ubo_id == ubo.id and d.document_type in IDENTITY_DOCUMENT_TYPES]


def _waiting_blocks(case: Case, scope: ReuploadScope) -> list[tuple[BlockRef, Document | Ubo]]:
    """The scope's blocks, each still "Pending re-upload"; InvalidReuploadToken('closed')
    when the case is final or a block no longer waits for a file."""
    if CaseStatus(case.case_status) in FINAL_STATUSES:
        raise InvalidReuploadToken("closed", CLOSED)
    out = []
    for text in scope.blocks:
        try:
            ref = BlockRef.parse(text)
        except InvalidInput:
            raise InvalidReuploadToken("scope", "This link names something we do not know.") from None
        pool = case.documents if ref.kind is BlockKind.DOCUMENT else case.ubos
        block = next((b for b in pool if b.id == ref.id), None)
        if block is None or block.block_status != BlockStatus.PENDING_REUPLOAD.value:
            raise InvalidReuploadToken("closed", CLOSED)
        out.append((ref, block))
    return out


def _describe(session: Session, case: Case, scope: ReuploadScope) -> ReuploadRequest:
    definition = definition_of(session, case.workflow)
    items = []
    for ref, block in _waiting_blocks(case, scope):
        if ref.kind is BlockKind.DOCUMENT:
            current = max(block.files, key=lambda f: f.version, default=None)
            items.append(RequestedItem(str(ref), "document",
                                       _doc_label(definition, block.document_type),
                                       block.reupload_reason,
                                       current.filename if current else None))
        else:
            choices = _identity_types(definition)
            existing = _ubo_identity_documents(case, block)
            default = existing[-1].document_type if existing else choices[0][0]
            if default not in dict(choices):
                default = choices[0][0]
            items.append(RequestedItem(str(ref), "kyc", "Identity document",
                                       block.reupload_reason, None, block.full_name,
                                       choices, default))
    return ReuploadRequest(scope.token_id, case.id, case.entity.name, tuple(items),
                           scope.expires_at)


def reupload_request(db: Database, token: str) -> ReuploadRequest:
    """What the link asks for, or InvalidReuploadToken (forged / expired / used / scope /
    closed) with a message for the applicant."""
    scope = verify_reupload_token(db, token)
    with db.read() as session:
        case = load_case(session, scope.case_id)
        return _describe(session, case, scope)


def _check_files(request: ReuploadRequest, files: dict, identity_type: str | None,
                 limit: int | None = None) -> dict[str, tuple[str, bytes]]:
    if not isinstance(files, dict):
        raise InvalidInput("the files must be given per requested document")
    wanted = {item.block: item for item in request.items}
    extra = [str(b) for b in files if str(b) not in wanted]
    if extra:
        raise InvalidReuploadToken("scope", "This link does not cover "
                                   + ", ".join(extra[:5]) + "; nothing was uploaded.")
    problems = []
    checked: dict[str, tuple[str, bytes]] = {}
    for block, item in wanted.items():
        given = files.get(block)
        if not given:
            problems.append(f"{item.label}: no file chosen")
            continue
        try:
            filename, content = given
            check_upload(filename, content, limit=limit)
        except InvalidInput as e:
            problems.append(f"{item.label}: {e}")
            continue
        except (TypeError, ValueError):
            problems.append(f"{item.label}: give a file name and its content")
            continue
        if item.kind == "kyc" and identity_type not in dict(item.identity_types):
            problems.append(f"{item.label}: choose the kind of document "
                            f"({', '.join(label for _, label in item.identity_types)})")
            continue
        checked[block] = (filename, bytes(content))
    if problems:
        raise InvalidInput("nothing was uploaded; please fix this and send again", problems)
    return checked


def submit_reupload(db: Database, token: str, files: dict[str, tuple[str, bytes]], *,
                    identity_document_type: str | None = None) -> ReuploadResult:
    """Takes the files for a re-upload link: `files` maps each requested block
    (`document:ID`, `kyc:ID`) to (file name, bytes); `identity_document_type` (passport,
    identity_card) says what the file of a `kyc:` block is. All or nothing."""
    request = reupload_request(db, token)           # token, case and blocks, before any write
    checked = _check_files(request, files, identity_document_type, upload_limit(db))
    versions: dict[str, int] = {}
    with db.unit_of_work() as session:
        case = load_case(session, request.case_id, for_update=True)
        scope = ReuploadScope(request.token_id, case.id, tuple(i.block for i in request.items),
                              request.expires_at)
        consume_reupload_token(session, request.token_id)  # a concurrent second use fails here
        blocks = _waiting_blocks(case, scope)       # again, under the lock
        touch(case)
        for ref, block in blocks:
            filename, content = checked[str(ref)]
            if ref.kind is BlockKind.DOCUMENT:
                versions[str(ref)] = _new_document_version(session, case, block, filename,
                                                           content)
            else:
                versions[str(ref)] = _new_kyc_submission(session, case, block, filename, content,
                                                         identity_document_type)
        audit.record(session, case_id=case.id, actor=APPLICANT, kind="reupload.link_used",
                     after={"blocks": [str(ref) for ref, _ in blocks],
                            "token": request.token_id})
        status = refresh_status(session, case, APPLICANT)
    return ReuploadResult(request.case_id, status, versions)


def _new_document_version(session: Session, case: Case, document: Document, filename: str,
                          content: bytes) -> int:
    before = {"block": f"document:{document.id}", "block_status": document.block_status,
              "reupload_reason": document.reupload_reason}
    version_file = add_file_version(session, document, filename, content, APPLICANT)
    document.block_status, document.reupload_reason = None, None
    audit.record(session, case_id=case.id, actor=APPLICANT, kind="document.uploaded",
                 before=before,
                 after={"block": f"document:{document.id}", "block_status": None,
                        "version": version_file.version, "filename": version_file.filename,
                        "sha256": version_file.blob_sha256, "via": "re-upload link"})
    return version_file.version


def _new_kyc_submission(session: Session, case: Case, ubo: Ubo, filename: str, content: bytes,
                        identity_type: str) -> int:
    document = next((d for d in reversed(_ubo_identity_documents(case, ubo))
                     if d.document_type == identity_type), None)
    if document is None:
        document = Document(document_type=identity_type, properties={}, ubo_id=ubo.id)
        case.documents.append(document)
        session.flush()
    version = _new_document_version(session, case, document, filename, content)
    before = {"block": f"kyc:{ubo.id}", "block_status": ubo.block_status,
              "kyc_state": ubo.kyc_state, "reupload_reason": ubo.reupload_reason,
              "result": ubo.kyc_result}
    ubo.block_status, ubo.reupload_reason = None, None
    ubo.kyc_state, ubo.kyc_result = "sent", None   # the new verification's result is awaited
    audit.record(session, case_id=case.id, actor=APPLICANT, kind="kyc.resubmitted",
                 before=before,
                 after={"block": f"kyc:{ubo.id}", "block_status": None, "kyc_state": "sent",
                        "identity_document": f"document:{document.id}",
                        "document_type": identity_type, "version": version})
    return version
