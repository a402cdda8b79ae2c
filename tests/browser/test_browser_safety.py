"""What must not happen in a real browser: an analyst acting on a case, or a hostile case
name running script."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    HOSTILE,
    case_button,
    click_row,
    db_status,
    list_cell,
    search,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser


def test_analyst_sees_actions_disabled_and_cannot_act(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    search(page, "Brackenridge")
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Brackenridge Analyst Ltd")).to_be_visible()
    wait_idle(page)

    for action in ("approve", "reject", "ask_for_reuploads"):
        expect(case_button(page, action)).to_be_disabled()
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)
    expect(page.get_by_role("button", name="Add note")).to_have_count(0)
    page.get_by_test_id("stExpander").filter(has_text="Certificate of incorporation") \
        .locator("summary").click()
    expect(page.locator("[class*='st-key-block_']").get_by_role("button").first).to_be_visible()
    for button in page.locator("[class*='st-key-block_']").get_by_role("button").all():
        expect(button).to_be_disabled()

    case_button(page, "approve").click(force=True)  # a disabled button does nothing
    page.wait_for_timeout(500)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert db_status(app_db, "BR-ANALYST") == "manual_review"


def test_a_hostile_case_name_is_shown_as_text_and_runs_nothing(page: Page, app_url):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script("window.__alerts = []; window.alert = m => window.__alerts.push(String(m));")
    sign_in(page, app_url, "reviewer")
    search(page, "onerror")
    expect(list_cell(page, 2)).to_have_text(HOSTILE)  # column 0 holds the row markers
    click_row(page, 0)

    heading = page.get_by_role("heading", name=HOSTILE, exact=True)
    expect(heading).to_be_visible()
    expect(heading).to_have_text(HOSTILE)
    expect(page.get_by_role("button", name="Assign to me")).to_be_visible()
    wait_idle(page)
    page.wait_for_timeout(1000)  # give an injected onerror handler time to fire
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("img[onerror]").count() == 0
    assert page.evaluate("window.__alerts") == []
    assert dialogs == []
