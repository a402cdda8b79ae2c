"""Sealing audit events into the hash chain, as the last step of their transaction.

Design ("insert at record, seal at commit"): `core.store.audit.record`/`record_many` insert the
event as before, with its chain columns NULL, and mark the session. A `before_commit` listener
on every SQLAlchemy Session (sessionmaker's, `Database.read()`'s, a plain `Session(engine)`)
then calls `seal`: flush, lock the head row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite
already holds its write lock, from BEGIN IMMEDIATE or from the flush's INSERT), read the
transaction's unchained events in id order with each case's last seq, give each its seq,
prev_hash, body, hash and case_prev_seq, move the head. A rollback drops events and seal alike.

Why not keep the events out of the database until the commit (one INSERT instead of an INSERT
and an UPDATE)? Code reads its own transaction's events: an ORM query autoflushes pending
`AuditEvent`s, tests and services query what they just recorded, and `record_many` already
writes at once. Inserting at `record` keeps every such read true. The seal also picks up
committed rows that a raw writer left unchained (the demo bulk loader writes rows without the
ORM; it calls `seal_connection`), so every event ends chained.

What runs under the head's lock is kept short, because a transaction keeps the lock until its
COMMIT returns, fsync included (docs/PERFORMANCE.md, "Audit chain"). On PostgreSQL the seal is
two round trips on the driver's connection, each a pipeline: (1) lock the head, read the
unchained rows with each case's last seq (one statement), read the subject keys of the cases
the session recorded; (2) create the missing keys, write every row's chain columns (one UPDATE
over arrays), move the head. On SQLite, where a write transaction holds the database's lock
from its start, `record_many` chains its events as it inserts them (`append_many`): one
INSERT with the chain columns, no UPDATE.

Per-case subject keys (`audit_subject_keys`) are created under the head lock, in the same
transaction, and cached in the session for its transaction.

PostgreSQL seals differently (core/store/audit_chain_pg.py): each event's body is computed
here at the flush and written with its INSERT, and a deferred constraint trigger chains the
transaction's events inside the server at COMMIT, so the head's lock is held for no client
round trip. `seal_connection` (rows written without a body: the demo loader, migration 0019)
still seals from the client there too.
"""
from __future__ import annotations

import os
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import bindparam, event, func, insert, inspect, null, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.store import audit_chain_pg
from core.store.audit_chain_format import GENESIS, body_of, event_hash
from core.store.audit_chain_models import AuditChainHead, AuditEvent, AuditSubjectKey
from core.store.audit_values import Ciphers, open_sealed
from core.store.base import utcnow

# Test-only switch: False reads the head without locking it (and before the flush; on
# PostgreSQL the server's seal reads it so), so the concurrency test can show that the lock
# is what keeps the chain from forking.
LOCK_HEAD = True
BATCH = 5_000
_PENDING = "docket_audit_pending"   # session.info: events recorded in this transaction
_OBJECTS = "docket_audit_objects"   # session.info: the AuditEvent objects `record` added
_KEYS = audit_chain_pg.KEYS           # session.info: case_id -> subject key (bytes | None)
_CASES = "docket_audit_cases"       # session.info: the cases of the events recorded

_events = AuditEvent.__table__
_head = AuditChainHead.__table__
_keys = AuditSubjectKey.__table__
_ROW = (_events.c.id, _events.c.case_id, _events.c.at, _events.c.actor, _events.c.kind,
        _events.c.before, _events.c.after, _events.c.via, _events.c.sealed_values)


def mark_pending(session: Session, obj: AuditEvent | None = None,
                 case_ids: Iterable[str | None] = ()) -> None:
    """Called by `core.store.audit` for every event it records in `session`."""
    session.info[_PENDING] = True
    cases = session.info.setdefault(_CASES, set())
    if obj is not None:
        session.info.setdefault(_OBJECTS, []).append(obj)
        session.info.setdefault(audit_chain_pg.UNFLUSHED, []).append(obj)
        cases.add(obj.case_id)
    cases.update(case_ids)


def _read_head(conn: Connection, lock: bool) -> tuple[int, str]:
    stmt = select(_head.c.seq, _head.c.hash).where(_head.c.id == 1)
    if lock:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:  # a new or emptied database: the genesis head
        if conn.dialect.name == "postgresql":
            conn.execute(pg_insert(_head).values(id=1, seq=0, hash=GENESIS)
                         .on_conflict_do_nothing())
        else:
            conn.execute(insert(_head).prefix_with("OR IGNORE").values(id=1, seq=0,
                                                                        hash=GENESIS))
        row = conn.execute(stmt).first()
    return int(row.seq), row.hash


def subject_keys(conn: Connection, case_ids: set[str], cache: dict[str, bytes | None],
                 create: bool = True) -> dict[str, bytes | None]:
    """The subject keys of these cases (None: destroyed), created where missing."""
    wanted = [c for c in case_ids if c not in cache]
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        for case_id, key in conn.execute(select(_keys.c.case_id, _keys.c.key)
                                         .where(_keys.c.case_id.in_(chunk))):
            cache[case_id] = bytes.fromhex(key) if key else None
    missing = [c for c in wanted if c not in cache]
    if missing and create:
        rows = _new_keys(missing, cache)
        conn.execute(insert(_keys), rows)
    return cache


def _new_keys(case_ids: Iterable[str], cache: dict[str, bytes | None]) -> list[dict[str, Any]]:
    """Fresh keys for these cases, put in `cache`; the rows to insert."""
    now, case_ids = utcnow(), list(case_ids)
    material = os.urandom(32 * len(case_ids)).hex()  # one call to the system's random source
    rows = [{"case_id": c, "key": material[64 * i:64 * i + 64], "created_at": now}
            for i, c in enumerate(case_ids)]
    cache.update((r["case_id"], bytes.fromhex(r["key"])) for r in rows)
    return rows


def _case_heads(conn: Connection, case_ids: set[str], known: dict[str, int | None]) -> None:
    wanted = [c for c in case_ids if c not in known]
    for i in range(0, len(wanted), 500):
        chunk = wanted[i:i + 500]
        found = dict(conn.execute(select(_events.c.case_id, func.max(_events.c.seq))
                                  .where(_events.c.case_id.in_(chunk),
                                         _events.c.seq.is_not(None))
                                  .group_by(_events.c.case_id)).all())
        for case_id in chunk:
            known[case_id] = found.get(case_id)


def _scan(after: bool, legacy: bool = False) -> Any:
    """The unchained rows in id order (BATCH at a time, after the id `after_id` if `after`),
    each with its case's last chained seq (an index lookup on (case_id, seq)); one statement,
    so the seal reads both in one round trip. `legacy`: a schema before migration 0026 (no
    `sealed_values`; migration 0019 seals with it), read as NULL."""
    columns = _ROW[:-1] + (null().label("sealed_values"),) if legacy else _ROW
    unchained = select(*columns).where(_events.c.seq.is_(None))
    if after:
        unchained = unchained.where(_events.c.id > bindparam("after_id"))
    unchained = unchained.order_by(_events.c.id).limit(bindparam("batch")).subquery("u")
    prior = _events.alias("prior")
    case_head = (select(func.max(prior.c.seq))
                 .where(prior.c.case_id == unchained.c.case_id, prior.c.seq.is_not(None))
                 .scalar_subquery())
    return select(*unchained.c, case_head.label("case_head")).order_by(unchained.c.id)


_SCANS = {(after, legacy): _scan(after, legacy) for after in (False, True)
          for legacy in (False, True)}
_UPDATE = (update(_events).where(_events.c.id == bindparam("_id"))
           .values(seq=bindparam("_seq"), prev_hash=bindparam("_prev"),
                   hash=bindparam("_hash"), body=bindparam("_body"),
                   case_prev_seq=bindparam("_case_prev")))
_HEAD = "UPDATE audit_chain_head SET seq = %(seq)s, hash = %(hash)s WHERE id = 1"
# PostgreSQL: every sealed row in one statement (arrays; the guard trigger allows it)
_PG_UPDATE = """UPDATE audit_events AS e SET seq = v.seq, prev_hash = v.prev_hash,
    hash = v.hash, body = v.body, case_prev_seq = v.case_prev_seq
FROM unnest(%(ids)s::bigint[], %(seqs)s::bigint[], %(prevs)s::varchar[], %(hashes)s::varchar[],
            %(bodies)s::text[], %(case_prevs)s::bigint[])
     AS v(id, seq, prev_hash, hash, body, case_prev_seq)
WHERE e.id = v.id"""
_PG_KEYS = """INSERT INTO audit_subject_keys (case_id, key, created_at)
SELECT * FROM unnest(%(case_ids)s::varchar[], %(keys)s::varchar[], %(at)s::timestamp[])"""
_PG_HEAD = "SELECT seq, hash FROM audit_chain_head WHERE id = 1"
_PG_READ_KEYS = "SELECT case_id, key FROM audit_subject_keys WHERE case_id = ANY(%(ids)s)"
_pg_sql: dict[tuple[bool, bool], str] = {}


def _pg_scan(conn: Connection, after: bool, legacy: bool) -> str:
    if (after, legacy) not in _pg_sql:
        _pg_sql[after, legacy] = str(_SCANS[after, legacy].compile(dialect=conn.dialect))
    return _pg_sql[after, legacy]


def _has_sealed_values(conn: Connection) -> bool:
    """Whether `audit_events` has `sealed_values` yet (migration 0026)."""
    return any(c["name"] == "sealed_values" for c in inspect(conn).get_columns("audit_events"))


class _Rows:
    """How the seal reads and writes: SQLAlchemy statements (SQLite, where a statement costs
    no round trip), or pipelines on psycopg's own connection (PostgreSQL)."""

    def __init__(self, conn: Connection, legacy: bool = False):
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self.legacy = legacy

    def read(self, *, lock: str | None, after_id: int | None, batch: int,
             key_ids: list[str], keys: dict[str, bytes | None]
             ) -> tuple[tuple[int, str] | None, list[tuple]]:
        """(the head, if `lock` asks for it: "lock" or "read"; the next unchained rows, each
        (id, case_id, at, actor, kind, before, after, via, sealed_values, case's last seq));
        the keys of
        `key_ids` go into `keys`."""
        params = {"batch": batch, "after_id": after_id}
        if not self.pg:
            head = None
            if lock:
                row = self.conn.execute(select(_head.c.seq, _head.c.hash)
                                        .where(_head.c.id == 1)).first()
                head = (int(row.seq), row.hash) if row else None
            if key_ids:
                subject_keys(self.conn, set(key_ids), keys, create=False)
            rows = [tuple(r) for r in self.conn.execute(_SCANS[after_id is not None, self.legacy],
                                                        params)]
            return head, rows
        pg = self.conn.connection.driver_connection
        with pg.pipeline():
            c_head = pg.cursor() if lock else None
            if c_head is not None:
                c_head.execute(_PG_HEAD + (" FOR UPDATE" if lock == "lock" else ""))
            c_keys = pg.cursor() if key_ids else None
            if c_keys is not None:
                c_keys.execute(_PG_READ_KEYS, {"ids": key_ids})
            c_rows = pg.cursor()
            c_rows.execute(_pg_scan(self.conn, after_id is not None, self.legacy), params)
        head = None
        if c_head is not None:
            row = c_head.fetchone()
            head = (int(row[0]), row[1]) if row else None
        if c_keys is not None:
            for case_id, key in c_keys.fetchall():
                keys[case_id] = bytes.fromhex(key) if key else None
        return head, c_rows.fetchall()

    def write(self, params: list[dict[str, Any]], new_keys: list[dict[str, Any]],
              head: tuple[int, str]) -> None:
        if not self.pg:
            if new_keys:
                self.conn.execute(insert(_keys), new_keys)
            if params:
                self.conn.execute(_UPDATE, params)
            self.conn.execute(update(_head).where(_head.c.id == 1)
                              .values(seq=head[0], hash=head[1]))
            return
        pg = self.conn.connection.driver_connection
        with pg.pipeline(), pg.cursor() as cur:
            if new_keys:
                cur.execute(_PG_KEYS, {"case_ids": [k["case_id"] for k in new_keys],
                                       "keys": [k["key"] for k in new_keys],
                                       "at": [k["created_at"] for k in new_keys]})
            if params:
                cur.execute(_PG_UPDATE, {
                    "ids": [p["_id"] for p in params], "seqs": [p["_seq"] for p in params],
                    "prevs": [p["_prev"] for p in params],
                    "hashes": [p["_hash"] for p in params],
                    "bodies": [p["_body"] for p in params],
                    "case_prevs": [p["_case_prev"] for p in params]})
            cur.execute(_HEAD, {"seq": head[0], "hash": head[1]})
            if params:  # the commit's trigger then finds these sealed (audit_chain_pg.py)
                cur.execute("SELECT set_config(%(name)s, %(upto)s, true)",
                            {"name": audit_chain_pg.SEALED_UPTO,
                             "upto": str(max(p["_id"] for p in params))})


def _chain(events: Sequence[Any], head: tuple[int, str], keys: dict[str, bytes | None],
           case_heads: dict[str, int | None]) -> tuple[tuple[int, str], list[dict[str, Any]]]:
    """The chain values of `events` ((id, case_id, at, actor, kind, before, after, via,
    [sealed_values, ...]) in chain order) after `head`; `case_heads` (case -> last seq) and
    the keys must be known for every case among them. Moves `case_heads` on. A row written
    sealed (its values in `sealed_values` only) is opened with its case's key."""
    seq, prev = head
    params = []
    ciphers = Ciphers()
    for id_, case_id, at, actor, kind, before, after, via, *rest in events:
        seq += 1
        case_prev = case_heads.get(case_id) if case_id is not None else None
        key = keys.get(case_id) if case_id is not None else None
        if rest and rest[0] is not None and key is not None:
            before, after = open_sealed(key, case_id, kind, rest[0],
                                        cipher=ciphers.of(case_id, key))
        # a case whose key was destroyed (erased) gets its later events' values in clear
        body = body_of(kind=kind, actor=actor, case_id=case_id, at=at, via=via,
                       case_prev_seq=case_prev, before=before, after=after, key=key)
        digest = event_hash(seq, prev, body)
        params.append({"_id": id_, "_seq": seq, "_prev": prev, "_hash": digest,
                       "_body": body, "_case_prev": case_prev})
        if case_id is not None:
            case_heads[case_id] = seq
        prev = digest
    return (seq, prev), params


def _missing_keys(conn: Connection, case_ids: set[str], keys: dict[str, bytes | None],
                  looked_up: Iterable[str] = ()) -> list[dict[str, Any]]:
    """New key rows for the cases that have none yet (looked up first unless cached or
    `looked_up` already)."""
    unknown = {c for c in case_ids if c not in keys}
    if unknown - set(looked_up):
        subject_keys(conn, unknown - set(looked_up), keys, create=False)
    return _new_keys(sorted(c for c in unknown if c not in keys), keys)


def seal_connection(conn: Connection, *, lock: bool = True, batch: int = BATCH,
                    keys: dict[str, bytes | None] | None = None,
                    head: tuple[int, str] | None = None,
                    sealed: list[dict[str, Any]] | None = None,
                    case_ids: Iterable[str | None] = ()) -> int:
    """Chains every event the transaction on `conn` sees unchained, in id order, and moves
    the head; returns how many it sealed. `sealed`, if given, receives each sealed row's
    values (`_id`, `_seq`, `_prev`, `_hash`, `_body`, `_case_prev`). `case_ids` (the cases
    the caller recorded events of) lets the keys be read with the head."""
    return _seal(conn, lock=lock, batch=batch, keys={} if keys is None else keys, head=head,
                 sealed=sealed, case_ids=case_ids, legacy=not _has_sealed_values(conn))[0]


def _seal(conn: Connection, *, lock: bool, batch: int, keys: dict[str, bytes | None],
          head: tuple[int, str] | None, sealed: list[dict[str, Any]] | None,
          case_ids: Iterable[str | None], case_heads: dict[str, int | None] | None = None,
          legacy: bool = False) -> tuple[int, tuple[int, str]]:
    io = _Rows(conn, legacy)
    case_heads = {} if case_heads is None else case_heads
    key_ids = sorted({c for c in case_ids if c is not None and c not in keys})
    looked_up = set(key_ids)
    count, after_id, first = 0, None, True
    while True:
        wanted = head is None and first
        got, rows = io.read(lock=("lock" if lock else "read") if wanted else None,
                            after_id=after_id, batch=batch, key_ids=key_ids, keys=keys)
        key_ids = []
        if wanted:
            if got is None:  # a new or emptied database: make the genesis head, then again
                head = _read_head(conn, lock)
                continue
            head = got
        first = False
        if not rows:
            break
        for row in rows:
            if row[1] is not None and row[1] not in case_heads:
                case_heads[row[1]] = row[9]
        new_keys = _missing_keys(conn, {r[1] for r in rows if r[1] is not None}, keys,
                                 looked_up)
        head, params = _chain(rows, head, keys, case_heads)
        io.write(params, new_keys, head)
        count += len(params)
        if sealed is not None:
            sealed.extend(params)
        after_id = rows[-1][0]
        if len(rows) < batch:
            break
    return count, head


def seal(session: Session) -> int:
    """Seals the session's unchained events now (the commit does it anyway); returns how
    many were sealed."""
    if audit_chain_pg.is_postgresql(session):
        session.flush()
        conn = session.connection()
        if not LOCK_HEAD:
            audit_chain_pg.unlock_for_test(conn)
        count = audit_chain_pg.seal_now(conn)
        _expire_chain_columns(session)
        session.info.pop(_PENDING, None)
        return count
    head = None
    if not LOCK_HEAD:  # test-only: the unlocked read happens before our own writes
        head = _read_head(session.connection(), lock=False)
    session.flush()
    count, _ = _seal_session(session, head)
    return count


def _seal_session(session: Session, head: tuple[int, str] | None,
                  case_heads: dict[str, int | None] | None = None
                  ) -> tuple[int, tuple[int, str]]:
    keys = session.info.setdefault(_KEYS, {})
    objects = session.info.pop(_OBJECTS, ())
    sealed: list[dict[str, Any]] | None = [] if objects else None
    count, head = _seal(session.connection(), lock=LOCK_HEAD, batch=BATCH, keys=keys,
                        head=head, sealed=sealed, case_ids=session.info.pop(_CASES, ()),
                        case_heads=case_heads)
    by_id = {p["_id"]: p for p in sealed or ()}
    for obj in objects:
        p = by_id.get(obj.id) if obj.id is not None else None
        if p is not None:
            for attr, name in (("seq", "_seq"), ("prev_hash", "_prev"), ("hash", "_hash"),
                               ("body", "_body"), ("case_prev_seq", "_case_prev")):
                set_committed_value(obj, attr, p[name])
    session.info.pop(_PENDING, None)
    return count, head


def append_many(session: Session, rows: list[Mapping[str, Any]]) -> bool:
    """SQLite: inserts `rows` (audit_events columns, in order, with readable before/after and
    `sealed_values`: a sealed row's before/after are written NULL) already chained, after
    sealing what the session left unchained, and returns True (the cases whose key
    `audit_chain_pg.seal_rows` just made for these rows have no chained event). A write
    transaction on SQLite holds the database's write lock anyway, so chaining now costs no
    one a wait and saves the seal's UPDATE. Elsewhere (PostgreSQL: the head's lock would be held until the commit)
    returns False and does nothing: the caller inserts the rows, the commit seals them."""
    conn = session.connection()
    new_cases = session.info.pop(audit_chain_pg.NEW_CASES, ())
    if conn.dialect.name == "postgresql":  # the commit's trigger seals them
        keys = audit_chain_pg.subject_keys(conn, {r["case_id"] for r in rows},
                                           session.info.setdefault(_KEYS, {}))
        for row in rows:
            row["body"] = audit_chain_pg.pending_body(row, keys)  # type: ignore[index]
        return False
    if conn.dialect.name != "sqlite" or not LOCK_HEAD or session.in_nested_transaction():
        return False  # in a savepoint: its rollback would unchain what was sealed before it
    session.flush()
    # the write lock first (a deferred transaction takes it here), then the head
    conn.execute(update(_head).where(_head.c.id == 1).values(seq=_head.c.seq))
    case_heads: dict[str, int | None] = {}
    _, head = _seal_session(session, None, case_heads)
    keys = session.info.setdefault(_KEYS, {})
    case_ids = {r["case_id"] for r in rows if r["case_id"] is not None}
    new_keys = _missing_keys(conn, case_ids, keys)
    # a case without a key row has no chained event (the key is made with the case's first
    # event; erasure keeps the row): no need to look its last seq up
    case_heads.update((c, None) for c in [*new_cases, *(k["case_id"] for k in new_keys)]
                      if c not in case_heads)
    _case_heads(conn, case_ids, case_heads)
    head, params = _chain([(None, r["case_id"], r["at"], r["actor"], r["kind"], r["before"],
                            r["after"], r["via"]) for r in rows], head, keys, case_heads)
    at, json_ = _processors(conn, _events.c.at), _processors(conn, _events.c.after)
    if new_keys:
        conn.exec_driver_sql(_insert_sql(conn, _keys, _KEY_COLUMNS), [
            (k["case_id"], k["key"], at(k["created_at"])) for k in new_keys])
    conn.exec_driver_sql(_insert_sql(conn, _events, _EVENT_COLUMNS), [
        (r["case_id"], at(r["at"]), r["actor"], r["kind"],
         None if r.get("sealed_values") is not None else json_(r["before"]),
         None if r.get("sealed_values") is not None else json_(r["after"]),
         r["via"], p["_seq"], p["_prev"], p["_hash"], p["_body"], p["_case_prev"],
         r.get("sealed_values"))
        for r, p in zip(rows, params)])
    conn.execute(update(_head).where(_head.c.id == 1).values(seq=head[0], hash=head[1]))
    return True


# append_many's INSERTs: SQLAlchemy's own SQL and value conversions (its bind processors),
# run as driver SQL: a thousand rows through SQLAlchemy's per-value handling cost more
# than chaining them (docs/PERFORMANCE.md, "Audit chain")
_EVENT_COLUMNS = ("case_id", "at", "actor", "kind", "before", "after", "via", "seq",
                  "prev_hash", "hash", "body", "case_prev_seq", "sealed_values")
_KEY_COLUMNS = ("case_id", "key", "created_at")
_driver_sql: dict[tuple[str, str], str] = {}


def _insert_sql(conn: Connection, table: Any, columns: tuple[str, ...]) -> str:
    name = (conn.dialect.name, table.name)
    if name not in _driver_sql:
        _driver_sql[name] = str(insert(table).compile(dialect=conn.dialect,
                                                      column_keys=list(columns)))
    return _driver_sql[name]


def _processors(conn: Connection, column: Any) -> Any:
    process = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return process or (lambda value: value)


def _expire_chain_columns(session: Session) -> None:
    """PostgreSQL, `seal` inside the transaction: the server wrote the recorded objects'
    chain columns; they are read again when next used."""
    for obj in session.info.get(_OBJECTS, ()):
        if obj in session and obj not in session.new:
            session.expire(obj, audit_chain_pg.CHAIN_COLUMNS)


@event.listens_for(Session, "before_commit")
def _seal_before_commit(session: Session) -> None:
    if not session.info.get(_PENDING) or session.in_nested_transaction():
        return
    if audit_chain_pg.is_postgresql(session):  # the commit's trigger seals (audit_chain_pg.py)
        session.flush()
        conn = session.connection()
        if not LOCK_HEAD:
            audit_chain_pg.unlock_for_test(conn)
        if isinstance(session.get_bind(), Connection):
            # a session on a connection whose transaction its caller may commit later (or
            # not): sealed now, as when the client sealed
            audit_chain_pg.seal_now(conn)
        objects = session.info.pop(_OBJECTS, None)
        if objects:
            session.info[audit_chain_pg.READ_BACK] = (conn.connection.driver_connection,
                                                      objects)
        session.info.pop(_PENDING, None)
        return
    seal(session)


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction) -> None:
    if transaction.parent is None:
        for name in (_PENDING, _OBJECTS, _KEYS, _CASES, audit_chain_pg.UNFLUSHED,
                     audit_chain_pg.READ_BACK, audit_chain_pg.SEALED_OBJECTS,
                     audit_chain_pg.NEW_CASES):
            session.info.pop(name, None)
