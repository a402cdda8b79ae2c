"""Checks an examiner's case file (a ZIP written by `python -m core export-case`, or the folder
it was unpacked to): every file against its SHA-256, and the Ed25519 signatures.

This module is copied byte for byte into every case file as `verify_bundle.py`, so an examiner
can check a file without Docket: it uses the standard library only, and checks the signatures
too when the `cryptography` package can be imported (it says so when it cannot).
`python -m core verify-bundle FILE.zip` runs the same code.

How a bundle hangs together (docs/RECORDS.md, "The examiner's case file"):
- `manifest.json` lists the SHA-256 of every content file (case.pdf, case.html, case.json, the
  documents, audit/events.json, verify_bundle.py); `manifest.sig` signs it. An unchanged case
  exports the same manifest, byte for byte.
- each audit event in `audit/events.json` has an RFC 9162 inclusion proof in
  `audit/proofs.json` against the checkpoint signed for this export (`audit/checkpoint.txt`).
- `export.json` says who exported it when, for whom, and lists the SHA-256 of manifest.json and
  of the files written for this export only (manifest.sig, the public key, the checkpoint and
  inclusion proofs, the access log); `export.sig` signs it and records export.json's SHA-256
  plus a checksum of itself, so a changed byte anywhere names the file it is in.

Exit status: 0 every file matches; 1 a file was changed, added or removed (named); 2 the
bundle could not be read.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import zipfile

EXPORT_SIG = "export.sig"
EXPORT = "export.json"
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
PUBLIC_KEY = "public_key.pem"
EVENTS = "audit/events.json"
PROOFS = "audit/proofs.json"
CHECKPOINT = "audit/checkpoint.txt"


class BundleError(Exception):
    """The bundle cannot be read at all (exit 2)."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical(value) -> bytes:
    """Canonical JSON bytes: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signature_record(file: str, data: bytes, signature: bytes | None, key_sha256: str | None
                     ) -> bytes:
    """The text of a `.sig` file: the signed file's name and SHA-256, the Ed25519 signature
    (None: unsigned), the public key's SHA-256, and `check`, the SHA-256 of the rest (a changed
    byte in the .sig file itself is then told apart from one in the file it signs)."""
    body = {"algorithm": "Ed25519", "file": file, "sha256": sha256_hex(data),
            "public_key_sha256": key_sha256,
            "signature": base64.b64encode(signature).decode() if signature else None}
    return canonical({**body, "check": sha256_hex(canonical(body))}) + b"\n"


def _safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and "\\" not in name and \
        all(p not in ("", ".", "..") for p in parts)


def read_bundle(path: str) -> tuple[dict[str, bytes], list[tuple[str, str]]]:
    """Every file of a ZIP or folder by its name inside it, and the files that could not be
    read (name, why): a damaged ZIP entry is a changed file, not an unreadable bundle."""
    files: dict[str, bytes] = {}
    damaged: list[tuple[str, str]] = []
    if os.path.isdir(path):
        for root, _dirs, names in os.walk(path):
            for n in names:
                full = os.path.join(root, n)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                if rel == "__pycache__" or rel.startswith("__pycache__/"):
                    continue
                with open(full, "rb") as fh:
                    files[rel] = fh.read()
        return files, damaged
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise BundleError(f"{path}: not a readable ZIP ({exc})") from exc
    with archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            if not _safe_name(info.filename):
                damaged.append((info.filename, "unsafe name in the ZIP (absolute or ..)"))
                continue
            try:
                files[info.filename] = archive.read(info)
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                damaged.append((info.filename, f"damaged in the ZIP ({exc})"))
    return files, damaged


def _load_json(files: dict[str, bytes], name: str):
    try:
        return json.loads(files[name].decode())
    except (ValueError, UnicodeDecodeError):
        return None


def _check_sig_record(files: dict[str, bytes], sig_name: str) -> tuple[dict | None, str]:
    """The parsed .sig record, or why it is not one (its own checksum fails)."""
    record = _load_json(files, sig_name)
    if not isinstance(record, dict) or "check" not in record:
        return None, "changed (not a signature record)"
    body = {k: v for k, v in record.items() if k != "check"}
    if sha256_hex(canonical(body)) != record["check"]:
        return None, "changed (its checksum does not match)"
    return record, ""


def _signature_problems(files: dict[str, bytes], records: dict[str, dict]) -> tuple[list, str]:
    """Checks each signature with the bundle's public key, if `cryptography` is importable."""
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.serialization import load_pem_public_key
    except ImportError:
        return [], "signatures not checked: the `cryptography` package is not installed"
    if all(not r.get("signature") for r in records.values()):
        return [], "the bundle is not signed (no signing key was configured)"
    try:
        key = load_pem_public_key(files[PUBLIC_KEY])
    except (KeyError, ValueError, TypeError):
        return [(PUBLIC_KEY, "not a public key")], ""
    problems = []
    for sig_name, record in sorted(records.items()):
        try:
            key.verify(base64.b64decode(record.get("signature") or ""), files[record["file"]])
        except (InvalidSignature, ValueError, KeyError, TypeError):
            problems.append((sig_name, f"the Ed25519 signature of {record.get('file')} "
                                       "does not verify"))
    fingerprint = sha256_hex(files[PUBLIC_KEY])
    return problems, f"signatures verified with the public key sha256:{fingerprint}"


def _inclusion_root(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """The root an RFC 9162 (2.1.3.2) inclusion proof leads to from `leaf` (None: malformed)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, hashlib.sha256(b"\x00" + leaf).digest()
    for p in proof:
        if sn == 0 or len(p) != 32:
            return None
        if fn & 1 or fn == sn:
            r = hashlib.sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hashlib.sha256(b"\x01" + r + p).digest()
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def proof_problems(files: dict[str, bytes]) -> tuple[list[tuple[str, str]], str]:
    """Each audit event's inclusion proof against the export's checkpoint (the root in
    audit/proofs.json, which the signed audit/checkpoint.txt states too)."""
    proofs = _load_json(files, PROOFS) if PROOFS in files else None
    events = _load_json(files, EVENTS) if EVENTS in files else None
    if not isinstance(proofs, dict) or not proofs.get("checkpoint") or events is None:
        return [], "no inclusion proofs in this bundle"
    point = proofs["checkpoint"]
    note = files.get(CHECKPOINT, b"").decode(errors="replace").splitlines()
    root = bytes.fromhex(point["root"])
    if len(note) < 3 or note[1] != str(point["size"]) or \
            base64.b64decode(note[2] + "==") != root:
        return [(PROOFS, "its checkpoint differs from audit/checkpoint.txt")], ""
    by_seq = {p["seq"]: p for p in proofs.get("proofs") or []}
    for event in events:
        proof = by_seq.get(event.get("seq"))
        if proof is None or proof["hash"] != event.get("hash"):
            return [(EVENTS, f"event seq {event.get('seq')} has no matching proof")], ""
        got = _inclusion_root(proof["index"], point["size"], bytes.fromhex(proof["hash"]),
                              [bytes.fromhex(x) for x in proof["proof"]])
        if got != root:
            return [(PROOFS, f"the proof of event seq {event.get('seq')} does not lead to "
                             "the checkpoint's root")], ""
    return [], f"{len(events)} audit events proven in the checkpoint of {point['size']} events"


def verify_files(files: dict[str, bytes]) -> tuple[list[tuple[str, str]], list[str]]:
    """(problems as (file, what), notes). No problem: every file is as exported."""
    problems: list[tuple[str, str]] = []
    for needed in (EXPORT_SIG, EXPORT, MANIFEST):
        if needed not in files:
            problems.append((needed, "missing"))
    if problems:
        return problems, []
    export_record, why = _check_sig_record(files, EXPORT_SIG)
    if export_record is None:
        return [(EXPORT_SIG, why)], []
    if export_record.get("file") != EXPORT or sha256_hex(files[EXPORT]) != export_record.get("sha256"):
        return [(EXPORT, "changed (its SHA-256 differs from the one export.sig records)")], []
    export = _load_json(files, EXPORT) or {}
    expected: dict[str, str] = {MANIFEST: str(export.get("manifest_sha256"))}
    expected.update(export.get("files") or {})
    if sha256_hex(files[MANIFEST]) != expected[MANIFEST]:
        return [(MANIFEST, "changed (its SHA-256 differs from the one export.json records)")], []
    manifest = _load_json(files, MANIFEST) or {}
    expected.update(manifest.get("files") or {})
    for name, digest in sorted(expected.items()):
        if name not in files:
            problems.append((name, "missing"))
        elif sha256_hex(files[name]) != digest:
            problems.append((name, "changed (its SHA-256 differs from the manifest's)"))
    for name in sorted(set(files) - set(expected) - {EXPORT, EXPORT_SIG}):
        problems.append((name, "not in the manifest (added)"))
    if problems:
        return problems, []
    records = {EXPORT_SIG: export_record}
    if MANIFEST_SIG in files:
        manifest_record, why = _check_sig_record(files, MANIFEST_SIG)
        if manifest_record is None:
            return [(MANIFEST_SIG, why)], []
        records[MANIFEST_SIG] = manifest_record
    sig_problems, note = _signature_problems(files, records)
    if sig_problems:
        return sig_problems, [note]
    inclusion, proved = proof_problems(files)
    return inclusion, [note, proved]


def verify_path(path: str) -> tuple[list[tuple[str, str]], list[str], int]:
    """Problems, notes and the number of files read (BundleError: unreadable)."""
    files, damaged = read_bundle(path)
    if damaged:
        return damaged, [], len(files)
    if not files:
        raise BundleError(f"{path}: no files in it")
    problems, notes = verify_files(files)
    return problems, notes, len(files)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1 or (args and args[0] in ("-h", "--help")):
        print("usage: python verify_bundle.py [CASE-FILE.zip | FOLDER]  "
              "(default: the folder this script is in)")
        return 2 if len(args) > 1 else 0
    path = args[0] if args else os.path.dirname(os.path.abspath(__file__))
    try:
        problems, notes, count = verify_path(path)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        for name, what in problems:
            print(f"CHANGED: {name}: {what}")
        return 1
    print(f"OK: all {count} files are as exported")
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
