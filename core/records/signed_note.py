"""The checkpoint as text: a transparency-log checkpoint in the C2SP signed-note format, so
anyone can check it with the public key alone, with this module or with any signed-note tool
(Go's golang.org/x/mod/sumdb/note reads it).

Pure functions, no database. The text (docs/RECORDS.md, "Checkpoints", has it exactly):

    docket audit <key id>           origin: the log, named by its signing key's id
    <tree size>                      decimal
    <root hash>                      base64 of the 32-byte RFC 6962 Merkle root
    time <YYYY-MM-DDTHH:MM:SSZ>      extension lines (C2SP tlog-checkpoint allows them)
    head <seq> <hash hex>            the last event covered (absent for an empty tree)

then an empty line and one signature line, `— <key name> <base64(key id ‖ signature)>`: an
Ed25519 signature over the text above the empty line, the key id the first 4 bytes of
SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key), as C2SP signed-note defines.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_NAME = "docket-audit"
ORIGIN_PREFIX = "docket audit "
ED25519 = b"\x01"  # the signed-note signature type of Ed25519
_SIG_PREFIX = "\u2014 "  # an em dash and a space
_TIME = "%Y-%m-%dT%H:%M:%SZ"


class NoteError(ValueError):
    """The text is not a checkpoint, or its signature does not verify with the key."""


@dataclass(frozen=True)
class NoteBody:
    origin: str
    size: int
    root: bytes
    time: datetime  # naive UTC
    head_seq: int | None
    head_hash: str | None


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey, name: str = KEY_NAME) -> bytes:
    """The 4-byte key id of signed-note: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]."""
    return sha256(name.encode() + b"\n" + ED25519 + raw_public_key(key)).digest()[:4]


def origin_of(key: Ed25519PublicKey) -> str:
    return ORIGIN_PREFIX + key_id(key).hex()


def format_body(body: NoteBody) -> str:
    lines = [body.origin, str(body.size), base64.b64encode(body.root).decode(),
             "time " + body.time.strftime(_TIME)]
    if body.head_seq is not None:
        lines.append(f"head {body.head_seq} {body.head_hash}")
    return "\n".join(lines) + "\n"


def sign_note(body: NoteBody, key: Ed25519PrivateKey, name: str = KEY_NAME) -> str:
    """The whole signed note: the body, an empty line, the signature line."""
    text = format_body(body)
    signature = key_id(key.public_key(), name) + key.sign(text.encode())
    return f"{text}\n{_SIG_PREFIX}{name} {base64.b64encode(signature).decode()}\n"


def parse_body(text: str) -> NoteBody:
    lines = text.split("\n")
    if len(lines) < 5 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size, a root and a time, each on a line")
    origin, size, root_b64, *extensions = lines[:-1]
    if not origin.startswith(ORIGIN_PREFIX) or not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
        raise NoteError("not a Docket audit checkpoint (origin or size line)")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except binascii.Error:
        root = b""
    if len(root) != 32:
        raise NoteError("the root line is not a base64 SHA-256 hash")
    time = head_seq = head_hash = None
    for line in extensions:
        word, _, rest = line.partition(" ")
        if word == "time":
            try:
                time = datetime.strptime(rest, _TIME)
            except ValueError:
                raise NoteError(f"bad time line: {line!r}") from None
        elif word == "head":
            match = re.fullmatch(r"([0-9]{1,19}) ([0-9a-f]{64})", rest)
            if not match:
                raise NoteError(f"bad head line: {line!r}")
            head_seq, head_hash = int(match[1]), match[2]
    if time is None or (head_seq is None) != (size == "0"):
        raise NoteError("a checkpoint has a time line, and a head line unless it is empty")
    return NoteBody(origin, int(size), root, time, head_seq, head_hash)


def open_note(note: str, key: Ed25519PublicKey, name: str = KEY_NAME) -> NoteBody:
    """The checkpoint in `note`, once a signature line by `key` verifies over its text;
    NoteError otherwise (another key's signatures are ignored, as signed-note says)."""
    text, sep, signatures = note.partition("\n\n")
    if not sep or not signatures.endswith("\n"):
        raise NoteError("no signature: a checkpoint ends with an empty line and a signature line")
    text += "\n"
    wanted = key_id(key, name)
    for line in signatures[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise NoteError(f"not a signature line: {line[:80]!r}")
        line_name, _, sig_b64 = line[len(_SIG_PREFIX):].rpartition(" ")
        try:
            signature = base64.b64decode(sig_b64, validate=True)
        except binascii.Error:
            raise NoteError("a signature line is not base64") from None
        if line_name != name or signature[:4] != wanted:
            continue
        try:
            key.verify(signature[4:], text.encode())
        except InvalidSignature:
            raise NoteError("the signature does not verify: the checkpoint was changed "
                            "or signed by another key") from None
        body = parse_body(text)
        if body.origin != origin_of(key):
            raise NoteError(f"the checkpoint names another log ({body.origin})")
        return body
    raise NoteError(f"no signature by this key (key id {wanted.hex()}) on the checkpoint")
