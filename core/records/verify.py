"""Checking the audit chain (`python -m core audit verify`): every event's hash, its link to
the one before, the columns copied out of its body, its before/after against their keyed
commitments, each case's own chain (`case_prev_seq`), the sequence (no gap, no duplicate)
and the head. Streams the events in seq order (core/records/verify_stream.py: one
statement on the driver's own cursor, raw tuples, BATCH at a time, read ahead on a thread on
PostgreSQL).

Each row is first checked the quick way: its hash, its link, and its body rebuilt from its
columns (the commitments recomputed from the before/after with the case's key: a case event's
sealed values opened with it, core/store/audit_values.py) equal to the stored body, character
for character — one string comparison instead of parsing the
body. The commitments there are HMACs made from the case's HMAC state, keyed once per case
and copied per field (`_commitments_quick`: the same bytes as `commitments`, a third of the
one-shot HMAC's cost). Only a row that fails it goes through `_check_row`, which parses the
body and names what differs.

What a finding names (`Finding.problem`, see PROBLEMS): the kind of damage and the row (seq and
id) where it shows. The hash and body format is `core.store.audit_chain_format`'s.
"""
from __future__ import annotations

import hmac
import json
from collections import namedtuple
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256 as _sha256
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.records.verify_stream import COLUMNS as _COLUMNS
from core.records.verify_stream import at_is_body_text, batches
from core.store.audit_chain_format import (
    COMMIT_DOMAIN,
    COMMITMENT_PREFIX,
    DOMAIN,
    GENESIS,
    commitments,
    event_hash,
    utc_text,
)
from core.store.audit_chain_format import commitments_text as _commitments_text
from core.store.audit_chain_format import json_scalar as _scalar
from core.store.audit_chain_format import json_string as _string
from core.store.audit_chain_models import AuditChainHead, AuditEvent
from core.store.audit_values import INFO as VALUES_INFO
from core.store.audit_values import VERSION as SEALED_VERSION
from core.store.audit_values import SealedValuesError, open_sealed, values_key
from core.store.db import Database

BATCH = 20_000
MAX_FINDINGS = 100
SWAP_WINDOW = 8  # a row whose hash fits a seq this close to its own was moved there

PROBLEMS = {
    "body_edited": "body or hash edited: the hash does not match seq, prev_hash and body",
    "out_of_order": "rows swapped or moved: the row's hash fits another seq",
    "link_broken": "prev_hash does not match the previous event's hash",
    "column_edited": "a copied column (actor, kind, case_id, at, via) differs from the body",
    "values_edited": "before/after edited: the readable values do not match the body",
    "case_history": "case_prev_seq does not name the case's previous event",
    "row_deleted": "row(s) deleted: a gap in seq",
    "duplicate": "duplicate seq: a fork",
    "tail_truncated": "tail truncated: the head names a later event than the last row",
    "beyond_head": "rows after the head: appended without moving the head",
    "head_mismatch": "the head's hash differs from the last event's",
    "unchained": "an event without seq: written outside the chain",
}
_events = AuditEvent.__table__
_Row = namedtuple("_Row", _COLUMNS)
_decode = json.JSONDecoder().decode
# the opened values' JSON (UTF-8 bytes), parsed by orjson where installed (rigour, the
# built-in screener's name library, brings it): 3x the standard library's speed on verify's
# hottest line. Whatever orjson refuses (a lone surrogate, say) raises ValueError there, and
# the row is then checked the slow way, with the standard library.
try:
    from orjson import loads as _loads_utf8
except ImportError:  # pragma: no cover - orjson missing
    def _loads_utf8(data: bytes) -> Any:
        return _decode(data.decode("utf-8"))
_NO_KEY = object()
CASES_KEPT = 200_000  # cases whose HMAC state and cipher are kept (then started afresh)


@dataclass(frozen=True)
class Finding:
    problem: str        # a key of PROBLEMS
    seq: int | None
    id: int | None
    detail: str = ""

    def __str__(self) -> str:
        where = f"seq {self.seq}" if self.seq is not None else "-"
        row = f" (id {self.id})" if self.id is not None else ""
        return f"{where}{row}: {PROBLEMS[self.problem]}{'; ' + self.detail if self.detail else ''}"


@dataclass
class Report:
    checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    head_seq: int | None = None
    proven_from: str = ""
    findings: list[Finding] = field(default_factory=list)
    more_findings: int = 0  # found past MAX_FINDINGS, not listed

    @property
    def ok(self) -> bool:
        return not self.findings


class _Walk:
    """The state carried from one row to the next."""

    def __init__(self, report: Report, from_seq: int, prev_hash: str):
        self.report = report
        self.expected = from_seq
        self.prev_hash = prev_hash
        self.prev_seq: int | None = None
        self.prev_bad = False
        self.case_last: dict[str, int] = {}
        self.whole = from_seq <= 1
        self.keys: dict[str, bytes | None] = {}
        self.at_is_body_text = False  # `at` read as the body's text (verify_stream)
        self.secrets: dict[str, tuple[AESGCM, Any, bytes]] = {}  # `case_secrets`

    def case_secrets(self, case_id: str, key: bytes) -> tuple[AESGCM, Any, bytes]:
        """The case's cipher for its sealed values, its HMAC state for commitments (keyed
        with its subject key, the commitments' domain fed) and its sealed values' associated
        data but the kind (audit_values), made once per case."""
        if len(self.secrets) >= CASES_KEPT:
            self.secrets.clear()
        made = self.secrets[case_id] = (AESGCM(values_key(key)),
                                        hmac.new(key, COMMIT_DOMAIN, digestmod="sha256"),
                                        b"%s\0%s\0" % (VALUES_INFO, case_id.encode()))
        return made

    def add(self, problem: str, seq: int | None, id_: int | None, detail: str = "") -> None:
        if len(self.report.findings) < MAX_FINDINGS:
            self.report.findings.append(Finding(problem, seq, id_, detail))
        else:
            self.report.more_findings += 1


def _json(value: Any) -> Any:
    """A JSON column read as its text (SQLite), or already parsed (PostgreSQL)."""
    if value == "null":
        return None
    return _decode(value) if isinstance(value, str) else value


def _at_text(at: Any) -> str:
    """The `at` column as the body writes it: SQLite's stored text is rewritten (cheaper than
    parsing it to a datetime; a year before 1000, unpadded in the body, parsed), a datetime
    formatted. (PostgreSQL's is read as the body's text already: verify_stream.)"""
    if isinstance(at, str):  # "YYYY-MM-DD HH:MM:SS.ffffff"
        if len(at) == 26 and at[0] != "0":
            return f"{at[:10]}T{at[11:]}Z"
        return utc_text(datetime.fromisoformat(at))
    return utc_text(at)


def _shown(walk: _Walk, r: Any, key: bytes | None) -> tuple[Any, Any]:
    """The row's readable (before, after): its sealed values opened with the case's key, or
    its clear columns. SealedValuesError if sealed values do not open (or sit beside clear
    ones)."""
    if r.sealed_values is None or key is None or r.case_id is None:
        return _json(r.before), _json(r.after)
    if _json(r.before) is not None or _json(r.after) is not None:
        raise SealedValuesError("readable values stored beside the sealed ones")
    return open_sealed(key, r.case_id, r.kind, r.sealed_values)


def _check_values(walk: _Walk, r: Any, body: dict[str, Any], case_id: str | None) -> None:
    if case_id is None:
        for name in ("before", "after"):
            if _json(getattr(r, name)) != body.get(name):
                walk.add("values_edited", r.seq, r.id, f"{name} differs from the body")
        return
    if case_id not in walk.keys:
        walk.add("values_edited", r.seq, r.id, f"the subject key of case {case_id} is missing")
        return
    key = walk.keys[case_id]
    if (r.case_id, r.kind) != (case_id, body.get("kind")):  # edited (reported as such): the
        r = r._replace(case_id=case_id, kind=body.get("kind"))  # values open as the body's
    try:
        shown_values = _shown(walk, r, key)
    except SealedValuesError as e:
        walk.add("values_edited", r.seq, r.id, f"sealed_values: {e}")
        return
    for name, shown in zip(("before", "after"), shown_values):
        kept = body.get(name)
        if key is not None:
            if commitments(key, shown) != kept:
                walk.add("values_edited", r.seq, r.id, f"{name} does not match its commitment")
        elif shown is not None and not _committed(kept) and shown != kept:
            walk.add("values_edited", r.seq, r.id, f"{name} differs from the body")


def _committed(value: Any) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) and v.startswith(COMMITMENT_PREFIX)
                                           for v in value.values())


def _check_row(walk: _Walk, r: Any) -> None:
    if walk.prev_seq is not None and r.seq == walk.prev_seq:
        walk.add("duplicate", r.seq, r.id, "another row has this seq")
        return
    gap = r.seq > walk.expected
    if gap:
        walk.add("row_deleted", walk.expected, None,
                 f"seq {walk.expected}..{r.seq - 1} missing" if r.seq - 1 > walk.expected
                 else f"seq {walk.expected} missing")
    bad = False
    if event_hash(r.seq, r.prev_hash or "", r.body or "") != r.hash:
        bad = True
        moved = next((s for s in range(max(1, r.seq - SWAP_WINDOW), r.seq + SWAP_WINDOW + 1)
                      if s != r.seq and event_hash(s, r.prev_hash or "", r.body or "") == r.hash),
                     None)
        if moved is not None:
            walk.add("out_of_order", r.seq, r.id, f"its hash fits seq {moved}")
        else:
            walk.add("body_edited", r.seq, r.id)
    elif r.prev_hash != walk.prev_hash and not gap and not walk.prev_bad:
        walk.add("link_broken", r.seq, r.id)
    walk.prev_hash, walk.prev_seq, walk.prev_bad = r.hash, r.seq, bad
    walk.expected = r.seq + 1
    if bad:
        return
    try:
        body = json.loads(r.body)
    except (TypeError, ValueError):
        walk.add("body_edited", r.seq, r.id, "the body is not JSON")
        return
    copied = (("actor", r.actor), ("kind", r.kind), ("case_id", r.case_id),
              ("at", r.at if walk.at_is_body_text else _at_text(r.at)), ("via", r.via),
              ("case_prev_seq", r.case_prev_seq))
    edited = [name for name, value in copied if body.get(name) != value]
    if edited:
        walk.add("column_edited", r.seq, r.id, ", ".join(edited))
    case_id = body.get("case_id")
    _check_values(walk, r, body, case_id)
    if case_id is not None:
        last = walk.case_last.get(case_id)
        if (last is not None or walk.whole) and body.get("case_prev_seq") != last:
            walk.add("case_history", r.seq, r.id,
                     f"case {case_id}: names {body.get('case_prev_seq')}, previous is {last}")
        walk.case_last[case_id] = r.seq


def proven_from(conn: Connection) -> str:
    """From when the chain proves events unchanged: "seq 1", or the migration that chained
    the events written before it (its date and how many)."""
    started = conn.execute(select(_events.c.seq, _events.c.at, _events.c.after)
                           .where(_events.c.kind == "audit.chain_started")
                           .order_by(_events.c.seq).limit(1)).first()
    if started is None or not (started.after or {}).get("existing_events"):
        return "seq 1"
    return (f"{started.at:%Y-%m-%d %H:%M} UTC (seq {started.seq}: the "
            f"{started.after['existing_events']} events before it were chained then)")


def _commitments_quick(mac: Any, key: bytes, value: Any) -> str:
    """`canonical(commitments(key, value))` (what `body_of` writes), each HMAC a copy of the
    case's keyed state `mac` (`_Walk.case_secrets`) fed the rest of the message."""
    if type(value) is dict and "".join(value).isascii():  # as _commitments_text does
        parts = []
        for name in sorted(value):
            item = value[name]
            state = mac.copy()
            state.update(f"{name}\x00{_string(item) if type(item) is str else _scalar(item)}"
                         .encode("utf-8"))
            parts.append(f'{_string(name)}:"{COMMITMENT_PREFIX}{state.hexdigest()}"')
        return "{" + ",".join(parts) + "}"
    if value is None:
        return "null"
    return _commitments_text(key, value)


def check_rows(walk: _Walk, rows: list[tuple]) -> None:
    """The quick check of each row (see the module's docstring); `_check_row` for the rest."""
    keys, case_last, whole, secrets = walk.keys, walk.case_last, walk.whole, walk.secrets
    at_is_text = walk.at_is_body_text
    expected, prev_seq, last_hash, bad = walk.expected, walk.prev_seq, walk.prev_hash, walk.prev_bad
    for r in rows:
        id_, seq, prev_hash, hash_, body, case_prev, case_id, actor, kind, at, via, before, \
            after, sealed = r
        key = keys.get(case_id, _NO_KEY) if case_id is not None else None
        try:
            if key is not None and key is not _NO_KEY:
                cipher, mac, aad = secrets.get(case_id) or walk.case_secrets(case_id, key)
                if sealed is not None:
                    # audit_values.open_sealed, inlined: the hottest path of verify
                    if (before is not None or after is not None) and (
                            _json(before) is not None or _json(after) is not None):
                        raise SealedValuesError("readable values beside the sealed ones")
                    if sealed[0] != SEALED_VERSION:
                        raise SealedValuesError("not sealed values of version 1")
                    values = _loads_utf8(cipher.decrypt(sealed[1:13], sealed[13:],
                                                        aad + kind.encode()))
                    before, after = values["before"], values["after"]
                else:
                    before, after = _json(before), _json(after)
                before_text = _commitments_quick(mac, key, before)
                after_text = _commitments_quick(mac, key, after)
            else:
                before_text, after_text = _scalar(_json(before)), _scalar(_json(after))
            # event_hash and body_of, written out (the body's keys are fixed and sorted)
            quick = (type(seq) is int and seq == expected and seq != prev_seq
                     and prev_hash == last_hash
                     and key is not _NO_KEY
                     and _sha256(b"%s%d\0%s\0%s" % (DOMAIN, seq, prev_hash.encode("ascii"),
                                                    body.encode())).hexdigest() == hash_
                     and body == (
                         f'{{"actor":{_string(actor) if type(actor) is str else _scalar(actor)}'
                         f',"after":{after_text},"at":"{at if at_is_text else _at_text(at)}"'
                         f',"before":{before_text},"case_id":'
                         f'{_string(case_id) if type(case_id) is str else _scalar(case_id)}'
                         f',"case_prev_seq":'
                         f'{case_prev if type(case_prev) is int else _scalar(case_prev)}'
                         f',"kind":{_string(kind) if type(kind) is str else _scalar(kind)}'
                         f',"via":{_string(via) if type(via) is str else _scalar(via)}}}'))
        except (TypeError, ValueError, AttributeError, KeyError, IndexError, InvalidTag):
            quick = False  # a column of the wrong type, values that do not open: slowly
        if not quick:
            walk.expected, walk.prev_seq, walk.prev_hash, walk.prev_bad = \
                expected, prev_seq, last_hash, bad
            _check_row(walk, _Row._make(r))
            expected, prev_seq, last_hash, bad = \
                walk.expected, walk.prev_seq, walk.prev_hash, walk.prev_bad
            continue
        if case_id is not None:
            last = case_last.get(case_id)
            if (last is not None or whole) and case_prev != last:
                walk.add("case_history", seq, id_,
                         f"case {case_id}: names {case_prev}, previous is {last}")
            case_last[case_id] = seq
        last_hash, prev_seq, expected, bad = hash_, seq, seq + 1, False
    walk.expected, walk.prev_seq, walk.prev_hash, walk.prev_bad = expected, prev_seq, last_hash, bad


def verify_connection(conn: Connection, *, from_seq: int = 1, batch: int = BATCH) -> Report:
    """Checks the chain as the transaction on `conn` sees it."""
    report = Report(proven_from=proven_from(conn))
    prev = GENESIS
    if from_seq > 1:
        prev = conn.scalar(select(_events.c.hash).where(_events.c.seq == from_seq - 1)) or GENESIS
    walk = _Walk(report, from_seq, prev)
    for id_ in conn.scalars(select(_events.c.id).where(_events.c.seq.is_(None))
                            .order_by(_events.c.id).limit(MAX_FINDINGS)):
        walk.add("unchained", None, id_)
    last: tuple[int, int] | None = None
    last_hash = None
    walk.at_is_body_text = at_is_body_text(conn)
    for rows in batches(conn, from_seq, batch, walk.keys):
        check_rows(walk, rows)
        report.checked += len(rows)
        report.first_seq = report.first_seq if report.first_seq is not None else rows[0][1]
        last, last_hash = (rows[-1][1], rows[-1][0]), rows[-1][3]
    report.last_seq = last[0] if last else None
    head = conn.execute(select(AuditChainHead.seq, AuditChainHead.hash)
                        .where(AuditChainHead.id == 1)).first()
    report.head_seq = int(head.seq) if head else None
    tail = report.last_seq or 0
    if head is not None and head.seq > tail:
        walk.add("tail_truncated", tail + 1, None, f"the head is at seq {head.seq}, the last "
                 f"row at {tail or 'none'}")
    elif head is not None and head.seq < tail:
        walk.add("beyond_head", head.seq + 1, None, f"the head is at seq {head.seq}, the last "
                 f"row at {tail}")
    elif head is not None and tail and head.hash != last_hash:
        walk.add("head_mismatch", tail, last[1] if last else None)
    return report


def verify_chain(db: Database, *, from_seq: int = 1, batch: int = BATCH) -> Report:
    """Checks the whole audit chain (or from `from_seq`) in one read transaction (one
    snapshot: REPEATABLE READ on PostgreSQL, so appends meanwhile are not half seen)."""
    with db.read_engine.connect() as conn:
        if not db.is_sqlite:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        return verify_connection(conn, from_seq=from_seq, batch=batch)


def last_seq(conn: Connection) -> int:
    return int(conn.scalar(select(func.max(_events.c.seq))) or 0)
