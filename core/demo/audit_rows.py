"""The demo loader's audit rows as written: sealed under a new subject key per case.

Why it exists: the loader writes audit rows without the ORM (core/demo/bulk_load.py), so it
must do what `core.store.audit.record` does at the flush: make each case's subject key and
write the case's before/after only sealed under it (core/store/audit_values.py). The loaded
cases are new, so none has a key yet. Runs in the row factory (a child process for big loads).
"""
from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.store.audit_values import seal_values, values_key


def sealed_audit_rows(rows: list[tuple], now: str) -> tuple[list[tuple], list[tuple]]:
    """(the subject key rows, the audit rows as written): `rows` are (id, case_id, at, actor,
    kind, before JSON, after JSON), each case's together; every case gets a new key and its
    values are sealed under it, as `core.store.audit.record` would."""
    key_rows: list[tuple] = []
    sealed: list[tuple] = []
    case_id, key, cipher = None, b"", None
    material = os.urandom(32 * len({r[1] for r in rows}))
    loads = json.loads
    for id_, c, at, actor, kind, before, after in rows:
        if c != case_id:
            case_id = c
            key = material[32 * len(key_rows):32 * len(key_rows) + 32]
            key_rows.append((case_id, key.hex(), now))
            cipher = AESGCM(values_key(key))
        sealed.append((id_, case_id, at, actor, kind, seal_values(
            key, case_id, kind, None if before is None else loads(before),
            None if after is None else loads(after), cipher=cipher)))
    return key_rows, sealed
