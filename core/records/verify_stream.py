"""Reading the audit chain for `audit verify` (core/records/verify.py) as fast as it checks.

Why it exists: on PostgreSQL the reading was half of verify's time — the client waited while
the server produced each batch, then the server waited while the client checked it. Here a
thread fetches the next batch (and its cases' subject keys) while the caller checks the one
before, on the same connection and snapshot, and PostgreSQL writes each `at` as the body's
text itself (`to_char`), so the client neither parses a timestamp nor formats one back.

The rows are the driver's raw tuples in `COLUMNS` order, in (seq, id) order. `at` is the
body's text ("YYYY-MM-DDTHH:MM:SS.ffffffZ", `utc_text`'s format exactly, for every time
Python can hold; anything else — BC, infinity — as PostgreSQL's own text, which no body
holds) on PostgreSQL, and SQLite's stored text there (`AT_IS_BODY_TEXT` says which).
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Iterator

from sqlalchemy import bindparam, func, literal_column, select
from sqlalchemy.engine import Connection

from core.store.audit_chain import subject_keys
from core.store.audit_chain_models import AuditEvent, AuditSubjectKey

COLUMNS = ("id", "seq", "prev_hash", "hash", "body", "case_prev_seq", "case_id", "actor",
           "kind", "at", "via", "before", "after", "sealed_values")
_events = AuditEvent.__table__
# utc_text's format: FM drops the year's leading zeros as Python's strftime does (year 44 is
# "44-..."), US is always six digits (microsecond 0 is ".000000"). The column is a timestamp
# without time zone (naive UTC), so neither the session's TimeZone nor an offset given on
# input enters the text.
AT_TEXT = ("CASE WHEN isfinite({at}) AND {at} >= '0001-01-01' "
           "THEN to_char({at}, 'FMYYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') ELSE {at}::text END")
_QUEUED = 2  # batches fetched ahead of the one being checked
_keys = AuditSubjectKey.__table__


def at_is_body_text(conn: Connection) -> bool:
    """Whether `batches` gives `at` as the body's text (PostgreSQL) or as stored (SQLite)."""
    return conn.dialect.name == "postgresql"


def _sql(conn: Connection, from_seq: int) -> str:
    columns = []
    for name in COLUMNS:
        column = _events.c[name]
        if name == "at" and at_is_body_text(conn):
            if getattr(column.type, "timezone", False):  # pragma: no cover - a naive column
                raise TypeError("audit_events.at holds time zones: to_char would use the "
                                "session's; write the UTC conversion first")
            column = literal_column(AT_TEXT.format(at=f"{_events.name}.at")).label("at")
        columns.append(column)
    stmt = (select(*columns).where(_events.c.seq >= from_seq)
            .order_by(_events.c.seq, _events.c.id))
    return str(stmt.compile(conn, compile_kwargs={"literal_binds": True}))


def batches(conn: Connection, from_seq: int, batch: int,
            keys: dict[str, bytes | None]) -> Iterator[list[tuple]]:
    """The chain's rows from `from_seq`, `batch` at a time; before a batch is given, its
    cases' subject keys are in `keys` (`subject_keys`, None: destroyed, absent: no key row).
    One statement on the driver's own cursor (a server-side one on PostgreSQL, read ahead
    on a thread)."""
    sql = _sql(conn, from_seq)
    driver = conn.connection.driver_connection
    if conn.dialect.name != "postgresql":
        cursor = driver.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch):
                subject_keys(conn, {r[6] for r in rows if r[6] is not None}, keys, create=False)
                yield rows
        finally:
            cursor.close()
        return
    keys_sql = str(select(_keys.c.case_id, _keys.c.key)
                   .where(_keys.c.case_id == func.any(bindparam("ids"))).compile(conn))
    yield from _read_ahead(driver, sql, batch, lambda rows: read_keys(driver, keys_sql, rows, keys))


def read_keys(driver: Any, keys_sql: str, rows: list[tuple],
              keys: dict[str, bytes | None]) -> None:
    """`subject_keys(..., create=False)` for the rows' cases on PostgreSQL: the ones not in
    `keys` yet, in one statement (`= any(array)`) on the driver's cursor."""
    wanted = list({r[6] for r in rows} - keys.keys() - {None})
    if wanted:
        with driver.cursor() as cursor:
            for case_id, key in cursor.execute(keys_sql, {"ids": wanted}):
                keys[case_id] = bytes.fromhex(key) if key else None


def _read_ahead(driver: Any, sql: str, batch: int,
                with_keys: Any) -> Iterator[list[tuple]]:
    """PostgreSQL: a thread fetches up to `_QUEUED` batches ahead (`with_keys(rows)` reads
    their cases' keys). Only that thread uses the connection until the last batch is given or
    the caller stops (then it is told to stop and waited for), so the caller may use the
    connection again after."""
    ready: queue.Queue = queue.Queue(maxsize=_QUEUED)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def fetch() -> None:
        try:
            with driver.cursor(name="docket_audit_verify", binary=True) as cursor:
                cursor.execute(sql)
                while not stop.is_set() and (rows := cursor.fetchmany(batch)):
                    with_keys(rows)
                    if not put(rows):
                        return
            put(None)
        except BaseException as e:  # given to the caller, raised there
            put(e)

    reader = threading.Thread(target=fetch, name="docket-audit-verify-read", daemon=True)
    reader.start()
    try:
        while (item := ready.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()
