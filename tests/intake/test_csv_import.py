"""CSV import (one case per row) through the intake checks, and the upload path both
formats share: problems by line and column, nothing written on any problem, role checked."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from core.cases.read import case_detail
from core.errors import InvalidInput, NotAllowed
from core.intake.csv_import import csv_to_intake, import_upload, read_upload
from core.store.models import AuditEvent, Case
from tests.factories import make_case, row_counts

GOOD = (
    "id,workflow,entity_type,name,email,country,registration_number,collection_completed,"
    "risk_score,tags,user.industry,process.sanctions_screening\n"
    "ACME-1,onboarding,business,Acme Trading Ltd,ops@acme.example,HK,HK-1,true,40,vip;hk,"
    "trading,pending\n"
    "BOB-1,ongoing_monitoring,person,Bob Smith,,GB,,no,,,,\n"
    "\n"
    ",onboarding,business,\"Comma, Quote \"\"Ltd\"\"\",,DE,,1,,,,completed\n"
)


def test_rows_become_intake_cases():
    found = csv_to_intake(GOOD.encode())
    assert found.problems == []
    assert found.lines == [2, 3, 5]
    first, second, third = found.cases
    assert first == {"id": "ACME-1", "workflow": "onboarding",
                     "entity": {"type": "business", "name": "Acme Trading Ltd",
                                "email": "ops@acme.example", "country": "HK",
                                "registration_number": "HK-1"},
                     "collection_completed": True, "risk_score": 40, "tags": ["vip", "hk"],
                     "user_data": {"industry": "trading"},
                     "processes": [{"name": "sanctions_screening", "state": "pending"}]}
    assert second == {"id": "BOB-1", "workflow": "ongoing_monitoring",
                      "entity": {"type": "person", "name": "Bob Smith", "country": "GB"},
                      "collection_completed": False}
    assert third["entity"]["name"] == 'Comma, Quote "Ltd"' and "id" not in third


def test_a_good_csv_imports_with_derived_statuses(db):
    found = read_upload(db, "cases.csv", GOOD.encode("utf-8-sig"))
    assert found.problems == []
    seen = []
    ids = import_upload(db, found, actor="admin", on_progress=lambda d, t: seen.append((d, t)))
    assert ids[:2] == ["ACME-1", "BOB-1"] and ids[2].startswith("C-")
    assert seen == [(1, 3), (2, 3), (3, 3)]
    acme = case_detail(db, "ACME-1")
    assert acme.status == "pending_process" and acme.tags == ["vip", "hk"]
    assert acme.user_data == {"industry": "trading"} and acme.risk_score == 40
    assert case_detail(db, "BOB-1").status == "collection_flow"
    assert case_detail(db, ids[2]).status == "manual_review"
    with db.read() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.kind == "case.imported")))
    assert actors == {"admin"}


def test_row_problems_name_the_line_and_column_and_nothing_is_written(db):
    make_case(db, "TAKEN")
    bad = ("id,workflow,entity_type,name,country,collection_completed,risk_score,user.note\n"
           "OK-1,onboarding,business,Fine Ltd,HK,true,10,x\n"
           "TAKEN,kyb,company,,hk,maybe,high,y\n"
           "OK-2,onboarding,person,Jo,GB,false,101,\n")
    before = row_counts(db)
    found = read_upload(db, "cases.csv", bad.encode())
    problems = "\n".join(found.problems)
    assert "line 3, column workflow: unknown workflow 'kyb'" in problems
    assert "line 3, column entity_type: must be one of business, person; got 'company'" in problems
    assert "line 3, column name:" in problems
    assert "line 3, column country: must be a 2-letter ISO code" in problems
    assert "line 3, column collection_completed:" in problems
    assert "line 3, column risk_score:" in problems
    assert "line 3, column id:" in problems and "TAKEN" in problems
    assert "line 4, column risk_score:" in problems
    assert not any(p.startswith("line 2") for p in found.problems)
    with pytest.raises(InvalidInput):
        import_upload(db, found, actor="admin")
    assert row_counts(db) == before


@pytest.mark.parametrize("content, problem", [
    (b"", "the file is empty"),
    (b"workflow,name\n", "missing column(s) entity_type"),
    (b"workflow,entity_type,name,colour\nonboarding,person,A,red\n", "unknown column 'colour'"),
    (b"workflow,entity_type,name,name\nonboarding,person,A,B\n", "column 'name' appears twice"),
    (b"workflow,entity_type,name\n", "no case rows"),
    (b"workflow,entity_type,name\nonboarding,person,A,extra\n", "line 2: 4 cells"),
    (b"workflow,entity_type,name\n\xff\xfe\n", "not UTF-8"),
    (b"workflow,entity_type,name\nonboarding,person,\"A\x00\"\n", "NUL"),
])
def test_unreadable_csv_files(content, problem):
    found = csv_to_intake(content)
    assert found.data is None
    assert any(problem in p for p in found.problems), found.problems


def test_json_uploads_share_the_path(db):
    data = {"cases": [{"id": "J-1", "workflow": "onboarding", "collection_completed": True,
                       "entity": {"type": "business", "name": "Json Ltd", "country": "HK"}}]}
    found = read_upload(db, "cases.json", json.dumps(data).encode())
    assert found.kind == "json" and found.problems == []
    assert import_upload(db, found, actor="admin") == ["J-1"]
    again = read_upload(db, "cases.json", json.dumps(data).encode())
    assert any("J-1" in p for p in again.problems)
    broken = read_upload(db, "cases.json", b'{"cases": [}')
    assert broken.data is None and "malformed JSON at line 1" in broken.problems[0]


def test_only_admins_import(db):
    found = read_upload(db, "cases.csv", GOOD.encode())
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            import_upload(db, found, actor=who)
    with db.read() as s:
        assert s.scalars(select(Case)).first() is None
