"""CSV export, issue #10: the decision, who and when, the reason, the applicant's email and
registration number, tags and time in status are exported after the first ten columns, every
text cell formula-safe; rows follow the case list's sort (every sort, both orders), streamed in
batches."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from core.cases.state import refresh_status
from core.errors import InvalidInput
from core.store.models import Case, Entity
from core.worklist.export import COLUMNS, export_cases, export_file, write_csv
from core.worklist.query import SORT_COLUMNS, CaseFilter, list_cases

NOW = datetime(2025, 3, 1, 12, 0, 0)
FIRST_TEN = ("case_id", "entity_name", "entity_type", "country", "workflow", "status", "assignee",
             "created_at", "updated_at", "age_days")
ADDED = ("decision", "decided_by", "decided_at", "decision_reason", "email",
         "registration_number", "tags", "days_in_status", "open_hits", "risk_level",
         "risk_points")


def make_case(db, case_id: str, *, name: str = "Acme Ltd", created_at: datetime = NOW,
              email: str = "ops@acme.example", registration_number: str = "HK-1234567",
              tags: list | None = None, decision: str | None = None,
              decided_by: str | None = None, decided_at: datetime | None = None,
              reason: str | None = None, status_changed_at: datetime | None = None,
              collected: bool = True) -> str:
    with db.unit_of_work() as s:
        entity = Entity(kind="business", name=name, country="HK", email=email,
                        registration_number=registration_number)
        s.add(entity)
        s.flush()
        case = Case(id=case_id, workflow="onboarding", entity_id=entity.id,
                    case_status="collection_flow", collection_completed=collected,
                    decision=decision, decided_by=decided_by, decided_at=decided_at,
                    decision_reason=reason, tags=tags or [], created_at=created_at,
                    updated_at=created_at, status_changed_at=created_at, version=1)
        s.add(case)
        refresh_status(s, case, "system")
        case.status_changed_at = status_changed_at or created_at
    return case_id


def rows_of(db, flt=CaseFilter(), **kw) -> list[list[str]]:
    text = "".join(export_cases(db, flt, actor=kw.pop("actor", "analyst"), **kw))
    return list(csv.reader(io.StringIO(text, newline="")))


def test_the_first_ten_columns_stay_and_the_new_ones_follow():
    assert COLUMNS == FIRST_TEN + ADDED


def test_a_decided_case_has_every_field(db):
    make_case(db, "D-1", created_at=NOW - timedelta(days=10), tags=["vip", "fast track"],
              decision="approved", decided_by="reviewer", decided_at=NOW - timedelta(days=2),
              reason="documents in order", status_changed_at=NOW - timedelta(days=2, hours=1))
    header, row = rows_of(db, now=NOW)
    assert dict(zip(header, row)) == {
        "case_id": "D-1", "entity_name": "Acme Ltd", "entity_type": "business", "country": "HK",
        "workflow": "onboarding", "status": "Approved", "assignee": "",
        "created_at": "2025-02-19 12:00:00", "updated_at": "2025-02-19 12:00:00",
        "age_days": "10", "decision": "approved", "decided_by": "reviewer",
        "decided_at": "2025-02-27 12:00:00", "decision_reason": "documents in order",
        "email": "ops@acme.example", "registration_number": "HK-1234567",
        "tags": "vip; fast track", "days_in_status": "2", "open_hits": "0",
        "risk_level": "low", "risk_points": "0"}


def test_an_open_case_leaves_the_decision_empty(db):
    make_case(db, "O-1", created_at=NOW - timedelta(hours=5), email="", registration_number="")
    header, row = rows_of(db, now=NOW)
    got = dict(zip(header, row))
    assert [got[c] for c in ADDED] == ["", "", "", "", "", "", "", "0", "0", "low", "0"]


HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+SUM(1;2)", "-1", "@x", "\t=1+1",
           "\r=1+1", "\n=1+1"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_every_new_text_column_is_formula_safe(db, hostile):
    make_case(db, "H-1", email=hostile, registration_number=hostile, tags=[hostile, "ok"],
              decision="rejected", decided_by=hostile, decided_at=NOW, reason=hostile)
    header, row = rows_of(db, now=NOW)
    got = dict(zip(header, row))
    for column in ("decided_by", "decision_reason", "email", "registration_number"):
        assert got[column] == "'" + hostile, column
    assert got["tags"] == f"'{hostile}; ok"


def _ids_in_list_order(db, sort: str, descending: bool) -> list[str]:
    page = list_cases(db, CaseFilter(), sort=sort, descending=descending, page_size=500)
    return [r.id for r in page.rows]


@pytest.fixture
def sortable(db):
    """Cases with ties on every sort column (same time, same name, same status)."""
    for i in range(17):
        make_case(db, f"S-{i:03}", name=["Birch Ltd", "alder ltd", "Ash Ltd", "Zed"][i % 4],
                  created_at=NOW - timedelta(hours=i // 3), collected=bool(i % 5))
    with db.unit_of_work() as s:  # updated_at ties differently from created_at
        for i, case in enumerate(s.query(Case).order_by(Case.id)):
            case.updated_at = NOW - timedelta(minutes=(i * 7) % 5)
    return db


@pytest.mark.parametrize("descending", [True, False], ids=["desc", "asc"])
@pytest.mark.parametrize("sort", list(SORT_COLUMNS))
def test_rows_follow_the_lists_sort_across_batches(sortable, sort, descending):
    expected = _ids_in_list_order(sortable, sort, descending)
    assert len(expected) == 17
    got = [r[0] for r in rows_of(sortable, sort=sort, descending=descending, batch_size=4)[1:]]
    assert got == expected


def test_without_a_sort_the_rows_come_newest_first(sortable):
    got = [r[0] for r in rows_of(sortable, batch_size=5)[1:]]
    assert got == _ids_in_list_order(sortable, "created_at", True)


def test_the_file_and_the_writer_take_the_sort_too(sortable, tmp_path):
    expected = _ids_in_list_order(sortable, "name", False)
    with export_file(sortable, CaseFilter(), actor="analyst", sort="name", descending=False) as f:
        text = f.read().decode("utf-8")
    assert [r[0] for r in list(csv.reader(io.StringIO(text, newline="")))[1:]] == expected
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as out:
        assert write_csv(sortable, CaseFilter(), out, actor="analyst", sort="name",
                         descending=False, batch_size=3) == 17
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert [r[0] for r in rows[1:]] == expected


def test_a_bad_sort_is_refused_at_the_call(db):
    with pytest.raises(InvalidInput, match="cannot sort by"):
        export_cases(db, CaseFilter(), actor="analyst", sort="risk_score")


def test_docs_list_every_column_in_order():
    import re
    from pathlib import Path
    text = (Path(__file__).resolve().parents[2] / "docs" / "EXPORT.md").read_text()
    assert tuple(re.findall(r"^\| \d+ \| `(\w+)` \|", text, re.M)) == COLUMNS
