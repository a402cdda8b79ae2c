"""The export's cells made in Python (core/worklist/export_cells.py) take shortcuts for the
usual case — a whole column tested at once, the tags' JSON text split instead of decoded,
the dates' stored text sliced and their ages looked up per day — and fall back to the exact
way for anything else. Each shortcut is checked here against the exact way (`csv.writer`,
`json.loads`, datetime arithmetic) on the values where the two could part, and the whole file
against the frozen oracle where the database holds dates in another form."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from core.worklist.export import export_cases
from core.worklist.export_cells import (
    TAG_SEPARATOR,
    Times,
    is_stored_form,
    neutralise,
    tag_texts,
    text_cell,
    text_cells,
)
from core.worklist.query import CaseFilter
from tests.factories import make_case
from tests.worklist.export_oracle import oracle_export

NOW = datetime(2025, 3, 1, 12, 0, 0, 500_000)


def _written(value: str) -> str:
    """The cell as csv.writer writes it, after the formula rule (the file's definition)."""
    out = io.StringIO()
    csv.writer(out).writerow([neutralise(value), "x"])
    return out.getvalue()[:-len(",x\r\n")]


def test_a_clean_column_is_passed_through_and_a_dirty_one_made_cell_by_cell():
    clean = ("C-1", "Acme Ltd", "x'=y", "", "a;b", "Zoë 株式会社", " =space first")
    assert text_cells(clean) is clean
    for odd in ("=1+1", "+1", "-1", "@x", "\tx", "\rx", "\nx", "a,b", 'q"t', "a\rb", "a\nb",
                '"', ",", "=", "'=already"):
        column = clean + (odd,)
        assert list(text_cells(column)) == [_written(v) for v in column], odd
        assert text_cell(odd) == _written(odd)
    assert text_cells(("a", None, 3)) == ["a", "", "3"]  # not text: cell by cell


def test_tags_split_from_their_json_text_as_decoding_them_would_give():
    lists = [["vip"], ["crypto", "high_risk"], [""], ["", ""], ["a", "b", "c"], ['a", "b'],
             ["back\\slash"], ["Zoë"], ["=1+1", "ok"], ["a,b", "line\nbreak"], [1, "x"],
             [None], ["x", ["nested"]], ['"'], [", "]]
    raws = [json.dumps(v) for v in lists] + [json.dumps(v, ensure_ascii=False) for v in lists]
    raws += ['["a","b"]', '[ "a" ]', ' ["a"]', '["a"] ', '"just text"', "[]", "{}", "7",
             '["]"]', '["", "x"]']
    expected = []
    for raw in raws:
        value = json.loads(raw)
        expected.append(TAG_SEPARATOR.join(str(t) for t in value) if isinstance(value, list)
                        else str(value))
    assert tag_texts(raws) == expected
    assert tag_texts([None, "[]", ["decoded", "by the driver"]]) == [
        "", "", "decoded; by the driver"]


def _stored_text(value: datetime) -> str:  # what SQLAlchemy writes in SQLite
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def test_dates_and_ages_from_stored_text_are_the_datetime_arithmetic():
    times = Times(NOW, datetime.fromisoformat)
    steps = [timedelta(days=d, microseconds=u) for d in (-2, 0, 1, 3, 400)
             for u in (-500_001, -1, 0, 1, 499_999, 500_000, 500_001)]
    values = [NOW - step for step in steps]
    stored = [_stored_text(v) for v in values]
    assert is_stored_form(stored)
    assert times.texts(stored) == [v.isoformat(" ", "seconds") for v in values]
    assert times.ages(stored) == [str(max(0, (NOW - v).days)) for v in values]
    # PostgreSQL without to_char, or other drivers: datetimes, and NULLs
    assert times.ages(values + [None]) == times.ages(stored) + [""]
    assert times.texts(values + [None]) == times.texts(stored) + [""]


def test_dates_in_another_form_take_the_exact_way():
    times = Times(NOW, datetime.fromisoformat)
    odd = ["2025-02-26 12:00:00", "2025-02-26T12:00:00.500001", "0999-01-01 00:00:00.000000",
           "2025-02-26 12:00:00.5"]
    assert not is_stored_form(odd) and not is_stored_form(odd[1:2]) and not is_stored_form(odd[2:3])
    parsed = [datetime.fromisoformat(v) for v in odd]
    assert times.ages(odd) == [str(max(0, (NOW - v).days)) for v in parsed]
    assert times.texts(odd) == ["2025-02-26 12:00:00", "2025-02-26 12:00:00",
                                parsed[2].strftime("%Y-%m-%d %H:%M:%S"), "2025-02-26 12:00:00"]


def test_a_date_stored_in_another_form_is_written_as_the_oracle_writes_it(db):
    """Rows written outside SQLAlchemy (SQL's CURRENT_TIMESTAMP: no microseconds) still give
    the file the frozen oracle gives. (The oracle pages by the value as SQLAlchemy writes
    it, which a shorter stored text sorts before: on the sort column it would read the same
    batch forever — see the test below for the export itself.)"""
    for i in range(5):
        make_case(db, f"C-{i}")
    with db.write_engine.begin() as conn:
        conn.execute(text("UPDATE cases SET updated_at = :u, status_changed_at = :s, "
                          "decided_at = :d WHERE id IN ('C-1', 'C-3')"),
                     {"u": datetime(2025, 2, 20, 13, 0, 0), "s": datetime(2025, 2, 27, 11),
                      "d": datetime(2025, 2, 28, 12, 0, 0, 500_001)})
        if db.is_sqlite:  # text forms SQLAlchemy never writes
            conn.execute(text("UPDATE cases SET updated_at = '2025-02-21 09:30:00', "
                              "status_changed_at = '2025-02-26 12:00:00.5' WHERE id = 'C-1'"))
    new = "".join(export_cases(db, CaseFilter(), actor="analyst", now=NOW, batch_size=2))
    assert new == oracle_export(db, CaseFilter(), now=NOW, batch_size=2)
    assert "2025-02-28 12:00:00" in new and new.count("\r\n") == 6


@pytest.mark.parametrize("sort", ["created_at", "updated_at", "due_at"])
@pytest.mark.parametrize("descending", [True, False])
def test_a_date_stored_in_another_form_on_the_sort_column_pages_once(db, sort, descending):
    """A date that a writer outside SQLAlchemy stored in another text form (no microseconds,
    a T) on the sort column: each case is in the file exactly once, and the export ends. The
    next batch continues after the stored text itself, as ORDER BY sorted it (it once bound
    the value as SQLAlchemy writes it, which "2025-02-21 09:30:00" sorts before: the same
    batch again, forever)."""
    for i in range(7):
        make_case(db, f"C-{i}")
    if db.is_sqlite:  # only SQLite keeps dates as the text a writer gave
        with db.write_engine.begin() as conn:
            for i, stamp in enumerate(["2025-02-21 09:30:00", "2025-02-21 09:30:00",
                                       "2025-02-21T09:30:00.250000", "2025-02-22 10:00:00"]):
                conn.execute(text(f"UPDATE cases SET {sort} = :v WHERE id = :id"),
                             {"v": stamp, "id": f"C-{i}"})
    lines = []
    for chunk in export_cases(db, CaseFilter(), actor="analyst", now=NOW, batch_size=2,
                              sort=sort, descending=descending):
        lines += chunk.splitlines()
        assert len(lines) <= 20, "the export reads the same rows again"
    ids = [row[0] for row in csv.reader(lines[1:])]
    assert sorted(ids) == [f"C-{i}" for i in range(7)]
