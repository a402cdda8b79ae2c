"""Bulk actions in Chromium (ui/bulk_bar.py, core/worklist/bulk.py): a lead selects all 200
cases of a list and assigns them to a reviewer; a bulk reject asks for a reason, says how many
cases in its confirmation, and lists the case assigned to someone else as refused.

Each test imports its own cases (a unique name word, found by search), like
test_browser_worklist.py."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.models import Case
from tests.browser.conftest import _case
from tests.browser.helpers import PASSWORDS, keyed_button, search, sign_in, wait_idle

PASSWORDS.setdefault("lead", "demo-lead-pass")  # the demo team lead (core/access/users.py)
SCREENSHOTS = "/tmp"


def _import(db, *cases: dict) -> None:
    import_cases(db, {"format_version": 1, "cases": list(cases)}, actor="browser-tests")


def _cases(db, prefix: str):
    with db.read() as s:
        return {c.id: c for c in s.scalars(select(Case).where(Case.id.like(f"{prefix}-%")))}


def _select_cases(page: Page) -> None:
    """Turns "Select cases" on (clicked again if a rerun dropped the click)."""
    switch = page.get_by_role("switch", name="Select cases")
    for attempt in range(3):
        wait_idle(page)
        page.get_by_test_id("stMain").get_by_text("Select cases", exact=True).click()
        try:
            expect(switch).to_be_checked(timeout=15_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(page.locator(".st-key-bulk_bar")).to_be_visible()
    wait_idle(page)


def _click(page: Page, key: str, shown) -> None:
    """Clicks the keyed button until `shown` is visible (a click landing while a rerun
    finishes can be dropped)."""
    for attempt in range(3):
        wait_idle(page)
        keyed_button(page, key).click()
        try:
            expect(shown).to_be_visible(timeout=20_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    wait_idle(page)


def test_a_lead_selects_all_200_cases_of_a_list_and_assigns_them(page: Page, app_url, app_db):
    _import(app_db, *[_case(f"BK-{i:03d}", f"Bulkwood Holding {i} Ltd", documents=False)
                      for i in range(200)])
    sign_in(page, app_url, "lead")
    search(page, "Bulkwood", expect_total=200)
    _select_cases(page)
    bar = page.locator(".st-key-bulk_bar")
    expect(bar.get_by_text("0 selected", exact=True)).to_be_visible()
    _click(page, "bulk_select_all", bar.get_by_text("200 selected", exact=True))
    # the page's rows are ticked in the table (the grid's accessible copy holds those in view)
    table = page.locator("[class*='st-key-case_table_']")
    expect(table.locator("tr[aria-selected=true] td#glide-cell-1-0")).to_have_count(1)
    expect(table.locator("tr[aria-selected=true] td#glide-cell-1-9")).to_have_count(1)
    combobox = bar.get_by_role("combobox", name="Assign to")
    combobox.click()
    page.get_by_role("option", name="reviewer2", exact=True).click()
    expect(combobox).to_have_value("reviewer2")
    wait_idle(page)
    page.screenshot(path=f"{SCREENSHOTS}/bulk_bar.png")
    _click(page, "bulk_assign", page.get_by_text("200 assigned, 0 unchanged, 0 refused"))
    page.screenshot(path=f"{SCREENSHOTS}/bulk_result_assign.png")
    cases = _cases(app_db, "BK")
    assert len(cases) == 200
    assert {c.assignee for c in cases.values()} == {"reviewer2"}
    # the list shows it: every row of the first page is reviewer2's now
    expect(page.get_by_test_id("glide-cell-10-0").first).to_have_text("reviewer2")  # Assignee


def test_bulk_reject_confirms_the_count_and_lists_the_refused(page: Page, app_url, app_db):
    _import(app_db, *[_case(f"BJ-{i}", f"Bulkreject Trading {i} Ltd", documents=False)
                      for i in range(3)])
    for case_id, who in (("BJ-0", "lead"), ("BJ-1", "lead"), ("BJ-2", "reviewer")):
        with app_db.read() as s:
            version = s.get(Case, case_id).version
        case_actions.assign_case(app_db, case_id, who, actor="lead", expected_version=version)
    sign_in(page, app_url, "lead")
    search(page, "Bulkreject", expect_total=3)
    _select_cases(page)
    bar = page.locator(".st-key-bulk_bar")
    _click(page, "bulk_select_all", bar.get_by_text("3 selected", exact=True))
    dialog = page.get_by_role("dialog")
    _click(page, "bulk_reject", dialog)
    expect(dialog.get_by_text(re.compile(r"Reject 3 cases\?"))).to_be_visible()
    keyed_button(page, "bulk_reject_confirm").click()  # no reason: refused in the dialog
    expect(dialog.get_by_text("a reason is required to reject cases")).to_be_visible()
    wait_idle(page)
    dialog.get_by_role("textbox", name="Reason (required)").fill("shell companies")
    page.screenshot(path=f"{SCREENSHOTS}/bulk_reject_dialog.png")
    keyed_button(page, "bulk_reject_confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("2 rejected, 0 unchanged, 1 refused")).to_be_visible()
    expect(page.get_by_text("Refused cases (1) and why")).to_be_visible()
    wait_idle(page)
    refused = page.locator(".st-key-bulk_refused")
    expect(refused.get_by_test_id("glide-cell-0-0").first).to_have_text("BJ-2")
    expect(refused.get_by_test_id("glide-cell-1-0").first).to_contain_text(
        "only the case's assignee may do this")
    page.screenshot(path=f"{SCREENSHOTS}/bulk_result_reject.png")
    cases = _cases(app_db, "BJ")
    assert {c: cases[c].case_status for c in cases} == {
        "BJ-0": "rejected", "BJ-1": "rejected", "BJ-2": "manual_review"}
    assert cases["BJ-0"].decision_reason == "shell companies"
