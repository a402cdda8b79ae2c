"""The Cases page's CSV export through AppTest: "Export CSV" makes a single-use download link
for the current view, filters and sort (all matching rows, not the page shown); the role
check in core, errors shown, a stale link dropped. The download itself is streamed by the
server's route: tests/api/test_downloads.py, and in Chromium tests/browser/test_browser_export.py."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import core.worklist.export_links
from core.errors import NotAllowed
from core.worklist.export import COLUMNS, export_cases
from core.worklist.export_links import DOWNLOAD_PATH, TOKEN_PARAM, redeem_export_link
from tests.app.harness import errors, new_app, sign_in, table
from tests.factories import make_case
from ui.export_button import DOWNLOAD_KEY, EXPORT_KEY, PREPARE_KEY


def _app(monkeypatch, database_url, role="reviewer"):
    return sign_in(new_app(monkeypatch, database_url), role)


def _prepare(at):
    return at.button(key=PREPARE_KEY).click().run()


def _links(at) -> list:
    return [e for e in at.get("link_button") if e.key == DOWNLOAD_KEY]


def _labels(at) -> list[str]:
    return [e.proto.label for e in _links(at)]


def _rows(db, at) -> list[list[str]]:
    """The file the offered link downloads: its token redeemed, the export it asks for."""
    [link] = _links(at)
    url = urlsplit(link.proto.url)
    assert url.path == DOWNLOAD_PATH and not url.netloc
    [token] = parse_qs(url.query)[TOKEN_PARAM]
    asked = redeem_export_link(db, token)
    text = "".join(export_cases(db, asked.flt, actor=asked.actor, sort=asked.sort,
                                descending=asked.descending))
    assert "\r\n" in text  # RFC 4180 line ends
    return list(csv.reader(io.StringIO(text, newline="")))


def test_export_has_every_matching_row_not_just_the_page(db, database_url, monkeypatch):
    for i in range(55):
        make_case(db, f"M-{i:02d}", name=f"Manual {i} Ltd")
    make_case(db, "F-1", collection_completed=False, name="Flow GmbH")
    at = _app(monkeypatch, database_url)
    at.multiselect(key="f_status").set_value(["manual_review"]).run()
    assert len(table(at)) == 50  # one page on screen
    assert not _labels(at)  # nothing prepared yet
    assert at.button(key=PREPARE_KEY).label == "Export CSV"
    _prepare(at)
    assert not at.exception, at.exception
    assert not errors(at)
    assert _labels(at) == ["Download CSV (55 cases)"]
    assert any(re.search(r"works once, for 10 minutes", c.value) for c in at.caption)
    rows = _rows(db, at)
    assert tuple(rows[0]) == COLUMNS
    assert [r[0] for r in rows[1:]] == [f"M-{i:02d}" for i in reversed(range(55))]  # newest first
    assert {r[5] for r in rows[1:]} == {"Manual review"}


def test_export_follows_search_sort_and_neutralises_formulas(db, database_url, monkeypatch):
    make_case(db, "C-1", name="=HYPERLINK(\"http://evil.example\") Holdings")
    make_case(db, "C-2", name="Beta GmbH")
    make_case(db, "C-3", name="Zeta Holdings")
    at = sign_in(new_app(monkeypatch, database_url, query={"sort": "id", "order": "asc"}),
                 "reviewer")
    at.text_input(key="f_search").input("holdings").run()
    _prepare(at)
    rows = _rows(db, at)
    assert [r[0] for r in rows[1:]] == ["C-1", "C-3"]  # the list's sort: id, ascending
    assert rows[1][1].startswith("'=HYPERLINK")


def test_changing_a_filter_drops_the_link(db, database_url, monkeypatch):
    make_case(db, "C-1")
    make_case(db, "C-2", collection_completed=False)
    at = _app(monkeypatch, database_url)
    _prepare(at)
    assert _labels(at) == ["Download CSV (2 cases)"]
    at.multiselect(key="f_status").set_value(["collection_flow"]).run()
    assert not at.exception
    assert not _labels(at)
    assert EXPORT_KEY not in at.session_state
    _prepare(at)
    assert [r[0] for r in _rows(db, at)[1:]] == ["C-2"]
    assert _labels(at) == ["Download CSV (1 case)"]


def test_analyst_may_export(db, database_url, monkeypatch):
    make_case(db, "C-1", assignee="reviewer")
    at = _app(monkeypatch, database_url, role="analyst")
    _prepare(at)
    assert not errors(at)
    assert [r[0] for r in _rows(db, at)[1:]] == ["C-1"]


def test_a_refusal_from_core_is_shown_and_nothing_is_offered(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _app(monkeypatch, database_url)

    def refuse(db, actor):
        raise NotAllowed(f"{actor} (reviewer) may not export")

    monkeypatch.setattr(core.worklist.export_links, "check_export_allowed", refuse)
    _prepare(at)
    assert not at.exception
    assert errors(at) == ["reviewer (reviewer) may not export"]
    assert not _labels(at)
    assert EXPORT_KEY not in at.session_state
    assert len(table(at)) == 1  # the page stays usable


def test_a_used_link_is_no_longer_offered(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _app(monkeypatch, database_url)
    _prepare(at)
    assert _labels(at) == ["Download CSV (1 case)"]
    at.run()
    assert _labels(at) == ["Download CSV (1 case)"]  # still usable: still offered
    assert [r[0] for r in _rows(db, at)[1:]] == ["C-1"]  # the browser downloaded it
    at.run()  # the page's next run
    assert not _labels(at)
    assert EXPORT_KEY not in at.session_state
    assert any("Downloaded. Export again" in c.value for c in at.caption)
    _prepare(at)
    assert _labels(at) == ["Download CSV (1 case)"]  # a fresh link
    assert not any("Downloaded" in c.value for c in at.caption)
