"""The audit chain's exact bytes: canonical JSON, an event's body, its hash, and the keyed
commitments that stand in the body for a case's personal data (docs/RECORDS.md).

Canonical JSON (`canonical`): keys sorted by their UTF-16 code units, no insignificant
whitespace, UTF-8, strings escaped as JSON requires and nothing more (`"`, `\\`, control
characters; `\\b \\t \\n \\f \\r` short, others `\\u00xx`), integers in decimal, `true`,
`false`, `null`. That is RFC 8785 (JCS) for every value Docket writes: `record` keeps
numbers to integers (`recordable`): a float — a vendor's match score 0.93, say — is recorded
as its shortest round-trip decimal text ("0.93"; NaN and infinities as "NaN", "Infinity",
"-Infinity"), an integer outside ±(2**53 - 1) as its decimal text, so the readable value and
its commitment agree byte for byte without JCS's ECMAScript number formatting; a non-string
key or a value that is not JSON is refused (TypeError). Times are strings
"YYYY-MM-DDTHH:MM:SS.ffffffZ" (UTC). The one exception: events recorded
before the chain existed (chained by migration 0019) may hold floats in before/after; their
commitments encode a float as Python's `repr` (shortest round-trip), documented, never new.

An event's hash, hex SHA-256 over these bytes, `\\0` a zero byte:

    b"docket.audit.v1\\0" + ascii(decimal seq) + b"\\0" + ascii(prev_hash) + b"\\0" + utf8(body)

`prev_hash` is the previous event's hash, 64 zeros for seq 1 (GENESIS). The body is the
canonical JSON of {"kind", "actor", "case_id", "at", "via", "case_prev_seq", "before",
"after"}; seq is outside it. For an event with a case, "before"/"after" hold per-field
commitments instead of the values: {"status": "hmac:<hex>"} where <hex> is
HMAC-SHA256(the case's subject key, b"docket.audit.v1.commit\\0" + utf8(field) + b"\\0" +
utf8(canonical(value))); a value that is not an object is committed whole under field "".
The readable values are kept beside the body, sealed under the case's key
(core/store/audit_values.py), so erasing them later (destroying the key, clearing them) leaves
every hash intact.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import datetime
from typing import Any

DOMAIN = b"docket.audit.v1\x00"
COMMIT_DOMAIN = b"docket.audit.v1.commit\x00"
GENESIS = "0" * 64
MAX_SAFE_INT = 2 ** 53 - 1
COMMITMENT_PREFIX = "hmac:"
_fast = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                         allow_nan=False).encode
_string = json.encoder.encode_basestring  # a str's JSON text, ensure_ascii=False (C)
try:  # OpenSSL's one-shot HMAC, what hmac.digest calls, without its Python wrapper
    from _hashlib import hmac_digest as _hmac
except ImportError:  # pragma: no cover - a Python built without OpenSSL
    _hmac = hmac.digest
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")  # past U+FFFF: two UTF-16 code units


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _needs_text(value: Any) -> bool:
    """Whether `value` holds a float or an integer canonical JSON cannot carry."""
    if isinstance(value, float):
        return True
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) > MAX_SAFE_INT
    if isinstance(value, dict):
        return any(_needs_text(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(_needs_text(item) for item in value)
    return False


def _as_text(value: Any) -> Any:
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INT:
        return str(value)
    if isinstance(value, dict):
        return {key: _as_text(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_text(item) for item in value]
    return value


def recordable(value: Any, where: str = "value") -> Any:
    """`value` as the audit log records it: floats and integers past ±(2**53 - 1) as their
    decimal text (the same object back when it holds none); TypeError for a non-string key or
    a value that is not JSON."""
    if _needs_text(value):
        value = _as_text(value)
    check_recordable(value, where)
    return value


def check_recordable(value: Any, where: str = "value") -> None:
    """Refuses (TypeError) what canonical JSON does not take from a new event: floats (and
    NaN, infinities), integers past ±(2**53 - 1), non-string keys, other types."""
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise TypeError(f"audit {where}: integer {value} is outside ±(2**53 - 1); "
                            "record it as a string")
        return
    if isinstance(value, float):
        raise TypeError(f"audit {where}: floats are not recorded in the audit chain "
                        f"(got {value!r}); record a string or an integer")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"audit {where}: object keys must be strings (got {key!r})")
            check_recordable(item, f"{where}.{key}")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_recordable(item, f"{where}[{i}]")
        return
    raise TypeError(f"audit {where}: {type(value).__name__} is not JSON")


def _utf16_key(key: str) -> bytes:
    return key.encode("utf-16-be")


def _slow(value: Any) -> str:
    """Canonical JSON with RFC 8785's key order (UTF-16 code units), for text holding
    characters past U+FFFF, where Python's code-point order may differ."""
    if isinstance(value, dict):
        items = sorted(value.items(), key=lambda kv: _utf16_key(kv[0]))
        return "{" + ",".join(_fast(k) + ":" + _slow(v) for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_slow(v) for v in value) + "]"
    return _fast(value)


def canonical(value: Any) -> str:
    """The canonical JSON text of `value` (see the module's docstring)."""
    text = _fast(value)
    if not text.isascii() and _ASTRAL.search(text):
        return _slow(value)
    return text


def utc_text(at: datetime) -> str:
    """A naive UTC time as the chain writes it: "YYYY-MM-DDTHH:MM:SS.ffffffZ"."""
    if at.tzinfo is None and at.year >= 1000:
        return at.isoformat(timespec="microseconds") + "Z"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(seq: int, prev_hash: str, body: str) -> str:
    return hashlib.sha256(b"".join((DOMAIN, str(seq).encode("ascii"), b"\x00",
                                    prev_hash.encode("ascii"), b"\x00",
                                    body.encode("utf-8")))).hexdigest()


def _scalar(value: Any) -> str:
    """`canonical(value)`, quicker for the scalars most values are."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is int:
        return str(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    return canonical(value)


def _commit_one(key: bytes, field: str, value: Any) -> str:
    message = COMMIT_DOMAIN + f"{field}\x00{_scalar(value)}".encode("utf-8")
    return COMMITMENT_PREFIX + _hmac(key, message, "sha256").hex()


def commitments(key: bytes, value: Any) -> Any:
    """What the body holds for a case event's before/after: None stays None; an object
    becomes {field: "hmac:..."}; anything else {"": "hmac:..."}."""
    if value is None:
        return None
    if isinstance(value, dict):  # _commit_one inlined: the chain's hottest loop
        return {field: COMMITMENT_PREFIX + _hmac(
                    key, COMMIT_DOMAIN + f"{field}\x00{_scalar(item)}".encode("utf-8"),
                    "sha256").hex()
                for field, item in value.items()}
    return {"": _commit_one(key, "", value)}


def _commitments_text(key: bytes, value: Any) -> str:
    """`canonical(commitments(key, value))`, written out directly for an object whose field
    names are ASCII (sorted as Python sorts them, which is then RFC 8785's order)."""
    if type(value) is dict and "".join(value).isascii():
        parts = []
        for field, item in sorted(value.items()):
            digest = _hmac(key, COMMIT_DOMAIN + f"{field}\x00{_scalar(item)}".encode("utf-8"),
                           "sha256").hex()
            parts.append(f'{_string(field)}:"{COMMITMENT_PREFIX}{digest}"')
        return "{" + ",".join(parts) + "}"
    return _scalar(commitments(key, value))


# The pieces of `body_of`, for verify's quick path (core/records/verify.py), which writes the
# body out inline with them
json_string = _string
json_scalar = _scalar
commitments_text = _commitments_text


# Stands in a body for the case's previous seq until the seal knows it (PostgreSQL: the body
# is written with the event, the commit's trigger puts the number in its place,
# core/store/audit_chain_pg.py). Never valid JSON there, and never in a string (a `"` inside
# one is escaped), so the text `"case_prev_seq":?` occurs once, where the number goes.
CASE_PREV_PENDING = "?"


def body_of(*, kind: str, actor: str, case_id: str | None, at: datetime | str,
            via: str | None, case_prev_seq: int | str | None, before: Any, after: Any,
            key: bytes | None) -> str:
    """The canonical body of one event. `key` is the case's subject key; None (an event
    without a case, or a case whose key was destroyed) keeps the values in clear. `at` is
    the time, or its text as `utc_text` writes it. `case_prev_seq` may be
    `CASE_PREV_PENDING`: a body for the seal to complete."""
    if key is not None:
        before_text, after_text = _commitments_text(key, before), _commitments_text(key, after)
    else:
        before_text, after_text = _scalar(before), _scalar(after)
    at_text = at if isinstance(at, str) else utc_text(at)
    # the object's keys are fixed and ASCII, so their order is known: written out directly
    return "".join(('{"actor":', _scalar(actor), ',"after":', after_text, ',"at":"',
                    at_text, '","before":', before_text, ',"case_id":', _scalar(case_id),
                    ',"case_prev_seq":',
                    CASE_PREV_PENDING if case_prev_seq is CASE_PREV_PENDING
                    else _scalar(case_prev_seq), ',"kind":', _scalar(kind),
                    ',"via":', _scalar(via), '}'))
