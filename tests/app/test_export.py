"""The Cases page's CSV export through AppTest: all matching rows (not the page shown), the
current view and filters, the role check in core, errors shown, a stale file dropped."""
from __future__ import annotations

import csv
import io

import core.worklist.export
from core.errors import NotAllowed
from core.worklist.export import COLUMNS
from tests.app.harness import errors, new_app, sign_in, table
from tests.factories import make_case
from ui.export_button import DOWNLOAD_KEY, EXPORT_KEY, PREPARE_KEY


def _app(monkeypatch, database_url, role="reviewer"):
    return sign_in(new_app(monkeypatch, database_url), role)


def _prepare(at):
    return at.button(key=PREPARE_KEY).click().run()


def _rows(at) -> list[list[str]]:
    data = at.session_state[EXPORT_KEY]["data"]
    text = data.decode("utf-8")
    assert "\r\n" in text  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text, newline="")))


def _download_labels(at) -> list[str]:
    return [e.proto.label for e in at.get("download_button") if e.proto.id.endswith(DOWNLOAD_KEY)
            or DOWNLOAD_KEY in e.proto.id]


def test_export_has_every_matching_row_not_just_the_page(db, database_url, monkeypatch):
    for i in range(55):
        make_case(db, f"M-{i:02d}", name=f"Manual {i} Ltd")
    make_case(db, "F-1", collection_completed=False, name="Flow GmbH")
    at = _app(monkeypatch, database_url)
    at.multiselect(key="f_status").set_value(["manual_review"]).run()
    assert len(table(at)) == 50  # one page on screen
    assert not _download_labels(at)  # nothing prepared yet
    _prepare(at)
    assert not at.exception, at.exception
    assert not errors(at)
    rows = _rows(at)
    assert tuple(rows[0]) == COLUMNS
    assert rows[0][:10] == ["case_id", "entity_name", "entity_type", "country", "workflow",
                            "status", "assignee", "created_at", "updated_at", "age_days"]
    assert sorted(r[0] for r in rows[1:]) == [f"M-{i:02d}" for i in range(55)]
    assert {r[5] for r in rows[1:]} == {"Manual review"}
    assert _download_labels(at) == ["Download CSV (55 cases)"]
    assert at.session_state[EXPORT_KEY]["file_name"].startswith("docket-cases-")
    assert not at.get("progress")  # the progress bar is gone once the file is ready


def test_export_follows_search_and_neutralises_formulas(db, database_url, monkeypatch):
    make_case(db, "C-1", name="=HYPERLINK(\"http://evil.example\") Holdings")
    make_case(db, "C-2", name="Beta GmbH")
    at = _app(monkeypatch, database_url)
    at.text_input(key="f_search").input("hyperlink").run()
    _prepare(at)
    rows = _rows(at)
    assert [r[0] for r in rows[1:]] == ["C-1"]
    assert rows[1][1].startswith("'=HYPERLINK")


def test_changing_a_filter_drops_the_prepared_file(db, database_url, monkeypatch):
    make_case(db, "C-1")
    make_case(db, "C-2", collection_completed=False)
    at = _app(monkeypatch, database_url)
    _prepare(at)
    assert _download_labels(at) == ["Download CSV (2 cases)"]
    at.multiselect(key="f_status").set_value(["collection_flow"]).run()
    assert not at.exception
    assert not _download_labels(at)
    assert EXPORT_KEY not in at.session_state
    _prepare(at)
    assert [r[0] for r in _rows(at)[1:]] == ["C-2"]
    assert _download_labels(at) == ["Download CSV (1 case)"]


def test_analyst_may_export(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    at = _app(monkeypatch, database_url, role="analyst")
    _prepare(at)
    assert not errors(at)
    assert [r[0] for r in _rows(at)[1:]] == ["C-1"]


def test_a_refusal_from_core_is_shown_and_nothing_is_offered(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _app(monkeypatch, database_url)

    def refuse(db, actor):
        raise NotAllowed(f"{actor} (reviewer) may not export")

    monkeypatch.setattr(core.worklist.export, "check_export_allowed", refuse)
    _prepare(at)
    assert not at.exception
    assert errors(at) == ["reviewer (reviewer) may not export"]
    assert not _download_labels(at)
    assert EXPORT_KEY not in at.session_state
    assert len(table(at)) == 1  # the page stays usable
