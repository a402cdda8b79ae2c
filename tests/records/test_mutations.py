"""500 random changes made behind Docket's back (each of the kinds `audit verify` names) are
every one detected and located at the changed row; 100 clean chains give no false alarm.

One chain is built through `record`; each mutation runs in a transaction on it that is rolled
back after verify has looked (verify reads through the same connection)."""
from __future__ import annotations

import hashlib
import random
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.records.verify import verify_connection
from core.store import audit, audit_chain
from core.store.db import Database

CASES = [f"C-{n}" for n in range(1, 13)]
MUTATIONS, CLEAN = 500, 100


def _record_some(session: Session, rng: random.Random, n: int) -> None:
    for i in range(n):
        case_id = rng.choice(CASES + [None])
        audit.record(session, case_id=case_id, actor=rng.choice(["reviewer", "admin", "api"]),
                     kind=rng.choice(["case.note", "block.approved", "user.created"]),
                     before=rng.choice([None, {"status": "open", "n": i}]),
                     after={"status": rng.choice(["approved", "closed", "ü名"]), "n": i})


def _build(database_url: str) -> Database:
    db = Database(database_url)
    rng = random.Random(7)
    for _ in range(20):
        with db.unit_of_work() as s:
            with audit.through("api key crm") if rng.random() < 0.3 else _nothing():
                _record_some(s, rng, rng.randint(1, 12))
    return db


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _rows(conn):
    return conn.execute(text("SELECT id, seq, case_id, before, after, body, hash, at, prev_hash "
                             "FROM audit_events ORDER BY seq")).all()


def _mutate(conn, kind: str, rng: random.Random) -> tuple[set[str], set[int]]:
    """Applies one mutation; returns the problems that name it and the seqs that locate it."""
    rows = _rows(conn)
    last = rows[-1].seq
    r = rng.choice(rows[1:-1])
    s = r.seq
    upd = "UPDATE audit_events SET {} WHERE seq = :s"
    if kind == "body":
        body = r.body.replace('"kind":"', '"kind":"x', 1)
        conn.execute(text(upd.format("body = :v")), {"v": body, "s": s})
        return {"body_edited"}, {s}
    if kind == "hash":
        conn.execute(text(upd.format("hash = :v")),
                     {"v": hashlib.sha256(str(rng.random()).encode()).hexdigest(), "s": s})
        return {"body_edited"}, {s}
    if kind == "prev_hash":
        conn.execute(text(upd.format("prev_hash = :v")), {"v": "f" * 64, "s": s})
        return {"body_edited"}, {s}
    if kind == "column":
        column = rng.choice(["actor", "kind", "via", "case_id", "at", "case_prev_seq"])
        value = {"actor": "mallory", "kind": "case.other", "via": "elsewhere",
                 "case_id": "C-999", "at": r.at + timedelta(seconds=1) if hasattr(r.at, "year")
                 else "2020-01-01 00:00:00.000000", "case_prev_seq": 99999}[column]
        conn.execute(text(upd.format(f"{column} = :v")), {"v": value, "s": s})
        return {"column_edited"}, {s}
    if kind == "values":
        column = rng.choice(["before", "after"])
        conn.execute(text(upd.format(f"{column} = :v")), {"v": '{"status": "forged"}', "s": s})
        return {"values_edited"}, {s}
    if kind == "delete":
        conn.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": s})
        return {"row_deleted"}, {s}
    if kind == "swap":
        conn.execute(text(upd.format("seq = -1")), {"s": s})
        conn.execute(text(upd.format("seq = :t")), {"t": s, "s": s + 1})
        conn.execute(text(upd.format("seq = :t")), {"t": s + 1, "s": -1})
        return {"out_of_order"}, {s, s + 1}
    if kind == "truncate":
        cut = rng.randint(1, 5)
        conn.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": last - cut})
        return {"tail_truncated"}, {last - cut + 1}
    if kind == "duplicate":
        conn.execute(text("DROP INDEX ux_audit_seq"))
        conn.execute(text("DROP INDEX ux_audit_prev_hash"))
        conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind, before, after, via, "
                          "seq, prev_hash, hash, body, case_prev_seq) SELECT case_id, at, actor, "
                          "kind, before, after, via, seq, prev_hash, hash, body, case_prev_seq "
                          "FROM audit_events WHERE seq = :s"), {"s": s})
        return {"duplicate"}, {s}
    if kind == "append":  # a forged event, hashed right, but the head not moved
        conn.execute(text("INSERT INTO audit_events (case_id, at, actor, kind, via, seq, "
                          "prev_hash, hash, body) SELECT NULL, at, actor, kind, via, :n, hash, "
                          ":h, body FROM audit_events WHERE seq = :s"),
                     {"n": last + 1, "h": "0" * 63 + "1", "s": last})
        return {"beyond_head"}, {last + 1}
    raise AssertionError(kind)


KINDS = ["body", "hash", "prev_hash", "column", "values", "delete", "swap", "truncate",
         "duplicate", "append"]


def test_every_mutation_is_detected_and_located(database_url):
    db = _build(database_url)
    rng = random.Random(2026)
    missed = []
    with db.write_engine.connect() as conn:
        for n in range(MUTATIONS):
            kind = KINDS[n % len(KINDS)]
            conn.begin()
            try:
                problems, seqs = _mutate(conn, kind, rng)
                report = verify_connection(conn)
            finally:
                conn.rollback()
            located = [f for f in report.findings if f.problem in problems and f.seq in seqs]
            if not located:
                missed.append((kind, seqs, [str(f) for f in report.findings]))
    db.dispose()
    assert missed == []


def test_clean_chains_give_no_false_alarm(database_url):
    db = _build(database_url)
    rng = random.Random(11)
    alarms = []
    with db.write_engine.connect() as conn:
        for _ in range(CLEAN):
            conn.begin()
            try:
                session = Session(bind=conn)
                _record_some(session, rng, rng.randint(1, 30))
                audit_chain.seal(session)
                session.close()
                report = verify_connection(conn)
            finally:
                conn.rollback()
            if not report.ok:
                alarms.append([str(f) for f in report.findings])
    db.dispose()
    assert alarms == []
