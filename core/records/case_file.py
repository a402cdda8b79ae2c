"""The examiner's case file: one case as a signed ZIP a regulator can read and check without
Docket (docs/RECORDS.md, "The examiner's case file").

`export_case_file` (team leads and admins) gathers the case (core/records/case_file_contents.py),
renders it (case_file_render.py), adds every document version's bytes, the case's audit events,
a fresh signed checkpoint of the audit chain with each event's inclusion proof, and the access
log; signs it; records the export in the access log (`case.exported`, with the manifest's
SHA-256 and the recipient); and returns the ZIP's bytes.

Two promises pull apart: "re-exporting an unchanged case gives the same manifest" and "each
export is audited, against a fresh checkpoint". Both the checkpoint and the export's own audit
event change the chain, so they cannot be in what the manifest covers. The bundle has two
layers:

- content, covered by `manifest.json` (+ `manifest.sig`): case.pdf, case.html, case.json, the
  documents, audit/events.json (the case's events, access events left out) and
  verify_bundle.py. Deterministic: the same case gives the same bytes, so the same manifest.
- the export, covered by `export.json` (+ `export.sig`): who exported it, when, for whom, the
  manifest's SHA-256, and the SHA-256 of the export-time files (audit/checkpoint.txt,
  audit/proofs.json, access_log.json, manifest.sig, public_key.pem).

The ZIP itself is written with fixed timestamps and sorted entries.
"""
from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from core.access.actors import SYSTEM_ACTOR, active_user
from core.access.roles import Permission, can
from core.cases.actions import load_case
from core.cases.retention_state import check_visible
from core.errors import InvalidInput, NotAllowed
from core.records import access_log, checkpoint
from core.records.case_file_contents import (
    ACCESS_KINDS,
    Profile,
    audit_events,
    gather,
    utc_text,
)
from core.records.case_file_render import render_html, render_pdf
from core.records.case_file_verify import (
    EXPORT,
    EXPORT_SIG,
    MANIFEST,
    MANIFEST_SIG,
    PUBLIC_KEY,
    canonical,
    sha256_hex,
    signature_record,
)
from core.store.db import Database
from core.store.models import DocumentFile, FileBlob, utcnow

VERIFY_SCRIPT = "verify_bundle.py"
_VERIFY_SOURCE = Path(__file__).resolve().parent / "case_file_verify.py"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # every entry's timestamp: the ZIP's bytes depend on content only
MANIFEST_FORMAT = "docket.case-file.manifest.v1"
EXPORT_FORMAT = "docket.case-file.export.v1"
MAX_NAME = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True)
class CaseFileExport:
    data: bytes              # the ZIP
    case_id: str
    profile: str
    manifest_sha256: str
    files: list[str]         # every entry of the ZIP, sorted
    pages: int               # of case.pdf
    signed: bool

    @property
    def filename(self) -> str:
        return f"case-file-{safe_name(self.case_id)}-{self.profile}.zip"


def safe_name(name: str) -> str:
    """A file name that is only a name: its last path component, letters, digits, `. _ - `
    and spaces (others become `_`), no leading dot, at most MAX_NAME characters (the extension
    kept); "file" when nothing is left. `../../etc/passwd` becomes `passwd`."""
    text = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")[-1]
    text = _UNSAFE.sub("_", text).strip(" .")
    if len(text) > MAX_NAME:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:12] if dot and stem else ""
        text = text[:MAX_NAME - len(ext) - 1].rstrip(" .") + ("." + ext if ext else "")
    return text or "file"


def check_may_export(db: Database, actor: str, case_id: str) -> None:
    """Team leads and admins (and the shell operator) export case files: NotAllowed else; a
    case restricted to admins (an erasure request, docs/RECORDS.md) is not found for a lead."""
    with db.read() as s:
        if actor == SYSTEM_ACTOR:
            return
        user = active_user(s, actor)
        if not can(user.role, Permission.EXPORT_CASE_FILE):
            raise NotAllowed(f"{actor} ({user.role}) may not export a case file: "
                             "team leads and admins do")
        check_visible(load_case(s, case_id), user)


def _document_files(db: Database, contents: dict[str, Any]) -> tuple[dict[str, bytes],
                                                                     dict[str, str]]:
    """Each document version's bytes by its path in the bundle, and the paths by file id."""
    by_id: dict[int, str] = {}
    for doc in contents["documents"]:
        folder = f"documents/{doc['id']}-{safe_name(doc['document_type'])}"
        for v in doc["versions"]:
            by_id[v["id"]] = f"{folder}/{v['version']}-{safe_name(v['filename'])}"
    files: dict[str, bytes] = {}
    if by_id:
        with db.read() as s:
            rows = s.execute(select(DocumentFile.id, FileBlob.content)
                             .join(FileBlob, FileBlob.sha256 == DocumentFile.blob_sha256)
                             .where(DocumentFile.id.in_(list(by_id))))
            for file_id, content in rows:
                files[by_id[file_id]] = bytes(content)
    return files, {str(k): v for k, v in by_id.items()}


def _json_file(value: Any) -> bytes:
    return canonical(value) + b"\n"


def _signing() -> tuple[Any, bytes] | None:
    """The installation's signing key and its public key (PEM), or None without one."""
    try:
        key = checkpoint.load_signing_key()
    except (OSError, InvalidInput):
        return None
    return key, checkpoint.public_key_pem().encode()


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, entries[name], compresslevel=6)
    return out.getvalue()


def build_content(db: Database, case_id: str, profile: Profile) -> tuple[dict[str, bytes], int]:
    """The content files (what the manifest covers) and case.pdf's page count."""
    with db.read() as s:
        load_case(s, case_id)
        contents = gather(s, db, case_id, profile)
    documents, paths = _document_files(db, contents)
    html = render_html(contents, files=paths)
    pdf, pages = render_pdf(html)
    content = {"case.html": html.encode(), "case.pdf": pdf,
               "case.json": _json_file({k: v for k, v in contents.items()
                                        if k != "audit_events"}),
               "audit/events.json": _json_file(contents["audit_events"]),
               VERIFY_SCRIPT: _VERIFY_SOURCE.read_bytes(), **documents}
    return content, pages


def _access_log(db: Database, case_id: str, profile: Profile) -> list[dict[str, Any]]:
    """The case's access events (views, downloads, exports), oldest first. The subject-access
    copy leaves out the exports (to whom a file went may be a report to an authority)."""
    with db.read() as s:
        rows = [e for e in audit_events(s, case_id) if e.kind in ACCESS_KINDS]
    return [{"at": utc_text(e.at), "actor": e.actor, "kind": e.kind, "after": e.after,
             "via": e.via, "seq": e.seq} for e in rows
            if profile is Profile.EXAMINER or e.kind != access_log.EXPORTED]


def _proofs(db: Database, events: list[dict[str, Any]]) -> tuple[bytes, bytes]:
    """A fresh signed checkpoint (its note) and each event's inclusion proof against it."""
    point = checkpoint.write_checkpoint(db, reason="case file export")
    seqs = [e["seq"] for e in events if e.get("seq") is not None]
    proofs = checkpoint.inclusion_proofs(db, seqs, point) if seqs else {}
    proof_list = [{"seq": p.seq, "index": p.index, "hash": p.hash, "proof": p.proof}
                  for p in proofs.values()]
    return point.note.encode(), _json_file({
        "checkpoint": {"id": point.id, "size": point.size, "root": point.root_hex,
                       "created_at": utc_text(point.created_at), "key_id": point.key_id},
        "hash": "RFC 6962 Merkle tree over the chain's event hashes (docs/RECORDS.md)",
        "proofs": proof_list,
        "not_covered": sorted(set(e["id"] for e in events if e.get("seq") is None))})


def export_case_file(db: Database, case_id: str, *, profile: str, actor: str,
                     recipient: str) -> CaseFileExport:
    """The case file of `case_id` as a ZIP (see the module docstring), exported by `actor` for
    `recipient`. NotAllowed for anyone but a team lead or an admin; NotFound for no such case;
    InvalidInput for an unknown profile or no recipient. The export is recorded in the case's
    access log before the ZIP is returned."""
    try:
        chosen = Profile(profile)
    except ValueError:
        raise InvalidInput(f"profile must be one of {', '.join(p.value for p in Profile)}") \
            from None
    recipient = " ".join(str(recipient or "").split())
    if not recipient or len(recipient) > access_log.MAX_RECIPIENT:
        raise InvalidInput(f"name the recipient (up to {access_log.MAX_RECIPIENT} characters)")
    check_may_export(db, actor, case_id)
    content, pages = build_content(db, case_id, chosen)
    manifest = _json_file({"format": MANIFEST_FORMAT, "case_id": case_id,
                           "profile": chosen.value,
                           "files": {name: sha256_hex(data) for name, data in content.items()}})
    manifest_sha = sha256_hex(manifest)
    signing = _signing()
    key, public_pem = signing if signing else (None, None)
    key_sha = sha256_hex(public_pem) if public_pem else None

    def sig(name: str, data: bytes) -> bytes:
        return signature_record(name, data, key.sign(data) if key else None, key_sha)

    events = json.loads(content["audit/events.json"])
    note, proofs = _proofs(db, events)
    export_files = {MANIFEST_SIG: sig(MANIFEST, manifest), "audit/checkpoint.txt": note,
                    "audit/proofs.json": proofs,
                    "access_log.json": _json_file(_access_log(db, case_id, chosen))}
    if public_pem:
        export_files[PUBLIC_KEY] = public_pem
    export = _json_file({
        "format": EXPORT_FORMAT, "case_id": case_id, "profile": chosen.value,
        "exported_at": utc_text(utcnow()), "exported_by": actor, "recipient": recipient,
        "manifest_sha256": manifest_sha, "signed": key is not None,
        "public_key_sha256": key_sha,
        "files": {name: sha256_hex(data) for name, data in export_files.items()}})
    entries = {**content, MANIFEST: manifest, **export_files, EXPORT: export,
               EXPORT_SIG: sig(EXPORT, export)}
    data = _zip(entries)
    with db.unit_of_work() as s:
        access_log.case_exported(s, case_id=case_id, actor=actor, profile=chosen.value,
                                 manifest_sha256=manifest_sha, recipient=recipient)
    return CaseFileExport(data, case_id, chosen.value, manifest_sha, sorted(entries), pages,
                          key is not None)
