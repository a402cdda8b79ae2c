"""Loading list files as versions (core/screening/lists.py): what a load and a reload write
(entries added, changed, removed and back; the version row; the audit event; the cases
queued for rescreening), what a refusal or the same file writes (nothing), who may load, and
the reads the matcher and the page use."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.errors import InvalidInput, NotAllowed, NotFound
from core.screening import lists as sl
from core.screening.lists import iter_current_entries, lists_fingerprint, load_list, versions
from core.store.models import AuditEvent, Case
from core.store.screening_list_models import ScreeningEntry, ScreeningJob
from tests.factories import make_case, row_counts
from tests.screening.test_list_files import os_file, sdn_file, sdn_row

DEMO = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"


def person(entry_id: str, name: str, **more) -> dict:
    return {"id": entry_id, "schema": "Person", "name": name, **more}


def entries_of(db, name: str = "test-list") -> dict[str, ScreeningEntry]:
    with db.read() as s:
        return {e.entry_id: e for e in s.scalars(
            select(ScreeningEntry).join(sl.ScreeningList,
                                        sl.ScreeningList.id == ScreeningEntry.list_id)
            .where(sl.ScreeningList.name == name))}


def queued(db) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(ScreeningJob.case_id)))


def audit_events(db, kind: str = "screening.list_loaded") -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                              .order_by(AuditEvent.id)))


V1 = os_file(person("a", "Anna Alpha", birth_date="1970"), person("b", "Bruno Beta"),
             person("c", "Carla Gamma", aliases="Karla Gamma"))


def test_a_first_load_creates_the_list_and_queues_every_case_not_rejected(db):
    make_case(db, "C-OPEN")
    make_case(db, "C-GONE")
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-GONE").values(case_status="rejected"))
    result = load_list(db, "test-list", V1, fmt="opensanctions", actor="admin",
                       file_name="C:\\lists\\v1.csv")
    assert result.sentence() == ("list test-list version 1: 3 added, 0 changed, 0 removed "
                                 "(3 entries); 1 case queued for rescreening")
    assert (result.title, result.format, result.changes["added"]) == ("test-list",
                                                                      "opensanctions",
                                                                      ["a", "b", "c"])
    assert queued(db) == {"C-OPEN"}
    found = entries_of(db)
    assert found["a"].birth_dates == ["1970"] and found["c"].aliases == ["Karla Gamma"]
    assert {(e.added_version, e.changed_version, e.removed_version) for e in found.values()} \
        == {(1, 1, None)}
    (info,) = sl.lists(db)
    assert (info.name, info.version, info.entries, info.loaded_by) == ("test-list", 1, 3, "admin")
    (v1,) = versions(db, "test-list")
    assert (v1.version, v1.file_name, v1.added, v1.entries) == (1, "v1.csv", 3, 3)
    (event,) = audit_events(db)
    assert event.case_id is None and event.actor == "admin"
    assert event.after["version"] == 1 and event.after["added"] == 3
    assert event.after["entry_ids"] == {"added": ["a", "b", "c"]}
    assert event.after["cases_queued"] == 1


def test_the_same_file_again_writes_nothing(db):
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin")
    before = row_counts(db)
    again = load_list(db, "test-list", V1, fmt="opensanctions", actor="admin")
    assert again.unchanged and again.version == 1 and again.entries == 3
    assert "unchanged" in again.sentence()
    assert row_counts(db) == before


def test_a_reload_adds_changes_removes_and_brings_back(db, monkeypatch):
    monkeypatch.setattr(sl, "WRITE_BATCH", 2)  # several batches of each kind of write
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin", title="Test list")
    v2 = os_file(person("a", "Anna Alpha", birth_date="1971"), person("c", "Carla Gamma",
                                                                       aliases="Karla Gamma"),
                 person("d", "Dario Delta"), person("e", "Elsa Epsilon"))
    make_case(db, "C-1")
    result = load_list(db, "test-list", v2, fmt="opensanctions", actor="system")
    assert (result.version, result.added, result.changed, result.removed) == (2, 2, 1, 1)
    assert result.changes == {"added": ["d", "e"], "changed": ["a"], "removed": ["b"]}
    assert result.queued == 1 and result.title == "Test list"
    found = entries_of(db)
    assert found["b"].removed_version == 2                      # kept for the history
    assert (found["a"].added_version, found["a"].changed_version) == (1, 2)
    assert found["a"].birth_dates == ["1971"]
    assert {e["entry_id"] for e in iter_current_entries(db)} == {"a", "c", "d", "e"}
    v3 = os_file(person("a", "Anna Alpha", birth_date="1971"), person("b", "Bruno Beta"))
    result = load_list(db, "test-list", v3, fmt="opensanctions", actor="system")
    assert (result.added, result.changed, result.removed) == (1, 0, 3)  # b is back
    found = entries_of(db)
    assert (found["b"].removed_version, found["b"].added_version) == (None, 3)
    assert [v.version for v in versions(db, "test-list")] == [3, 2, 1]
    assert sl.lists(db)[0].entries == 2


def test_another_file_with_the_same_entries_is_a_version_that_queues_nothing(db):
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin")
    make_case(db, "C-1")
    reordered = os_file(person("c", "Carla Gamma", aliases="Karla Gamma"),
                        person("b", "Bruno Beta"), person("a", "Anna Alpha", birth_date="1970"))
    result = load_list(db, "test-list", reordered, fmt="opensanctions", actor="admin")
    assert (result.version, result.added, result.changed, result.removed) == (2, 0, 0, 0)
    assert result.queued == 0 and queued(db) == set()


def test_a_refused_file_changes_nothing(db):
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin")
    make_case(db, "C-1")
    before = row_counts(db)
    bad = os_file(person("a", "=cmd|' /C calc'!A0"), person("b", ""))
    with pytest.raises(InvalidInput) as refused:
        load_list(db, "test-list", bad, fmt="opensanctions", actor="admin")
    assert [p[:7] for p in refused.value.problems] == ["line 2:", "line 3:"]
    assert row_counts(db) == before
    assert lists_fingerprint(db) == (("test-list", 1),)


def test_only_admins_and_the_system_load_lists(db):
    before = row_counts(db)
    for role in ("reviewer", "lead", "analyst"):
        with pytest.raises(NotAllowed):
            load_list(db, "test-list", V1, fmt="opensanctions", actor=role)
        with pytest.raises(NotAllowed):  # before the file is read at all
            load_list(db, "test-list", b"\xff", fmt="opensanctions", actor=role)
    assert row_counts(db) == before
    assert load_list(db, "test-list", V1, fmt="opensanctions", actor="system").version == 1


def test_bad_names_titles_and_a_format_change_are_refused(db):
    with pytest.raises(InvalidInput) as refused:
        load_list(db, "Bad Name!", V1, fmt="xlsx", actor="admin", title="x" * 101)
    assert [p.split(":")[0] for p in refused.value.problems] == ["name", "format", "title"]
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin")
    with pytest.raises(InvalidInput, match="holds opensanctions files"):
        load_list(db, "test-list", sdn_file(sdn_row("1")), fmt="ofac_sdn", actor="admin")


def test_the_demo_files_load_as_the_system(db):
    sanctions = load_list(db, "demo-sanctions", (DEMO / "demo_sanctions.csv").read_bytes(),
                          fmt="opensanctions", actor="system")
    sdn = load_list(db, "demo-sdn", (DEMO / "demo_sdn.csv").read_bytes(), fmt="ofac_sdn",
                    actor="system", title="Demo SDN (fictional)")
    assert (sanctions.added, sdn.added) == (40, 20)
    assert lists_fingerprint(db) == (("demo-sanctions", 1), ("demo-sdn", 1))
    found = list(iter_current_entries(db, batch=7))
    assert len(found) == 60 and len({e["id"] for e in found}) == 60
    first = next(e for e in found if e["entry_id"] == "90101")
    assert first == {"id": first["id"], "list_name": "demo-sdn", "dataset": "Demo SDN (fictional)",
                     "entry_id": "90101", "schema": "person", "name": "NGUYEN, Daniel",
                     "aliases": ["Daniel NGUYEN", "DANNY WIN"], "birth_dates": ["1986-03-09"],
                     "countries": ["US"], "programme": "DEMO-CYBER", "url": None}


def test_versions_of_an_unknown_list(db):
    with pytest.raises(NotFound):
        versions(db, "nope")
    assert sl.lists(db) == [] and lists_fingerprint(db) == ()
    assert list(iter_current_entries(db)) == []


def test_a_later_load_keeps_the_title_hits_show(db):
    load_list(db, "test-list", V1, fmt="opensanctions", actor="admin", title="Test list")
    with pytest.raises(InvalidInput) as refused:
        load_list(db, "test-list", V1 + b"\n", fmt="opensanctions", actor="admin",
                  title="Renamed")
    assert "titled 'Test list' since its first load" in refused.value.problems[0]
    assert [v.version for v in versions(db, "test-list")] == [1]
    second = os_file(person("a", "Anna Alpha", birth_date="1970"))
    assert load_list(db, "test-list", second, fmt="opensanctions", actor="admin").title == \
        "Test list"
