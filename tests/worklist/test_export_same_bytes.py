"""The export makes its lines a batch at a time, column by column (core/worklist/
export_cells.py; before, in SQL) and must write the very same file as the Python cells it
replaced: every sort, both orders, filtered or not, on a
database of awkward values — formula-looking text (`=`, `+`, `-`, `@`, tab, CR, LF first),
quotes, commas, line breaks, non-ASCII, empty and NULL values, every status, tags lists,
dates with microseconds around the age's day boundaries and in the future. The oracle is a
frozen copy of the former module (tests/worklist/export_oracle.py), compared byte for byte."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from core.cases.status import CaseStatus
from core.store.models import Case, Entity, Workflow
from core.worklist.export import export_cases
from core.worklist.query import SORT_COLUMNS, CaseFilter
from tests.worklist.export_oracle import oracle_export

NOW = datetime(2025, 3, 1, 12, 0, 0, 500_000)
AWKWARD = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+SUM(1;2)", "-1", "@x", "\t=1+1",
           "\r=1+1", "\n=1+1", "plain", "", "with, comma", 'say "hi"', "two\nlines",
           "cr\rhere", "crlf\r\nhere", "Zoë 株式会社", "🙂 emoji", "'already quoted",
           " leading space", "trailing space ", "=", '"', ",", "a;b", "-", "semi; colon",
           "x" * 300, "tab\tinside", "ends with quote\"", "=\"a,b\"\n"]
TAGS = [[], ["vip"], ["=1+1", "ok"], ["a,b", 'q"t', "line\nbreak"], ["Zoë", "株式会社"],
        ["-x"], None, ["fast track", "vip", "kyb"], ["@home"], [" spaced ", ""]]
AGES = [timedelta(days=3), timedelta(days=3, microseconds=-1), timedelta(days=3, microseconds=1),
        timedelta(days=3, microseconds=500_000), timedelta(days=3, microseconds=500_001),
        timedelta(seconds=-1), timedelta(days=-2), timedelta(0), timedelta(days=400, hours=5),
        timedelta(hours=23, minutes=59, seconds=59, microseconds=999_999),
        timedelta(days=1), timedelta(days=10_000)]


def _awkward(i: int, limit: int | None = None) -> str:
    value = AWKWARD[i % len(AWKWARD)]
    return value[:limit] if limit else value


@pytest.fixture
def awkward(db):
    """72 cases: every column holds awkward values, every status, NULLs; ties on sort columns."""
    statuses = list(CaseStatus)
    with db.unit_of_work() as s:
        s.add(Workflow(name='=wf,"x"', title="Awkward", definition={}))
        s.flush()
        for i in range(72):
            entity = Entity(kind=["business", "person", "=cmd"][i % 3],
                            name=_awkward(i) or "Nameless", email=_awkward(i + 3, 254),
                            country=["HK", "", "=1", '"', ",", "ë"][i % 6],
                            registration_number=_awkward(i + 7, 64))
            s.add(entity)
            s.flush()
            created = NOW - AGES[i % len(AGES)] - timedelta(days=i // 24)
            decided = i % 4 == 0
            case_id = ["C-{:03}", "-{:03}", "={:03}", 'Q"{:03}', "C,{:03}", "Zë-{:03}"][i % 6]
            s.add(Case(
                id=case_id.format(i), workflow='=wf,"x"' if i % 5 == 0 else "onboarding",
                entity_id=entity.id, case_status="collection_flow",
                collection_completed=True, assignee=["reviewer", None, "analyst"][i % 3],
                decision=["approved", "rejected", "=bad"][i % 3] if decided else None,
                decided_by=_awkward(i + 11, 64) if decided else None,
                decided_at=NOW - AGES[(i + 5) % len(AGES)] if decided else None,
                decision_reason=_awkward(i + 13) if i % 2 else None,
                tags=TAGS[i % len(TAGS)], created_at=created,
                updated_at=created + timedelta(minutes=i % 4),
                status_changed_at=NOW - AGES[(i + 2) % len(AGES)], version=1,
                due_at=None if i % 3 == 0 else NOW + timedelta(hours=i % 5),
                open_hits=i % 4, risk_points=(i * 7) % 5,
                risk_level=[None, "low", "medium", "high", "=x", 'a"b'][i % 6]))
        s.flush()
        for i, status in enumerate(statuses):  # every status, a few cases each
            s.execute(update(Case).where(Case.id.like(f"%{i}")).values(case_status=status.value))
    return db


def _new(db, flt=CaseFilter(), **kw) -> str:
    return "".join(export_cases(db, flt, actor="analyst", now=NOW, **kw))


def test_every_sort_writes_the_same_bytes_as_the_python_cells(awkward):
    for sort in SORT_COLUMNS:  # one database for all: a fresh one costs seconds per test
        for descending in (True, False):
            old = oracle_export(awkward, CaseFilter(), now=NOW, sort=sort,
                                descending=descending, batch_size=7)
            new = _new(awkward, sort=sort, descending=descending, batch_size=7)
            assert new.count("\n") > 72  # every case (some lines hold line breaks too)
            assert new == old, (sort, descending)
            assert hashlib.sha256(new.encode()).digest() == hashlib.sha256(old.encode()).digest()


@pytest.mark.parametrize("flt", [CaseFilter(statuses=("manual_review", "approved")),
                                 CaseFilter(search="Zoë"), CaseFilter(assignee="unassigned"),
                                 CaseFilter(workflows=('=wf,"x"',))],
                         ids=["statuses", "search", "unassigned", "workflow"])
def test_filtered_exports_write_the_same_bytes(awkward, flt):
    old = oracle_export(awkward, flt, now=NOW, batch_size=5)
    new = _new(awkward, flt, batch_size=5)
    assert new.count("\r\n") > 1 and new == old


def test_the_awkward_values_are_there_and_safe(awkward):
    """The comparison above is not vacuous: the file holds the hostile cells, neutralised."""
    text = _new(awkward)
    for cell in ('"\'=HYPERLINK(""http://evil.example"",""x"")"', "'+SUM(1;2)", "'-1", "'@x",
                 "'\t=1+1", "\"'\r=1+1\"", "\"'\n=1+1\"", '"with, comma"', '"say ""hi"""',
                 "Zoë 株式会社", "'=1+1; ok", '"a,b; q""t; line\nbreak"', "'=wf", "'=002",
                 "Pending ID verification", "Revisions", "Rejected"):
        assert cell in text, cell
    assert ",=HYPERLINK" not in text and "\n=" not in text.replace('\n=1+1"', "")


def test_a_batch_boundary_inside_ties_and_one_row_batches(awkward):
    for sort in ("created_at", "name", "risk"):
        old = oracle_export(awkward, CaseFilter(), now=NOW, sort=sort, descending=False)
        assert _new(awkward, sort=sort, descending=False, batch_size=1) == old
