"""CSV export in a real browser: "Export CSV" makes a single-use link, and clicking it
downloads, from the server's streaming route, a file with every case of the view (not just the
page on screen) in the list's order, with the documented header and formula-safe cells; the
tab the link opens closes itself, and the used link works no more (the page stops offering a
used link: tests/app/test_export.py)."""
from __future__ import annotations

import csv
import io
import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.intake.importer import import_cases
from core.store.models import Case, Entity
from core.worklist.export import COLUMNS
from tests.browser.helpers import keyed_button, keyed_link, pick_view, search, sign_in

pytestmark = pytest.mark.browser
HEADER = ("case_id,entity_name,entity_type,country,workflow,status,assignee,created_at,updated_at,"
          "age_days,decision,decided_by,decided_at,decision_reason,email,registration_number,"
          "tags,days_in_status,open_hits,risk_level,risk_points")
FORMULA = "=HYPERLINK(\"http://evil.example\",\"Quillmoor\")"


def _hong_kong_companies(db) -> list[str]:
    """The view's case ids in the list's default order: newest first, then by id."""
    with db.read() as s:
        return list(s.scalars(select(Case.id).join(Entity, Entity.id == Case.entity_id)
                              .where(Entity.country == "HK", Entity.kind == "business")
                              .order_by(Case.created_at.desc(), Case.id.desc())))


def _download(page: Page) -> tuple[str, list[list[str]], str]:
    """Clicks the offered link; the file's name, rows and the link's address. The link opens
    a tab, which the browser closes as the download starts: only the Cases page is left."""
    link = keyed_link(page, "export_download")
    url = link.get_attribute("href")
    with page.expect_popup() as popup, page.expect_download() as info:
        link.click()
    if not popup.value.is_closed():
        popup.value.wait_for_event("close")
    assert page.context.pages == [page]
    download = info.value
    assert download.failure() is None
    text = open(download.path(), "rb").read().decode("utf-8")
    assert text.split("\r\n", 1)[0] == HEADER
    return download.suggested_filename, list(csv.reader(io.StringIO(text, newline=""))), url


def test_export_of_a_view_downloads_all_its_cases(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")  # analysts export case lists
    pick_view(page, "Hong Kong companies")
    expected = _hong_kong_companies(app_db)
    assert len(expected) > 50  # more than one page
    expect(page.get_by_text(re.compile(rf"^{len(expected)} cases · showing 1–50"))).to_be_visible()

    keyed_button(page, "export_prepare").click()
    expect(keyed_link(page, "export_download")).to_have_text(re.compile(rf"Download CSV \({len(expected)} cases\)"))
    expect(page.get_by_text("The link works once, for 10 minutes.")).to_be_visible()
    name, rows, url = _download(page)
    assert re.fullmatch(r"docket-cases-\d{8}-\d{6}\.csv", name)
    assert re.fullmatch(r"/downloads/cases\.csv\?t=[\w-]{43}", url)
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    assert [r[0] for r in body] == expected  # every case of the view, in the list's order
    assert {(r[2], r[3]) for r in body} == {("business", "HK")}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", r[7]) for r in body)

    again = httpx.get(app_url + url)  # single use: the same address gives no file again
    assert again.status_code == 410 and "already used" in again.text


def test_the_downloaded_file_neutralises_formulas(page: Page, app_url, app_db):
    import_cases(app_db, {"format_version": 1, "cases": [
        {"id": "BR-FORMULA", "workflow": "onboarding", "collection_completed": True,
         "entity": {"type": "business", "name": FORMULA, "country": "GB",
                    "email": "owner@example.com"}}]}, actor="browser-tests")
    sign_in(page, app_url, "reviewer")
    search(page, "Quillmoor")
    keyed_button(page, "export_prepare").click()
    expect(keyed_link(page, "export_download")).to_have_text(re.compile(r"Download CSV \(1 case\)"))
    _, rows, _ = _download(page)
    assert [r[0] for r in rows[1:]] == ["BR-FORMULA"]
    assert rows[1][1] == "'" + FORMULA  # a spreadsheet shows it as text
