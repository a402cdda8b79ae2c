"""The Screening lists page through AppTest: only admins reach it; a list file loads as a new
list and then as its next version, the result in words and the history below; a refused
file shows its problems line by line as text and writes nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.screening.lists import lists_fingerprint, versions
from tests.app.harness import errors, new_app, sign_in
from tests.factories import make_case, row_counts
from tests.screening.test_list_files import sdn_file, sdn_row

PAGE = "pages/screening_lists.py"
DEMO = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"


def _page(monkeypatch, database_url, role="admin"):
    at = sign_in(new_app(monkeypatch, database_url), role)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """Escaped Markdown (ui.text.esc) back to the text it shows."""
    return re.sub(r"\\(.)", r"\1", markdown)


def _frame(at, column: str):
    return next((d.value for d in at.dataframe
                 if d.value is not None and column in d.value.columns), None)


def _upload(at, name: str, data: bytes):
    at.get("file_uploader")[0].upload(name, data, "text/csv")
    return at.run()


@pytest.mark.parametrize("role", ["reviewer", "lead", "analyst"])
def test_only_admins_reach_the_page(db, database_url, monkeypatch, role):
    at = sign_in(new_app(monkeypatch, database_url), role)
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page(PAGE)


def test_loading_a_new_list_then_its_next_version(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _page(monkeypatch, database_url)
    assert any("No screening list is loaded yet" in i.value for i in at.info)
    assert at.button(key="sl_load").disabled  # no file yet
    _upload(at, "demo_sanctions.csv", (DEMO / "demo_sanctions.csv").read_bytes())
    at.text_input(key="sl_new_name").input("demo-sanctions")
    at.text_input(key="sl_title_new").input("Demo sanctions")
    at.button(key="sl_load").click().run()
    assert not at.exception and not errors(at)
    assert [plain(s.value) for s in at.success] == [
        "List demo-sanctions version 1: 40 added, 0 changed, 0 removed (40 entries); "
        "1 case queued for rescreening."]
    shown = _frame(at, "Loaded by")
    assert list(shown["Name"]) == ["demo-sanctions"] and list(shown["Title"]) == ["Demo sanctions"]
    assert list(shown["Entries"]) == [40] and list(shown["Loaded by"]) == ["admin"]
    assert at.selectbox(key="sl_list").value == "demo-sanctions"  # picked for the next load
    assert at.get("file_uploader")[0].value is None  # an empty picker again
    history = _frame(at, "Added")
    assert list(history["Version"]) == [1] and list(history["File"]) == ["demo_sanctions.csv"]

    smaller = (DEMO / "demo_sanctions.csv").read_text(encoding="utf-8").splitlines(True)
    _upload(at, "v2.csv", "".join(smaller[:-2]).encode())  # the last two entries dropped
    at.button(key="sl_load").click().run()
    assert not errors(at)
    assert any("version 2: 0 added, 0 changed, 2 removed" in plain(s.value) for s in at.success)
    assert [v.version for v in versions(db, "demo-sanctions")] == [2, 1]
    assert list(_frame(at, "Added")["Removed"]) == [2, 0]
    assert any("removed demo-v-001, demo-o-015" in plain(c.value) for c in at.caption)


def test_a_refused_file_lists_its_lines_as_text_and_writes_nothing(db, database_url,
                                                                    monkeypatch):
    at = _page(monkeypatch, database_url)
    before = row_counts(db)
    bad = sdn_file(sdn_row("1", "=<b>HYPERLINK</b>"), sdn_row("2", "ACME", remarks="x" * 70_000))
    _upload(at, "bad.csv", bad)
    at.text_input(key="sl_new_name").input("sdn")
    at.selectbox(key="sl_format_new").set_value("ofac_sdn")
    at.button(key="sl_load").click().run()
    assert not at.exception
    assert [plain(e) for e in errors(at)] == [
        "The list file was refused: 3 problems listed below. Nothing was written; fix the "
        "file and load it again."]
    report = _frame(at, "Problem")
    assert list(report["Where"]) == ["line 1", "line 2", "line 2"]
    assert report["Problem"][0].startswith("SDN_Name: '=<b>HYPERLINK</b>' starts like a "
                                           "spreadsheet formula")  # text, not HTML
    assert report["Problem"][1] == "the line has 68 KiB; at most 64 KiB"
    assert row_counts(db) == before and lists_fingerprint(db) == ()


def test_a_missing_name_is_refused_by_the_core(db, database_url, monkeypatch):
    at = _page(monkeypatch, database_url)
    _upload(at, "demo_sdn.csv", (DEMO / "demo_sdn.csv").read_bytes())
    at.button(key="sl_load").click().run()
    report = _frame(at, "Problem")
    assert list(report["Where"]) == ["name"]
    assert lists_fingerprint(db) == ()
