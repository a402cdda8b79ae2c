"""PostgreSQL's seal: the commit chains the transaction's events inside the server, so no
client round trip happens while the chain's head is locked (docs/PERFORMANCE.md, "Audit chain").

Why a module of its own: the head's lock is held from the seal until COMMIT returns. When the
client sealed (`core.store.audit_chain`, still SQLite's way), that hold spanned the seal's two
round trips and COMMIT's; with more client processes than cores the holder was descheduled
between them and the others queued behind it (a lock convoy: 205 events/s with 8 clients at
one event a transaction). Here the work is split by what needs Python:

- at the flush, outside any lock, Python writes each event's `body` with the INSERT — the
  canonical JSON with the keyed commitments under the case's subject key (read, or created
  with `INSERT ... ON CONFLICT DO NOTHING`, in one pipelined round trip per flush that meets a
  case not yet seen in the transaction) — with `CASE_PREV_PENDING` where the case's previous
  seq goes (audit_chain_format.py);
- at COMMIT, the deferred constraint trigger `docket_audit_seal` (installed by migration
  0024) runs `docket_audit_seal()`: lock the head, read the unchained rows that have a body in
  id order with each case's last seq, put the seq in the body, hash, write the chain columns
  (one UPDATE over arrays), move the head. The bytes hashed are exactly `event_hash`'s;
  `tests/records/test_chain_pg_seal.py` compares them.

The session hooks of this path live here too: bodies at the flush (`before_flush`), and after
the COMMIT the recorded objects' chain columns read back in one round trip (as SQLite's seal
sets them), outside the lock. The same flush hook seals a case event's before/after under the
case's key before its INSERT, on both databases (`hold_values`, `seal_rows`; the key read or
created there on SQLite too; core/store/audit_values.py), so the readable values never reach a
row.

A row inserted without a body (the demo loader's COPY, an SQL client outside the app) does not
fire the trigger and is left unchained for `audit_chain.seal_connection`, which computes bodies
itself; verify reports such a row as `unchained` until then.
"""
from __future__ import annotations

import os
from typing import Any, Iterable

from sqlalchemy import bindparam, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core.store.audit_chain_format import CASE_PREV_PENDING, body_of
from core.store.audit_values import Ciphers, seal_values
from core.store.base import utcnow

# a transaction-local setting: the highest id this transaction has sealed (the trigger fires
# once per inserted row; after the first, the rest find their row sealed already)
SEALED_UPTO = "docket.audit_sealed_upto"
# session.info: the objects `record` added, not yet flushed (their bodies are due); the
# transaction's subject keys (shared with audit_chain.py); the objects to read back
UNFLUSHED = "docket_audit_unflushed"
KEYS = "docket_audit_keys"
CHAIN_COLUMNS = ["seq", "prev_hash", "hash", "body", "case_prev_seq"]
# test-only: "on" reads the head without locking it (tests/records/test_concurrency_chain.py
# shows that the lock is what keeps the chain from forking)
UNLOCKED = "docket.audit_chain_unlocked"

# `from_id`: the seal reads the unchained rows from this id on. The commit's trigger passes
# the id of the transaction's first row (deferred triggers fire in the order the rows were
# inserted, and a transaction's ids only grow), so the read is a range of the partial index
# `ix_audit_unchained` from there. Reading every `seq IS NULL` entry instead meets the dead
# version each sealed row leaves in the indexes until VACUUM (sealing is an UPDATE of seq),
# and the seal grew by about 1 ms per 1,000 rows sealed since the last VACUUM, with the head
# locked (docs/PERFORMANCE.md, "Audit chain"). Every committed row with a body is sealed by
# its own commit, so no visible unchained row with a body lies below the first row's id.
SEAL_FUNCTION = f"""CREATE OR REPLACE FUNCTION docket_audit_seal(from_id bigint DEFAULT 0)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_prev text;
  v_body text;
  v_hash text;
  v_last bigint;
  r record;
  ids bigint[] := '{{}}';
  seqs bigint[] := '{{}}';
  prevs text[] := '{{}}';
  hashes text[] := '{{}}';
  bodies text[] := '{{}}';
  case_prevs bigint[] := '{{}}';
BEGIN
  IF current_setting('{UNLOCKED}', true) = 'on' THEN
    SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_chain_head h WHERE h.id = 1;
  ELSE
    SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_chain_head h WHERE h.id = 1 FOR UPDATE;
  END IF;
  IF v_seq IS NULL THEN  -- a new or emptied database: the genesis head
    INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, repeat('0', 64))
      ON CONFLICT DO NOTHING;
    SELECT h.seq, h.hash INTO v_seq, v_prev FROM audit_chain_head h WHERE h.id = 1 FOR UPDATE;
  END IF;
  -- a new statement, so a new snapshot: it sees what the previous holder committed
  FOR r IN
    WITH u AS (
      SELECT e.id, e.case_id, e.body, v_seq + row_number() OVER (ORDER BY e.id) AS new_seq
      FROM audit_events e WHERE e.seq IS NULL AND e.id >= from_id AND e.body IS NOT NULL)
    SELECT u.id, u.new_seq, u.body,
           CASE WHEN u.case_id IS NULL THEN NULL ELSE coalesce(
             lag(u.new_seq) OVER (PARTITION BY u.case_id ORDER BY u.id),
             (SELECT max(p.seq) FROM audit_events p
              WHERE p.case_id = u.case_id AND p.seq IS NOT NULL)) END AS case_prev
    FROM u ORDER BY u.id
  LOOP
    v_body := replace(r.body, '"case_prev_seq":{CASE_PREV_PENDING}',
                      '"case_prev_seq":' || coalesce(r.case_prev::text, 'null'));
    v_hash := encode(sha256(convert_to('docket.audit.v1', 'UTF8') || '\\x00'::bytea
                            || convert_to(r.new_seq::text, 'UTF8') || '\\x00'::bytea
                            || convert_to(v_prev, 'UTF8') || '\\x00'::bytea
                            || convert_to(v_body, 'UTF8')), 'hex');
    ids := array_append(ids, r.id);
    seqs := array_append(seqs, r.new_seq);
    prevs := array_append(prevs, v_prev);
    hashes := array_append(hashes, v_hash);
    bodies := array_append(bodies, v_body);
    case_prevs := array_append(case_prevs, r.case_prev);
    v_prev := v_hash;
    v_seq := r.new_seq;
    v_last := r.id;
  END LOOP;
  IF v_last IS NULL THEN
    RETURN 0;
  END IF;
  UPDATE audit_events e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash,
         body = v.body, case_prev_seq = v.case_prev_seq
  FROM unnest(ids, seqs, prevs, hashes, bodies, case_prevs)
       AS v(id, seq, prev_hash, hash, body, case_prev_seq)
  WHERE e.id = v.id;
  UPDATE audit_chain_head SET seq = v_seq, hash = v_prev WHERE id = 1;
  PERFORM set_config('{SEALED_UPTO}', v_last::text, true);
  RETURN cardinality(ids);
END $$"""

SEAL_AT_COMMIT_FUNCTION = f"""CREATE OR REPLACE FUNCTION docket_audit_seal_at_commit()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.id > coalesce(nullif(current_setting('{SEALED_UPTO}', true), '')::bigint, 0) THEN
    PERFORM docket_audit_seal(NEW.id);
  END IF;
  RETURN NULL;
END $$"""

INSTALL_SQL = [
    "DROP FUNCTION IF EXISTS docket_audit_seal()",  # 0024's, without `from_id`
    SEAL_FUNCTION,
    SEAL_AT_COMMIT_FUNCTION,
    "DROP TRIGGER IF EXISTS docket_audit_seal ON audit_events",
    # deferred: fires at COMMIT (or SET CONSTRAINTS ... IMMEDIATE), once per row written
    # with a body and no seq; the first firing seals the whole transaction
    "CREATE CONSTRAINT TRIGGER docket_audit_seal AFTER INSERT ON audit_events "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
    "WHEN (NEW.body IS NOT NULL AND NEW.seq IS NULL) "
    "EXECUTE FUNCTION docket_audit_seal_at_commit()",
]
UNINSTALL_SQL = [
    "DROP TRIGGER IF EXISTS docket_audit_seal ON audit_events",
    "DROP FUNCTION IF EXISTS docket_audit_seal_at_commit()",
    "DROP FUNCTION IF EXISTS docket_audit_seal(bigint)",
    "DROP FUNCTION IF EXISTS docket_audit_seal()",
]

_KEYS_SQL = """INSERT INTO audit_subject_keys (case_id, key, created_at)
SELECT * FROM unnest(%(case_ids)s::varchar[], %(keys)s::varchar[], %(at)s::timestamp[])
ON CONFLICT (case_id) DO NOTHING"""
_READ_KEYS_SQL = "SELECT case_id, key FROM audit_subject_keys WHERE case_id = ANY(%(ids)s)"
_SQLITE_KEYS = text("INSERT OR IGNORE INTO audit_subject_keys (case_id, key, created_at) "
                    "VALUES (:case_id, :key, :created_at)")
_SQLITE_READ_KEYS = text("SELECT case_id, key FROM audit_subject_keys "
                         "WHERE case_id IN :ids").bindparams(bindparam("ids", expanding=True))


def install_seal_trigger(conn: Connection) -> None:
    """Creates (or replaces) the seal's function and its deferred trigger. PostgreSQL only."""
    for statement in INSTALL_SQL:
        conn.execute(text(statement))


def uninstall_seal_trigger(conn: Connection) -> None:
    for statement in UNINSTALL_SQL:
        conn.execute(text(statement))


def subject_keys(conn: Connection, case_ids: Iterable[str | None],
                 cache: dict[str, bytes | None],
                 created: set[str] | None = None) -> dict[str, bytes | None]:
    """The subject keys of these cases (None: destroyed) into `cache`, created where missing
    (`created`, if given, receives the cases whose key this call made), outside the head's
    lock. PostgreSQL: one pipelined round trip (`INSERT ... ON CONFLICT DO NOTHING`, then the
    read); two transactions making the first key of one case: the second waits at the INSERT
    for the first to end, then reads the first's key. SQLite: the read, and only for the
    cases it did not find (a case's first event) `INSERT OR IGNORE` and the read again (the
    INSERT takes the write lock, so that read sees the key whoever made it)."""
    wanted = sorted({c for c in case_ids if c is not None and c not in cache})
    if not wanted:
        return cache
    now = utcnow()
    material = os.urandom(32 * len(wanted)).hex()
    fresh = {c: material[64 * i:64 * i + 64] for i, c in enumerate(wanted)}
    if conn.dialect.name != "postgresql":
        found = _sqlite_keys(conn, wanted)
        missing = sorted(set(wanted) - {c for c, _ in found})
        if missing:
            conn.execute(_SQLITE_KEYS, [{"case_id": c, "key": fresh[c], "created_at": now}
                                        for c in missing])
            found += _sqlite_keys(conn, missing)
    else:
        pg = conn.connection.driver_connection
        with pg.pipeline():
            with pg.cursor() as cur:
                cur.execute(_KEYS_SQL, {"case_ids": wanted, "keys": list(fresh.values()),
                                        "at": [now] * len(wanted)})
            reader = pg.cursor()
            reader.execute(_READ_KEYS_SQL, {"ids": wanted})
        found = reader.fetchall()
        reader.close()
    for case_id, key in found:
        cache[case_id] = bytes.fromhex(key) if key else None
        if created is not None and key == fresh.get(case_id):
            created.add(case_id)
    return cache


def _sqlite_keys(conn: Connection, case_ids: list[str]) -> list[tuple[str, str | None]]:
    return [(c, k) for i in range(0, len(case_ids), 500)
            for c, k in conn.execute(_SQLITE_READ_KEYS, {"ids": case_ids[i:i + 500]})]


def forget_subject_key(session: Session, case_id: str) -> None:
    """Erasure destroyed the case's key: the transaction's later events of the case are
    recorded in clear (as a later transaction's would), not under the cached key."""
    session.info.setdefault(KEYS, {})[case_id] = None


# --- a case event's values, sealed under its case's key before its row is written ------------
# (core/store/audit_values.py). `record` holds them on the object until the flush;
# `record_many` seals its rows before they are written.
_VALUES = "_docket_audit_values"      # on a pending AuditEvent: its readable (before, after)
SEALED_OBJECTS = "docket_audit_sealed_objects"  # session.info: objects flushed sealed
NEW_CASES = "docket_audit_new_cases"  # session.info: the cases `seal_rows` made keys for


def hold_values(obj: Any, before: Any, after: Any) -> None:
    """Keeps a case event's readable values on its object until the flush seals them."""
    setattr(obj, _VALUES, (before, after))


def _held(obj: Any) -> tuple[Any, Any]:
    return getattr(obj, _VALUES, None) or (obj.before, obj.after)


def seal_rows(session: Session, rows: list[dict[str, Any]]) -> set[str]:
    """Gives each row (audit columns, readable before/after) its `sealed_values`: sealed
    under its case's key (created where missing), None without a case or key. Returns the
    cases whose key this call made (they have no chained event yet), also kept in
    `session.info[NEW_CASES]` for `audit_chain.append_many`."""
    created: set[str] = set()
    keys = subject_keys(session.connection(), {r["case_id"] for r in rows},
                        session.info.setdefault(KEYS, {}), created)
    ciphers = Ciphers()
    for row in rows:
        case_id = row["case_id"]
        key = keys.get(case_id) if case_id is not None else None
        row["sealed_values"] = None if key is None else seal_values(
            key, case_id, row["kind"], row["before"], row["after"],
            cipher=ciphers.of(case_id, key))
    session.info[NEW_CASES] = created
    return created


def stored_row(row: dict[str, Any]) -> dict[str, Any]:
    """The row as written: a sealed row's readable before/after left out (NULL)."""
    if row.get("sealed_values") is None:
        return row
    return {**row, "before": None, "after": None}


def pending_body(event: Any, keys: dict[str, bytes | None]) -> str:
    """The body of `event` (an object or a mapping with the audit columns) as written with
    its INSERT: complete, except the case's previous seq (`CASE_PREV_PENDING`) for an event
    with a case. The case's key must be in `keys`."""
    if isinstance(event, dict):
        get, (before, after) = event.get, (event.get("before"), event.get("after"))
    else:
        get, (before, after) = (lambda name: getattr(event, name)), _held(event)
    case_id = get("case_id")
    return body_of(kind=get("kind"), actor=get("actor"), case_id=case_id, at=get("at"),
                   via=get("via"), case_prev_seq=None if case_id is None else CASE_PREV_PENDING,
                   before=before, after=after,
                   key=None if case_id is None else keys.get(case_id))


def seal_now(conn: Connection) -> int:
    """Seals the transaction's unchained events now (the commit would): the server's seal."""
    return int(conn.exec_driver_sql("SELECT docket_audit_seal()").scalar_one())


def unlock_for_test(conn: Connection) -> None:
    """Test-only: this transaction's seal reads the head without locking it."""
    conn.exec_driver_sql(f"SELECT set_config('{UNLOCKED}', 'on', true)")


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


READ_BACK = "docket_audit_read_back"  # session.info: (psycopg connection, objects)
_READ_BACK_SQL = ("SELECT id, seq, prev_hash, hash, body, case_prev_seq FROM audit_events "
                  "WHERE id = ANY(%(ids)s)")


@event.listens_for(Session, "after_commit")
def _read_back_after_commit(session: Session) -> None:
    """PostgreSQL: the objects `record` added show the chain columns the commit gave them
    (as on SQLite), read in one round trip after the COMMIT, outside the head's lock, on the
    connection that committed (autocommit for that one statement: no BEGIN, no ROLLBACK)."""
    pending = session.info.pop(READ_BACK, None)
    if pending is None:
        return
    pg, objects = pending
    by_id = {obj.id: obj for obj in objects if obj.id is not None}
    if not by_id:
        return
    autocommit = pg.autocommit
    try:
        pg.autocommit = True
        rows = pg.execute(_READ_BACK_SQL, {"ids": list(by_id)}).fetchall()
    except Exception:  # noqa: BLE001 - the commit stands; the objects just stay unsealed
        return
    finally:
        try:
            pg.autocommit = autocommit
        except Exception:  # noqa: BLE001,S110 - a broken connection: the pool discards it
            pass
    for row in rows:
        obj = by_id[row[0]]
        for attr, value in zip(CHAIN_COLUMNS, row[1:]):
            set_committed_value(obj, attr, value)


@event.listens_for(Session, "before_flush")
def _bodies_before_flush(session: Session, flush_context, instances) -> None:
    """The events `record` added, before their INSERT: each case event's values sealed under
    its case's key (read or created here, outside the head's lock: one round trip for the
    cases not seen yet in this transaction) and, on PostgreSQL, each body computed."""
    objects = session.info.pop(UNFLUSHED, None)
    if not objects:
        return
    objects = [o for o in objects if o in session.new]
    pg = is_postgresql(session)
    keys = subject_keys(session.connection(), {o.case_id for o in objects},
                        session.info.setdefault(KEYS, {}))
    ciphers, sealed = Ciphers(), session.info.setdefault(SEALED_OBJECTS, [])
    for obj in objects:
        if pg and obj.body is None:
            obj.body = pending_body(obj, keys)
        held = getattr(obj, _VALUES, None)
        if held is None:
            continue
        key = keys.get(obj.case_id)
        if key is None:  # a case whose key was destroyed (erased): its values in clear
            obj.before, obj.after = held
            continue
        obj.sealed_values = seal_values(key, obj.case_id, obj.kind, *held,
                                        cipher=ciphers.of(obj.case_id, key))
        sealed.append(obj)


@event.listens_for(Session, "after_flush_postexec")
def _readable_after_flush(session: Session, flush_context) -> None:
    """The sealed events' objects show their readable values again (the rows hold none)."""
    for obj in session.info.pop(SEALED_OBJECTS, ()):
        held = getattr(obj, _VALUES, None)
        if held is not None:
            set_committed_value(obj, "before", held[0])
            set_committed_value(obj, "after", held[1])
