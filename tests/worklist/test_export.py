"""CSV export (core/worklist/export.py) and `python -m core export`: every matching row, exactly,
streamed in batches; formula injection neutralised; only active users with EXPORT."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.access import users
from core.cases.state import refresh_status
from core.errors import InvalidInput, NotAllowed
from core.store.models import Case, Entity
from core.worklist.export import COLUMNS, export_cases, export_file, neutralise, write_csv
from core.worklist.query import CaseFilter, count_cases

ROOT = Path(__file__).resolve().parents[2]
HEADER = ("case_id,entity_name,entity_type,country,workflow,status,assignee,created_at,updated_at,"
          "age_days,decision,decided_by,decided_at,decision_reason,email,registration_number,"
          "tags,days_in_status,open_hits,risk_level,risk_points\r\n")
NOW = datetime(2025, 3, 1, 12, 0, 0)


def make_case(db, case_id: str, *, name: str = "Acme Ltd", kind: str = "business",
              country: str = "HK", workflow: str = "onboarding", collected: bool = True,
              created_at: datetime = NOW - timedelta(days=3), assignee: str | None = None) -> str:
    with db.unit_of_work() as s:
        entity = Entity(kind=kind, name=name, country=country)
        s.add(entity)
        s.flush()
        case = Case(id=case_id, workflow=workflow, entity_id=entity.id,
                    case_status="collection_flow", collection_completed=collected,
                    assignee=assignee, created_at=created_at, updated_at=created_at,
                    status_changed_at=created_at, version=1)
        s.add(case)
        refresh_status(s, case, "system")
    return case_id


def read_csv(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def export_text(db, flt=CaseFilter(), **kw) -> str:
    return "".join(export_cases(db, flt, actor=kw.pop("actor", "analyst"), **kw))


def test_header_row_is_literal(db):
    text = export_text(db)
    assert text == HEADER
    assert ",".join(COLUMNS) + "\r\n" == HEADER


def test_one_row_literal(db):
    make_case(db, "C-1", name="Acme Ltd", created_at=NOW - timedelta(days=3, hours=1),
              assignee="reviewer")
    text = export_text(db, now=NOW)
    assert text == HEADER + ("C-1,Acme Ltd,business,HK,onboarding,Manual review,reviewer,"
                             "2025-02-26 11:00:00,2025-02-26 11:00:00,3,,,,,,,,0,0,low,0\r\n")


def test_rows_match_the_filter_exactly(db):
    manual = {make_case(db, f"M-{i:03}", created_at=NOW - timedelta(hours=i)) for i in range(7)}
    collecting = {make_case(db, f"F-{i:03}", collected=False, workflow="ongoing_monitoring",
                            created_at=NOW - timedelta(hours=i)) for i in range(5)}
    flt = CaseFilter(statuses=("manual_review",))
    rows = read_csv(export_text(db, flt, batch_size=3))
    ids = [r[0] for r in rows[1:]]
    assert len(ids) == len(set(ids)) == count_cases(db, flt) == 7
    assert set(ids) == manual
    assert all(r[5] == "Manual review" for r in rows[1:])
    everything = read_csv(export_text(db, CaseFilter(), batch_size=4))
    assert {r[0] for r in everything[1:]} == manual | collecting
    by_workflow = read_csv(export_text(db, CaseFilter(workflows=("ongoing_monitoring",))))
    assert {r[0] for r in by_workflow[1:]} == collecting


def test_all_rows_across_many_batches_newest_first_with_progress(db):
    # equal created_at on some rows exercises the (created_at, id) keyset tie-break
    created = [NOW - timedelta(minutes=i // 3) for i in range(23)]
    ids = [make_case(db, f"K-{i:03}", created_at=t) for i, t in enumerate(created)]
    calls = []
    text = export_text(db, batch_size=5, progress=lambda done, total: calls.append((done, total)))
    got = [r[0] for r in read_csv(text)[1:]]
    expected = [i for _, i in sorted(zip(created, ids), key=lambda p: (p[0], p[1]), reverse=True)]
    assert got == expected
    assert calls[0] == (0, 23) and calls[-1] == (23, 23)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_search_and_view_filters(db):
    from core.worklist.views import ensure_default_views, find_view
    with db.unit_of_work() as s:
        ensure_default_views(s)
    make_case(db, "HK-1", name="Harbour Trading", country="HK")
    make_case(db, "HK-2", name="Kowloon Person", country="HK", kind="person")
    make_case(db, "CN-1", name="Shenzhen Works", country="CN")
    hk = CaseFilter(view=find_view(db, "Hong Kong companies"))
    assert [r[0] for r in read_csv(export_text(db, hk))[1:]] == ["HK-1"]
    found = read_csv(export_text(db, CaseFilter(search="shenzhen")))
    assert [r[0] for r in found[1:]] == ["CN-1"]


HOSTILE = [
    ("=1+1", "'=1+1"),
    ("+cmd", "'+cmd"),
    ("-2", "'-2"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=x", "'\t=x"),
    ("\r=x", "'\r=x"),
    ("\n=x", "'\n=x"),
    ("=HYPERLINK(\"http://evil\",\"x\")", "'=HYPERLINK(\"http://evil\",\"x\")"),
    ("Acme, \"Ltd\"", "Acme, \"Ltd\""),
    ("Normal text", "Normal text"),
    ("a=b", "a=b"),
    ("Zoë 株式会社", "Zoë 株式会社"),
]


@pytest.mark.parametrize("hostile, expected", HOSTILE)
def test_hostile_cells_are_neutralised(db, hostile, expected):
    assert neutralise(hostile) == expected
    make_case(db, "X-1", name=hostile)
    rows = read_csv(export_text(db))
    assert len(rows) == 2
    assert rows[1][1] == expected
    assert rows[1][0] == "X-1" and rows[1][2] == "business"


def test_every_text_cell_is_neutralised(db):
    with db.unit_of_work() as s:
        from core.store.models import Workflow
        s.add(Workflow(name="-wf", title="hostile workflow name", definition={}))
    make_case(db, "=ID", name="ok", kind="+kind", country="@X", workflow="-wf")
    row = read_csv(export_text(db))[1]
    assert row[:5] == ["'=ID", "ok", "'+kind", "'@X", "'-wf"]


@pytest.mark.parametrize("actor", ["analyst", "reviewer", "admin"])
def test_roles_with_export_may_export(db, actor):
    make_case(db, "C-1")
    assert len(read_csv(export_text(db, actor=actor))) == 2


def test_disabled_or_unknown_user_may_not_export(db):
    make_case(db, "C-1")
    users.set_disabled(db, "analyst", True)
    with pytest.raises(NotAllowed):
        export_cases(db, CaseFilter(), actor="analyst")  # refused at the call, not lazily
    with pytest.raises(NotAllowed):
        export_cases(db, CaseFilter(), actor="nobody")


def test_bad_filter_is_refused_before_streaming(db):
    with pytest.raises(InvalidInput):
        export_cases(db, CaseFilter(statuses=("nonsense",)), actor="analyst")


def test_write_csv_counts_rows(db, tmp_path):
    for i in range(4):
        make_case(db, f"W-{i}")
    path = tmp_path / "out.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        assert write_csv(db, CaseFilter(), f, actor="analyst", batch_size=3) == 4
    assert len(read_csv(path.read_text(encoding="utf-8"))) == 5


def test_export_file_is_rewound_utf8_bytes(db):
    make_case(db, "U-1", name="Zoë =SUM(1)")
    with export_file(db, CaseFilter(), actor="analyst") as f:
        rows = read_csv(f.read().decode("utf-8"))
    assert rows[0] == list(COLUMNS) and rows[1][:2] == ["U-1", "Zoë =SUM(1)"]
    with pytest.raises(NotAllowed):
        export_file(db, CaseFilter(), actor="nobody")


# --- CLI ----------------------------------------------------------------------------------

def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKET_DATABASE_URL": database_url, "DOCKET_DEMO_MODE": "off"}
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=120)


def test_cli_export_to_stdout_and_file_match_the_library(db, database_url, tmp_path):
    for i in range(5):
        make_case(db, f"S-{i}", name=f"=Evil {i}", created_at=NOW - timedelta(hours=i))
    make_case(db, "F-1", collected=False)
    flt = CaseFilter(statuses=("manual_review",))
    expected = read_csv(export_text(db, flt))

    out = run_cli(database_url, "export", "--status", "manual_review", "--as", "analyst")
    assert out.returncode == 0, out.stderr
    got = read_csv(out.stdout.decode("utf-8"))
    # age_days depends on the moment of the export; everything else is identical
    assert [r[:9] for r in got] == [r[:9] for r in expected]
    assert {r[0] for r in got[1:]} == {f"S-{i}" for i in range(5)}
    assert all(r[1].startswith("'=Evil") for r in got[1:])

    target = tmp_path / "cases.csv"
    out = run_cli(database_url, "export", "--status", "manual_review", "--as", "analyst",
                  "--output", str(target))
    assert out.returncode == 0, out.stderr
    assert out.stdout == b""
    assert b"exported 5 cases" in out.stderr
    assert [r[:9] for r in read_csv(target.read_text(encoding="utf-8"))] == \
        [r[:9] for r in expected]
    assert not (tmp_path / "cases.csv.part").exists()


def test_cli_export_bad_view_exits_1_with_one_line(db, database_url, tmp_path):
    target = tmp_path / "never.csv"
    out = run_cli(database_url, "export", "--view", "No such view", "--as", "analyst",
                  "--output", str(target))
    assert out.returncode == 1
    assert out.stdout == b""
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), lines
    assert not target.exists()


def test_cli_export_refuses_unknown_user_and_missing_actor(db, database_url):
    out = run_cli(database_url, "export", "--as", "nobody")
    assert out.returncode == 1 and out.stdout == b""
    assert len(out.stderr.decode().strip().splitlines()) == 1
    out = run_cli(database_url, "export")
    assert out.returncode == 1
    assert "--as" in out.stderr.decode()
