"""Helpers the browser tests share: signing in, waiting for reruns, the sidebar, the table."""
from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from core.access.auth_settings import COOKIE_NAME
from core.store.db import Database
from core.store.models import Case

PASSWORDS = {"admin": "demo-admin-pass", "reviewer": "demo-reviewer-pass",
             "reviewer2": "demo-reviewer2-pass", "lead": "demo-lead-pass",
             "analyst": "demo-analyst-pass"}
HOSTILE = "<img src=x onerror=alert(1)>"
AUTH_COOKIE = COOKIE_NAME  # the sign-in cookie


def wait_idle(page: Page) -> None:
    """Waits for the current script run to finish."""
    page.locator("[data-testid=stApp][data-test-script-state=notRunning]").wait_for()


def sign_in(page: Page, app_url: str, username: str, query: str = "") -> None:
    page.goto(app_url + "/" + query)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    wait_for_cookie(page, AUTH_COOKIE, present=True)  # the run writing the cookie is over
    wait_idle(page)


def click_until(page: Page, target, shown, *, checked: bool = False) -> None:
    """Clicks `target` until `shown` is visible (or checked): a click landing while a rerun
    finishes can be dropped by the app (three tries, each waiting for a hung page only)."""
    for attempt in range(3):
        wait_idle(page)
        target.click()
        try:
            if checked:
                expect(shown).to_be_checked(timeout=20_000)
            else:
                expect(shown).to_be_visible(timeout=20_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    wait_idle(page)


def open_page(page: Page, title: str, heading: str | None = None) -> None:
    """Opens a page from the sidebar navigation (clicked again if the click was dropped)."""
    link = page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True)
    click_until(page, link, page.get_by_role("heading", name=heading or title, exact=True))


def sidebar(page: Page):
    return page.get_by_test_id("stSidebar")


def pick_view(page: Page, name: str) -> None:
    """Chooses a sidebar view (clicked again if the click was dropped)."""
    label = re.compile(rf"^{re.escape(name)} \(")
    click_until(page, sidebar(page).get_by_text(label),
                sidebar(page).get_by_role("radio", name=label), checked=True)


def search(page: Page, text: str, expect_total: int | None = 1) -> None:
    box = sidebar(page).get_by_role("textbox", name="Search")
    box.fill(text)
    box.press("Enter")
    if expect_total is not None:
        word = "case" if expect_total == 1 else "cases"
        expect(page.get_by_text(re.compile(rf"^{expect_total:,} {word} · showing"))).to_be_visible()
    wait_idle(page)


def click_row(page: Page, index: int) -> None:
    """Selects (or, when selected, clears) row `index` of the case list by its row marker (the
    table is a canvas). On a busy machine the grid can drop a click that comes before it
    takes clicks: the click is repeated, at most twice, until the row's state has flipped."""
    table = page.get_by_test_id("stDataFrameResizable").first
    row = table.locator(f"tr[aria-selected=true] td#glide-cell-1-{index}")
    was_selected = row.count() > 0
    for attempt in range(3):
        table.click(position={"x": 16, "y": 36 + 35 * index + 17})
        try:
            expect(row).to_have_count(0 if was_selected else 1, timeout=15_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    wait_idle(page)


def case_button(page: Page, action: str):
    """A case action button (approve, reject, ask_for_reuploads) in the preview header."""
    return keyed_button(page, f"case_action_{action}")


def keyed_button(page: Page, key: str):
    """The button of the widget with this key (Streamlit also draws a hidden copy of a button
    that has help text, for measuring; the role query skips it). While a page redraws, the
    previous run's copy of an element can stay for a moment, marked stale: it is left out."""
    return page.locator(f".st-key-{key}:not([data-stale=true])").get_by_role("button")


def keyed_link(page: Page, key: str):
    """The link of the element with this key (an `st.link_button`; see keyed_button)."""
    return page.locator(f".st-key-{key}:not([data-stale=true])").get_by_role("link")


def choose(page: Page, combobox, option: str) -> None:
    """Picks `option` in a selectbox by typing it (the selectbox filters its list as one
    types), then the keyboard: its list may open outside the viewport, where a mouse click
    cannot reach it. Tried again if a rerun redrew the list meanwhile."""
    for attempt in range(3):
        wait_idle(page)
        combobox.click()
        combobox.fill(option)
        for _ in range(10):
            focused = page.locator("[role=option][data-focused=true]")
            try:
                text = focused.first.inner_text(timeout=2_000).strip()
            except PlaywrightTimeout:
                text = None
            if text == option:
                combobox.press("Enter")
                break
            combobox.press("ArrowDown")
        try:
            expect(combobox).to_have_value(option, timeout=10_000)
            wait_idle(page)  # the run the pick started is over: a next click carries the pick
            expect(combobox).to_have_value(option)  # (and no rerun put the old value back)
            return
        except AssertionError:
            combobox.press("Escape")
            if attempt == 2:
                raise


def wait_for_cookie(page: Page, name: str, present: bool, timeout_s: float = 60) -> None:
    """Waits until the browser has (or no longer has) the cookie `name`; the timeout only
    catches a hung app."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(c["name"] == name for c in page.context.cookies()) == present:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"cookie {name!r} {'never set' if present else 'not deleted'} "
                         f"within {timeout_s} s")


def case_status_badge(page: Page):
    """The status badge under the open case's title (the first badge on the page)."""
    return page.get_by_test_id("stMain").locator(".stMarkdownBadge").first


def list_cell(page: Page, column: int, row: int = 0):
    """A cell of the case list, from the table's accessible grid (the table is a canvas).
    Column 0 holds the row markers; 1 is ID, 2 entity name, 6 status."""
    return page.get_by_test_id(f"glide-cell-{column}-{row}").first


def db_status(db: Database, case_id: str) -> str:
    with db.read() as s:
        return s.scalar(select(Case.case_status).where(Case.id == case_id))


def mark_document_for_reupload(page: Page, document: str, reason: str, details: str) -> None:
    """Opens a document block of the open case and asks to re-upload it with a reason."""
    page.get_by_test_id("stExpander").filter(has_text=document).locator("summary").click()
    form = page.get_by_test_id("stForm").filter(has=page.get_by_text("Re-upload reason"))
    choose(page, form.get_by_role("combobox", name="Re-upload reason"), reason)
    form.get_by_role("textbox", name="Details").fill(details)
    form.get_by_role("button", name="Ask to re-upload").click()
    expect(page.get_by_text('Marked "Re-upload needed".')).to_be_visible()
    wait_idle(page)
