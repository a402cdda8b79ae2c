"""How `audit verify` reads the chain (core/records/verify_stream.py): on PostgreSQL `at` comes
as the body's text from `to_char`, which must be `utc_text`'s format exactly (microsecond 0,
years before 1000, any session time zone), so an edited `at` is still found and an intact one
never flagged; the read-ahead thread gives every batch in order, and stops (leaving the
connection usable) when the checking stops or fails. Runs on SQLite too, where it applies."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from core.records import verify
from core.records.verify import verify_chain, verify_connection
from core.records.verify_stream import AT_TEXT
from core.store import audit
from core.store.audit_chain_format import utc_text

TIMES = [datetime(2025, 1, 1, 12, 0, 0), datetime(2025, 1, 1, 12, 0, 0, 1),
         datetime(2024, 2, 29, 23, 59, 59, 999999), datetime(2025, 6, 30, 0, 0, 0, 500000),
         datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999),
         datetime(999, 3, 4, 5, 6, 7, 80), datetime(44, 3, 15), datetime(1, 1, 1)]


def _pg(db) -> None:
    if db.is_sqlite:
        pytest.skip("PostgreSQL's text of `at` (set DOCKET_TEST_DATABASE_URL)")


def _chain_at(db, monkeypatch, times: list[datetime]) -> list[int]:
    """One event at each of `times` (alternately with and without a case); their seqs."""
    with db.read_engine.connect() as conn:
        before = conn.scalar(text("SELECT coalesce(max(seq), 0) FROM audit_events"))
    for i, at in enumerate(times):
        monkeypatch.setattr(audit, "utcnow", lambda at=at: at)
        with db.unit_of_work() as s:
            audit.record(s, case_id="C-1" if i % 2 else None, actor="reviewer",
                         kind="case.note", after={"i": i})
    monkeypatch.undo()
    with db.read_engine.connect() as conn:
        return list(conn.scalars(text("SELECT seq FROM audit_events WHERE seq > :s ORDER BY seq"),
                                 {"s": before}))


def _edit_at(db, seq: int, value) -> None:
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET at = :v WHERE seq = :s"), {"v": value, "s": seq})


def _found(report) -> list[tuple[str, int, str]]:
    return [(f.problem, f.seq, f.detail) for f in report.findings]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kathmandu", "America/St_Johns"])
def test_the_servers_text_is_utc_texts_in_any_session_zone(db, zone):
    _pg(db)
    with db.read_engine.connect() as conn:
        conn.execute(text(f"SET TIME ZONE '{zone}'"))
        for at in TIMES:
            shown = conn.scalar(text(f"SELECT {AT_TEXT.format(at='CAST(:at AS timestamp)')}"),
                                {"at": at})
            assert shown == utc_text(at), at
        for other in ("0044-03-15 00:00:00 BC", "infinity", "-infinity"):
            shown = conn.scalar(text(f"SELECT {AT_TEXT.format(at='CAST(:at AS timestamp)')}"),
                                {"at": other})
            assert shown == conn.scalar(text("SELECT CAST(:at AS timestamp)::text"), {"at": other})
            assert not shown.endswith("Z")  # never a body's text


def test_intact_times_verify_clean_and_each_edited_at_is_found(db, monkeypatch):
    seqs = _chain_at(db, monkeypatch, TIMES)
    assert verify_chain(db).ok
    edits = {seqs[0]: TIMES[0] + timedelta(microseconds=1),   # microsecond 0 -> 1
             seqs[1]: TIMES[1] - timedelta(microseconds=1),   # 1 -> microsecond 0
             seqs[3]: TIMES[3].replace(microsecond=0),
             seqs[6]: TIMES[6] + timedelta(days=1)}            # a year before 1000
    for seq, value in edits.items():
        _edit_at(db, seq, value)
    assert _found(verify_chain(db)) == [("column_edited", s, "at") for s in sorted(edits)]


def test_an_offset_on_input_is_not_applied_and_a_moved_instant_is_found(db, monkeypatch):
    _pg(db)
    seqs = _chain_at(db, monkeypatch, TIMES[:3])
    _edit_at(db, seqs[0], "2025-01-01 12:00:00+05:00")  # the column keeps the wall time: unchanged
    assert verify_chain(db).ok
    _edit_at(db, seqs[0], "2025-01-01 17:00:00+05:00")  # the same instant, another wall time
    with db.read_engine.connect() as conn:
        conn.execute(text("SET TIME ZONE 'Asia/Kathmandu'"))
        assert _found(verify_connection(conn)) == [("column_edited", seqs[0], "at")]


def test_a_bc_or_infinite_at_is_found_not_a_crash(db, monkeypatch):
    _pg(db)
    seqs = _chain_at(db, monkeypatch, TIMES[:3])
    _edit_at(db, seqs[0], "2025-01-01 12:00:00 BC")  # its text without the era would match
    _edit_at(db, seqs[2], "infinity")
    assert _found(verify_chain(db)) == [("column_edited", seqs[0], "at"),
                                        ("column_edited", seqs[2], "at")]


@pytest.fixture
def many(db):
    """9 events after the fixture's own (as many as `_count` gives)."""
    for i in range(9):
        with db.unit_of_work() as s:
            audit.record(s, case_id=f"C-{i % 3}", actor="reviewer", kind="case.note",
                         after={"i": i}, before={"i": i - 1} if i % 2 else None)
    return db


def _count(db) -> int:
    with db.read_engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM audit_events"))


def _readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "docket-audit-verify-read"]


def test_small_batches_give_every_row_in_order_and_find_an_edit_across_them(many):
    n = _count(many)
    with many.read_engine.connect() as conn:
        report = verify_connection(conn, batch=2)
    assert report.ok and report.checked == n and (report.first_seq, report.last_seq) == (1, n)
    with many.write_engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq IN (:a, :b)"),
                     {"a": n - 5, "b": n - 4})
    with many.read_engine.connect() as conn:
        report = verify_connection(conn, batch=2)
    assert _found(report) == [("column_edited", n - 5, "actor"),
                              ("column_edited", n - 4, "actor")]
    assert not _readers()


def test_checking_that_fails_stops_the_reader_and_leaves_the_connection_usable(many, monkeypatch):
    checked = []

    def failing(walk, rows):
        checked.append(len(rows))
        if len(checked) == 2:
            raise RuntimeError("checking failed")

    n = _count(many)
    monkeypatch.setattr(verify, "check_rows", failing)
    with many.read_engine.connect() as conn:
        with pytest.raises(RuntimeError, match="checking failed"):
            verify_connection(conn, batch=2)
        assert not _readers()
        assert conn.scalar(text("SELECT count(*) FROM audit_events")) == n
    assert checked == [2, 2]


def test_a_failing_read_is_raised_to_the_caller(many, monkeypatch):
    from core.records import verify_stream

    def failing_keys(*args, **kwargs):
        raise LookupError("the keys could not be read")

    monkeypatch.setattr(verify_stream, "subject_keys", failing_keys)  # SQLite's
    monkeypatch.setattr(verify_stream, "read_keys", failing_keys)  # PostgreSQL's
    with many.read_engine.connect() as conn:
        with pytest.raises(LookupError, match="could not be read"):
            verify_connection(conn, batch=2)
    assert not _readers()
