"""Signed checkpoints of the audit chain: the proof that history was not rewritten.

The hash chain (`audit verify`) shows that no event was changed *unless* every hash after it
was recomputed too. A checkpoint closes that gap: it commits to the first n chained events
through their RFC 6962 Merkle root (core/records/merkle.py), signed with an Ed25519 key kept
in a file outside the database (DOCKET_AUDIT_SIGNING_KEY). Someone who edits an event and
recomputes the chain cannot recompute a signed checkpoint without the key, so verifying
against any earlier checkpoint fails. The note's format is in core/records/signed_note.py
and docs/RECORDS.md ("Checkpoints").

Written on demand (`python -m core audit checkpoint`), daily by the worker
(`checkpoint_if_due`) and with each case file, whose events carry inclusion proofs against
it (`inclusion_proofs`).
"""
from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Iterable, Iterator

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from sqlalchemy import select

from core import config
from core.errors import InvalidInput, NotFound
from core.records import merkle, signed_note
from core.records.signed_note import NoteBody, NoteError
from core.store.audit_checkpoint_models import AuditCheckpoint
from core.store.db import Database
from core.store.models import AuditEvent, utcnow

log = logging.getLogger(__name__)
DAILY = timedelta(hours=24)
_BATCH = 20_000  # event hashes read from the database at a time


# --- the signing key ---------------------------------------------------------------------

def signing_key_path() -> Path:
    return config.audit_signing_key_path()


def public_key_path() -> Path:
    path = signing_key_path()
    return path.with_name(path.name + ".pub")


def load_signing_key() -> Ed25519PrivateKey:
    """The checkpoints' signing key from its file, created (mode 0600, PEM PKCS #8, and its
    public key beside it as .pub) if there is none. Two processes creating it at once end
    up with the same key: the file appears whole, by a hard link, or not at all."""
    path = signing_key_path()
    if not path.exists():
        _create_key(path)
    key = load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput(f"{path} does not hold an Ed25519 private key")
    pub = public_key_path()
    if not pub.exists():
        pub.write_text(_public_pem(key.public_key()))
    return key


def _create_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                     NoEncryption())
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made one first: theirs is the key
    finally:
        temp.unlink()


def _public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def public_key() -> Ed25519PublicKey:
    return load_signing_key().public_key()


def public_key_pem() -> str:
    """The public key (PEM, SubjectPublicKeyInfo) that checks this installation's signatures."""
    return _public_pem(public_key())


def verifying_key() -> Ed25519PublicKey:
    """The public key to check checkpoints with, from the key file or else its .pub; never
    creates a key (a new key would verify nothing)."""
    path, pub = signing_key_path(), public_key_path()
    if path.exists():
        return load_signing_key().public_key()
    if pub.exists():
        return read_public_key(pub.read_bytes())
    raise NotFound(f"no signing key at {path} (DOCKET_AUDIT_SIGNING_KEY) nor {pub}: give the "
                   "public key the checkpoints were signed with")


def read_public_key(pem: bytes | str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError:
        raise InvalidInput("not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("not an Ed25519 public key")
    return key


def sign(data: bytes) -> bytes:
    """An Ed25519 signature of `data` (64 bytes) by the signing key."""
    return load_signing_key().sign(data)


# --- checkpoints -------------------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    id: int | None
    created_at: datetime
    size: int
    root: bytes
    head_seq: int | None
    head_hash: str | None
    key_id: str
    reason: str
    note: str  # the signed note

    @property
    def root_hex(self) -> str:
        return self.root.hex()


def _checkpoint(row: AuditCheckpoint) -> Checkpoint:
    return Checkpoint(row.id, row.created_at, row.tree_size, bytes.fromhex(row.root_hash),
                      row.head_seq, row.head_hash, row.key_id, row.reason, row.note)


def _chain(session, size: int | None = None) -> Iterator[list[tuple[int, str]]]:
    """(seq, hash) of the chained events in chain order, the first `size` of them (all:
    None), in batches, from one statement (a consistent snapshot of a prefix: appends take
    turns on the chain's head and commit in seq order). The statement is SQLAlchemy's, run
    on the driver's own cursor — a server-side one on PostgreSQL — because a million rows
    through SQLAlchemy's result objects take three times as long (docs/PERFORMANCE.md)."""
    stmt = (select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.is_not(None))
            .order_by(AuditEvent.seq))
    if size is not None:
        stmt = stmt.limit(size)
    conn = session.connection()
    sql = str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    cursor = (driver.cursor(name="docket_audit_chain") if conn.dialect.name == "postgresql"
              else driver.cursor())
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_BATCH):
            yield rows
    finally:
        cursor.close()


def _root_of(batches: Iterable[list[tuple[int, str]]]
             ) -> tuple[bytes, int, int | None, str | None]:
    """(root, size, last seq, last hash) of the chain rows, in little memory."""
    builder, last = merkle.RootBuilder(), (None, None)
    for rows in batches:
        builder.extend([bytes.fromhex(hash_hex) for _, hash_hex in rows])
        last = tuple(rows[-1])
    return builder.root(), builder.count, last[0], last[1]


def write_checkpoint(db: Database, *, reason: str, now: datetime | None = None) -> Checkpoint:
    """Signs and stores a checkpoint over every chained event now committed; returns it."""
    reason = " ".join(reason.split())[:200] or "on demand"
    key = load_signing_key()
    with db.read() as session:
        root, size, head_seq, head_hash = _root_of(_chain(session))
    public = key.public_key()
    body = NoteBody(signed_note.origin_of(public), size, root,
                    (now or utcnow()).replace(microsecond=0), head_seq, head_hash)
    note = signed_note.sign_note(body, key)
    row = AuditCheckpoint(created_at=body.time, tree_size=size, root_hash=root.hex(),
                          head_seq=head_seq, head_hash=head_hash,
                          key_id=signed_note.key_id(public).hex(), reason=reason, note=note)
    with db.unit_of_work() as session:
        session.add(row)
        session.flush()
        return _checkpoint(row)


def latest_checkpoint(db: Database) -> Checkpoint | None:
    with db.read() as session:
        row = session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc())
                              .limit(1)).first()
        return _checkpoint(row) if row else None


def list_checkpoints(db: Database, limit: int | None = None) -> list[Checkpoint]:
    """The stored checkpoints, newest first."""
    with db.read() as session:
        stmt = select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(limit)
        return [_checkpoint(row) for row in session.scalars(stmt)]


def get_checkpoint(db: Database, checkpoint_id: int) -> Checkpoint:
    with db.read() as session:
        row = session.get(AuditCheckpoint, checkpoint_id)
        if row is None:
            raise NotFound(f"no checkpoint {checkpoint_id}")
        return _checkpoint(row)


def checkpoint_if_due(db: Database, now: datetime | None = None) -> Checkpoint | None:
    """The worker's daily checkpoint: written when the last one is 24 hours old or more (or
    there is none); None when not due. `now`: naive UTC (default: the clock)."""
    now = now or utcnow()
    last = latest_checkpoint(db)
    if last is not None and now - last.created_at < DAILY:
        return None
    return write_checkpoint(db, reason="daily", now=now)


def run_daily_checkpoints(db: Database, stop: threading.Event,
                          check_every: float = 3600.0) -> None:
    """The worker's thread: `checkpoint_if_due` now and then every `check_every` seconds
    until `stop` is set (so a checkpoint at start if the last is a day old, then daily). A
    failure is logged and tried again at the next check."""
    while not stop.is_set():
        try:
            written = checkpoint_if_due(db)
            if written is not None:
                log.info("audit checkpoint %s: %s events", written.id, written.size)
        except Exception:  # the worker keeps delivering; the next check tries again
            log.exception("audit checkpoint failed")
        stop.wait(check_every)


@dataclass(frozen=True)
class CheckpointCheck:
    ok: bool
    size: int  # events the checkpoint covers
    problem: str  # empty when ok


def verify_against_checkpoint(db: Database, checkpoint: Checkpoint | str,
                              key: Ed25519PublicKey | None = None) -> CheckpointCheck:
    """Whether the first `size` chained events still have the checkpoint's root, the
    checkpoint's signature checked first (`key`: the signing key's public key by default;
    give the one kept apart from this installation for an independent check). A checkpoint
    is a stored one or a note's text (from a file)."""
    note = checkpoint.note if isinstance(checkpoint, Checkpoint) else checkpoint
    try:
        body = signed_note.open_note(note, key or verifying_key())
    except NoteError as e:
        return CheckpointCheck(False, 0, str(e))
    with db.read() as session:
        root, size, head_seq, head_hash = _root_of(_chain(session, body.size))
    if size < body.size:
        return CheckpointCheck(False, body.size,
                               f"the chain has {size:,} events, the checkpoint covers "
                               f"{body.size:,}: events were deleted or the chain truncated")
    if root != body.root:
        where = ("" if (head_seq, head_hash) == (body.head_seq, body.head_hash) else
                 f"; its last event (seq {body.head_seq}) differs too")
        return CheckpointCheck(False, body.size,
                               f"the first {body.size:,} events no longer have the "
                               f"checkpoint's Merkle root: history was changed since "
                               f"{body.time:%Y-%m-%d %H:%M:%S} UTC{where}")
    return CheckpointCheck(True, body.size, "")


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    index: int  # the event's leaf, counted from 0 in chain order
    hash: str  # the event's hash (hex): the leaf's data
    proof: list[str]  # the audit path (hex), nearest the leaf first


def inclusion_proofs(db: Database, seqs: Iterable[int],
                     checkpoint: Checkpoint) -> dict[int, InclusionProof]:
    """The inclusion proof of each event (by seq) in the checkpoint's tree; an event the
    checkpoint does not cover is left out. Reads the checkpoint's events once."""
    wanted, found, size = set(seqs), {}, 0
    level = bytearray(checkpoint.size * merkle.HASH_SIZE)  # the leaves' hashes, filled in place
    with db.read() as session:
        for rows in _chain(session, checkpoint.size):
            level[size * merkle.HASH_SIZE:(size + len(rows)) * merkle.HASH_SIZE] = b"".join(
                [sha256(b"\x00" + bytes.fromhex(hash_hex)).digest() for _, hash_hex in rows])
            for offset, (seq, hash_hex) in enumerate(rows):
                if seq in wanted:
                    found[seq] = (size + offset, hash_hex)
            size += len(rows)
    del level[size * merkle.HASH_SIZE:]  # fewer events than the checkpoint covers: refused below
    paths = merkle.inclusion_proofs_from_leaf_hashes(level, [i for i, _ in found.values()])
    del level
    # every path must lead to the checkpoint's root, or the chain changed since it was signed
    if size != checkpoint.size or not all(
            merkle.verify_inclusion(index, size, bytes.fromhex(hash_hex), paths[index],
                                    checkpoint.root)
            for index, hash_hex in found.values()):
        raise InvalidInput("the audit chain no longer matches the checkpoint; run "
                           "`python -m core audit verify-checkpoint`")
    return {seq: InclusionProof(seq, index, hash_hex, [node.hex() for node in paths[index]])
            for seq, (index, hash_hex) in sorted(found.items())}
