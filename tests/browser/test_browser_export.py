"""CSV export in a real browser: the file the browser downloads has every case of the view
(not just the page on screen), with the documented header."""
from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.store.models import Case, Entity
from core.worklist.export import COLUMNS
from tests.browser.helpers import keyed_button, pick_view, sign_in

pytestmark = pytest.mark.browser
HEADER = ("case_id,entity_name,entity_type,country,workflow,status,assignee,created_at,updated_at,"
          "age_days,decision,decided_by,decided_at,decision_reason,email,registration_number,"
          "tags,days_in_status")


def _hong_kong_companies(db) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(Case.id).join(Entity, Entity.id == Case.entity_id)
                             .where(Entity.country == "HK", Entity.kind == "business")))


def test_export_of_a_view_downloads_all_its_cases(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")  # analysts export case lists
    pick_view(page, "Hong Kong companies")
    expected = _hong_kong_companies(app_db)
    assert len(expected) > 50  # more than one page
    expect(page.get_by_text(re.compile(rf"^{len(expected)} cases · showing 1–50"))).to_be_visible()

    keyed_button(page, "export_prepare").click()
    download_button = keyed_button(page, "export_download")
    expect(download_button).to_have_text(re.compile(rf"Download CSV \({len(expected)} cases\)"))
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert re.fullmatch(r"docket-cases-\d{8}-\d{6}\.csv", download.suggested_filename)
    raw = open(download.path(), "rb").read()

    text = raw.decode("utf-8")
    assert text.split("\r\n", 1)[0] == HEADER
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert tuple(rows[0]) == COLUMNS
    body = rows[1:]
    ids = [r[0] for r in body]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected
    assert {(r[2], r[3]) for r in body} == {("business", "HK")}
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", r[7]) for r in body)
