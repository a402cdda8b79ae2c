"""A case event's readable before/after, stored only encrypted under the case's subject key.

Why it exists: the hashed body holds keyed commitments of a case's personal data, but the
readable values must be kept too (the timeline, the case file). Kept in clear, every copy of
the database (a backup, a dump) would hold them until each copy expired. Sealed here under the
case's key instead, they become unreadable everywhere the moment erasure destroys that key
(docs/RECORDS.md, "Personal data is committed, not stored").

The format of `audit_events.sealed_values`: one version byte (1), a 12-byte random nonce, then
AES-256-GCM's ciphertext and tag of the JSON `{"after": ..., "before": ...}` (keys sorted, no
spaces, UTF-8; floats of pre-chain events as Python writes them, so they read back equal). The
AES key is HMAC-SHA256(the case's subject key, "docket.audit.v1.values"): the commitments' key
is never used for encryption, and the encryption key is never a commitment. The associated
data binds the case id and the event's kind, so a ciphertext moved to another case's event
(or another kind) fails to open.

`open_values` is the one reader: every reader of a case event's before/after goes through it.
An ORM query that loads `AuditEvent` objects calls it for them (`_open_loaded_events`); the
readers of a case's events also call it by name (core/cases/review_log.py,
core/records/case_file_contents.py, core/records/access_log.py,
`core.store.audit.case_timeline`), and a Core select of the columns must.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.orm.attributes import set_committed_value

from core.store.audit_chain_models import AuditEvent, AuditSubjectKey

VERSION = 1
INFO = b"docket.audit.v1.values"
NONCE_BYTES = 12
_dumps = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_loads = json.JSONDecoder().decode
try:  # OpenSSL's one-shot HMAC (as audit_chain_format uses)
    from _hashlib import hmac_digest as _hmac
except ImportError:  # pragma: no cover - a Python built without OpenSSL
    import hmac as _hmac_module
    _hmac = _hmac_module.digest


class SealedValuesError(ValueError):
    """A sealed value that does not open: wrong key, edited bytes, moved to another event."""


def values_key(subject_key: bytes) -> bytes:
    """The AES-256 key of a case's sealed values, derived from its subject key."""
    return _hmac(subject_key, INFO, "sha256")


def _aad(case_id: str, kind: str) -> bytes:
    return b"\x00".join((INFO, case_id.encode("utf-8"), kind.encode("utf-8")))


def seal_values(subject_key: bytes, case_id: str, kind: str, before: Any, after: Any,
                *, cipher: AESGCM | None = None) -> bytes:
    """The stored bytes of one event's before/after (see the module's docstring). `cipher`:
    the case's `AESGCM(values_key(subject_key))`, when the caller seals many of its events."""
    plain = _dumps({"after": after, "before": before}).encode("utf-8")
    nonce = os.urandom(NONCE_BYTES)
    cipher = cipher or AESGCM(values_key(subject_key))
    return bytes((VERSION,)) + nonce + cipher.encrypt(nonce, plain, _aad(case_id, kind))


def open_sealed(subject_key: bytes, case_id: str, kind: str, sealed: bytes,
                *, cipher: AESGCM | None = None) -> tuple[Any, Any]:
    """(before, after) from `seal_values`'s bytes; SealedValuesError if they do not open."""
    if type(sealed) is not bytes:
        sealed = bytes(sealed)  # a memoryview, a bytearray
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[0] != VERSION:
        raise SealedValuesError("not sealed values of version 1")
    cipher = cipher or AESGCM(values_key(subject_key))
    try:
        plain = cipher.decrypt(sealed[1:1 + NONCE_BYTES], sealed[1 + NONCE_BYTES:],
                               b"%s\0%s\0%s" % (INFO, case_id.encode(), kind.encode()))
        values = _loads(plain.decode())
        return values["before"], values["after"]
    except (InvalidTag, ValueError, KeyError, TypeError) as e:
        raise SealedValuesError("the sealed values do not open with the case's key") from e


class Ciphers:
    """Each case's AESGCM, made once per case from its subject key (about 3 µs each); at
    most `LIMIT` kept (then started afresh), for a reader of millions of cases."""
    LIMIT = 200_000

    def __init__(self) -> None:
        self._by_case: dict[str, AESGCM] = {}

    def cached(self, case_id: str) -> AESGCM | None:
        return self._by_case.get(case_id)

    def of(self, case_id: str, subject_key: bytes) -> AESGCM:
        cipher = self._by_case.get(case_id)
        if cipher is None:
            if len(self._by_case) >= self.LIMIT:
                self._by_case.clear()
            cipher = self._by_case[case_id] = AESGCM(values_key(subject_key))
        return cipher


def read_keys(conn: Connection, case_ids: Iterable[str]) -> dict[str, bytes | None]:
    """The subject keys of these cases (None: destroyed); a case without a row is absent."""
    keys: dict[str, bytes | None] = {}
    wanted = sorted(set(case_ids))
    table = AuditSubjectKey.__table__
    for i in range(0, len(wanted), 500):
        for case_id, key in conn.execute(select(table.c.case_id, table.c.key)
                                         .where(table.c.case_id.in_(wanted[i:i + 500]))):
            keys[case_id] = bytes.fromhex(key) if key else None
    return keys


def _connection(source: Session | Connection) -> Connection:
    return source.connection() if isinstance(source, Session) else source


def open_values(source: Session | Connection, events: Sequence[Any]) -> list[tuple[Any, Any]]:
    """Each event's readable (before, after), in order: the clear columns, or its sealed
    values opened with its case's key (the keys read in one query per 500 cases). An
    `AuditEvent` also shows them as its `before`/`after` afterwards (not a change to save).
    Values that cannot be read (the key destroyed by erasure, or the bytes edited: `audit
    verify` names those) read as None. `events`: AuditEvent objects or rows with `case_id`,
    `kind`, `before`, `after` and `sealed_values`."""
    sealed = [e for e in events if e.case_id is not None and e.sealed_values is not None
              and (e.before is None or e.after is None)]
    opened: dict[int, tuple[Any, Any]] = {}
    if sealed:
        keys = read_keys(_connection(source), {e.case_id for e in sealed})
        ciphers = Ciphers()
        for e in sealed:
            key = keys.get(e.case_id)
            values: tuple[Any, Any] = (None, None)
            if key is not None:
                try:
                    values = open_sealed(key, e.case_id, e.kind, e.sealed_values,
                                         cipher=ciphers.of(e.case_id, key))
                except SealedValuesError:
                    pass
            # a readable column beside sealed values (never written so; verify reports it)
            # is shown as it is
            values = (values[0] if e.before is None else e.before,
                      values[1] if e.after is None else e.after)
            opened[id(e)] = values
            if isinstance(e, AuditEvent):
                set_committed_value(e, "before", values[0])
                set_committed_value(e, "after", values[1])
    return [opened.get(id(e), (e.before, e.after)) for e in events]


def opened(source: Session | Connection, events: list[AuditEvent]) -> list[AuditEvent]:
    """`events` with their readable before/after in place (`open_values`); returns them."""
    open_values(source, events)
    return events


@event.listens_for(Session, "do_orm_execute")
def _open_loaded_events(state: ORMExecuteState) -> Any:
    """Every ORM query that loads `AuditEvent` objects gives them readable before/after
    (`open_values`, one key query per 500 cases of the result), so a reader of an object's
    `before`/`after` never sees the stored NULL. A streamed query (`yield_per`) is left as
    it is. A Core select of the columns themselves reads what is stored: use `open_values`."""
    if not state.is_select or state.execution_options.get("yield_per") \
            or state.execution_options.get("stream_results"):
        return None
    descriptions = getattr(state.statement, "column_descriptions", ())
    if not any(d.get("entity") is AuditEvent for d in descriptions):
        return None
    frozen = state.invoke_statement().freeze()
    objects = [item for row in frozen.data
               for item in ((row,) if isinstance(row, AuditEvent) else row)
               if isinstance(item, AuditEvent)]
    if objects:
        open_values(state.session, objects)
    return frozen()
