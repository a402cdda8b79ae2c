"""The export reads every batch on one pooled connection, each batch a transaction of its
own, and on PostgreSQL the next batch ahead in a thread (core/worklist/export_read_ahead.py).
Held here: the file byte for byte the frozen oracle's with values a driver or a literal
could mangle (backslashes, quotes, percent signs, control characters) in the cells, the
keyset values and the search, every sort, one-row batches; one connection checked out for
all the batches; the read-ahead thread's order, errors and stop."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

import core.worklist.export as export
from core.store.models import Case, Entity
from core.worklist.export_read_ahead import read_ahead
from core.worklist.query import SORT_COLUMNS, CaseFilter
from tests.worklist.export_oracle import oracle_export

NOW = datetime(2025, 3, 1, 12, 0, 0, 500_000)
# What PostgreSQL's text forms escape, and what a literal must quote.
ESCAPED = ["back\\slash", "\\N", "\\", "C:\\temp\\new", "tab\there", "line\nbreak",
           "cr\rhere", "vt\x0bff\x0cbs\x08", "it's", "50% off", "o''k", "'; DROP TABLE cases; --",
           "\\'", "%(x)s", "$1", "plain"]


@pytest.fixture
def escaped(db):
    """Cases whose every text holds what a driver escapes or a literal must quote; ties on
    the sort columns, so keyset values (ids, names) carry them into the next batch's SQL."""
    with db.unit_of_work() as s:
        for i, value in enumerate(ESCAPED * 2):
            entity = Entity(kind="business", name=value, email=ESCAPED[(i + 3) % len(ESCAPED)],
                            country="HK", registration_number=ESCAPED[(i + 5) % len(ESCAPED)])
            s.add(entity)
            s.flush()
            s.add(Case(id=f"{value[:20]}-{i}", workflow="onboarding", entity_id=entity.id,
                       case_status="manual_review", collection_completed=True,
                       decision_reason=ESCAPED[(i + 7) % len(ESCAPED)] if i % 2 else None,
                       tags=[value, "x"] if i % 3 else None,
                       created_at=NOW - timedelta(days=i // 4), updated_at=NOW,
                       status_changed_at=NOW, version=1, open_hits=i % 2,
                       due_at=None if i % 2 else NOW + timedelta(hours=i),
                       risk_points=i % 3, risk_level=["low", None][i % 2]))
    return db


def _export(db, flt=CaseFilter(), **kw) -> str:
    return "".join(export.export_cases(db, flt, actor="analyst", now=NOW, **kw))


def test_escaped_values_write_the_oracles_bytes_in_every_sort(escaped):
    for sort in SORT_COLUMNS:
        for descending in (True, False):
            old = oracle_export(escaped, CaseFilter(), now=NOW, sort=sort,
                                descending=descending, batch_size=3)
            new = _export(escaped, sort=sort, descending=descending, batch_size=3)
            assert new.count("\r\n") > 2 * len(ESCAPED) and new == old, (sort, descending)
    assert "back\\slash" in new and '"line\nbreak"' in new and "'; DROP TABLE cases; --" in new


@pytest.mark.parametrize("search", ["it's", "50%", "back\\slash", "'; DROP TABLE cases; --",
                                    "%(x)s"])
def test_searches_with_quotes_and_percents_write_the_oracles_bytes(escaped, search):
    flt = CaseFilter(search=search)
    old = oracle_export(escaped, flt, now=NOW, batch_size=1)
    new = _export(escaped, flt, batch_size=1, sort="created_at")
    assert new == old
    assert _export(escaped).count("\r\n") > 2 * len(ESCAPED)  # the table is still there


def test_one_connection_serves_every_batch(escaped):
    checkouts = []

    def checked_out(*_):
        checkouts.append(1)

    event.listen(escaped.read_engine, "checkout", checked_out)
    try:
        text = _export(escaped, sort="name", batch_size=1)
    finally:
        event.remove(escaped.read_engine, "checkout", checked_out)
    assert text.count("\r\n") > 2 * len(ESCAPED)  # 33 batches of one row
    assert len(checkouts) <= 3  # the batches' one, and the role check's and count's before


def test_read_ahead_keeps_the_order_and_raises_the_threads_error():
    assert list(read_ahead(iter(range(50)))) == list(range(50))
    assert list(read_ahead(iter([]))) == []

    def failing():
        yield 1
        raise ValueError("the database went away")

    items = read_ahead(failing())
    assert next(items) == 1
    with pytest.raises(ValueError, match="went away"):
        next(items)


def test_closing_read_ahead_stops_its_thread():
    made = []
    closed = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                made.append(n)
                yield n
                n += 1
        finally:
            closed.set()

    items = read_ahead(endless())
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed.wait(5)
    assert not any(t.name == "export-read-ahead" and t.is_alive()
                   for t in threading.enumerate())
    assert len(made) <= 6  # made one or two ahead, never the rest
