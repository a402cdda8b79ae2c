"""Working the queue in a real browser (issue #10, features 1 and 2): Next case for two
reviewers at once, the most urgent case opened and highlighted, "Work the queue" after
Approve, the N/J/K keys (and N ignored while typing), the overdue filter and its URL
parameter, the Due column, and the Overview's SLA breach charts.

Each test works on cases of its own (unique names, found by search, so Next case only sees
them); due times are moved in the database as a clock would, and put back after the test, so
other tests' view counts carry no overdue case of ours."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.models import Case, utcnow
from tests.browser.conftest import TIMEOUT_MS, _case
from tests.browser.helpers import (
    case_button,
    keyed_button,
    search,
    sidebar,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser
DUE_COLUMN = 7  # the grid's columns: 0 row markers, 1 ID, 6 Status, 7 Due (ui/case_table.py)


# --- helpers ---------------------------------------------------------------------------------

def _import(db, *cases: dict) -> None:
    """Imports the cases not in the app's database yet (a rerun of a failed test finds the
    ones its first attempt imported)."""
    with db.read() as s:
        have = set(s.scalars(select(Case.id).where(Case.id.in_([c["id"] for c in cases]))))
    new = [c for c in cases if c["id"] not in have]
    if new:
        import_cases(db, {"format_version": 1, "cases": new}, actor="browser-tests")


def _assignee(db, case_id: str) -> str | None:
    with db.read() as s:
        return s.scalar(select(Case.assignee).where(Case.id == case_id))


def _status(db, case_id: str) -> str:
    with db.read() as s:
        return s.scalar(select(Case.case_status).where(Case.id == case_id))


@pytest.fixture
def overdue(app_db):
    """overdue(case_id, hours): the case's due time `hours` ago; put back a day ahead after
    the test, so no case of ours stays overdue for the tests after it."""
    moved: list[str] = []

    def make(case_id: str, hours: float) -> None:
        with app_db.unit_of_work() as s:
            s.execute(update(Case).where(Case.id == case_id)
                      .values(due_at=utcnow() - timedelta(hours=hours)))
        moved.append(case_id)
    yield make
    with app_db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id.in_(moved))
                  .values(due_at=utcnow() + timedelta(days=1)))


def selected(page: Page):
    """The ID cells of the rows the case table shows as selected (its accessible copy)."""
    return page.locator("[class*='st-key-case_table_'] tr[aria-selected=true] "
                        "td[aria-colindex='1']")


def next_case(page: Page):
    return keyed_button(page, "next_case")


def heading(page: Page, name: str):
    return page.get_by_role("heading", name=name, exact=True)


def press_on_page(page: Page, key: str) -> None:
    """Presses a key with the focus on the page itself (no field focused)."""
    wait_idle(page)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press(key)


def case_param(page: Page) -> str | None:
    found = re.search(r"[?&]case=([^&]+)", page.url)
    return found.group(1) if found else None


# --- Next case ---------------------------------------------------------------------------------

def test_two_reviewers_pressing_next_case_at_once_get_different_cases(
        browser: Browser, app_url, app_db, browser_context_args):
    _import(app_db, _case("WL-RACE-1", "Zinniaford Race One Ltd"),
            _case("WL-RACE-2", "Zinniaford Race Two Ltd"))
    pages = []
    for user in ("reviewer", "reviewer2"):
        context = browser.new_context(**browser_context_args)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        sign_in(page, app_url, user)
        search(page, "Zinniaford", expect_total=2)
        pages.append(page)
    try:
        for page in pages:
            expect(next_case(page)).to_be_enabled()
        first, second = (next_case(page) for page in pages)
        first.click(no_wait_after=True)
        second.click(no_wait_after=True)  # the first one's run has not finished
        for page in pages:
            expect(page).to_have_url(re.compile(r"[?&]case=WL-RACE-\d"))
        taken = [case_param(page) for page in pages]
        assert sorted(taken) == ["WL-RACE-1", "WL-RACE-2"], taken
        assert _assignee(app_db, taken[0]) == "reviewer"
        assert _assignee(app_db, taken[1]) == "reviewer2"
        for page, case_id in zip(pages, taken):
            expect(selected(page)).to_have_text([case_id])
    finally:
        for page in pages:
            page.context.close()


def test_next_case_opens_the_most_urgent_case_and_highlights_its_row(
        page: Page, app_url, app_db, overdue):
    _import(app_db, _case("WL-URGENT", "Yarrowby Urgent Ltd"),   # oldest, made overdue
            _case("WL-LATER", "Yarrowby Later Ltd"),
            _case("WL-NEWEST", "Yarrowby Newest Ltd"))            # row 0 (newest first)
    overdue("WL-URGENT", 5)
    sign_in(page, app_url, "reviewer")
    search(page, "Yarrowby", expect_total=3)
    next_case(page).click()
    expect(heading(page, "Yarrowby Urgent Ltd")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]case=WL-URGENT\b"))
    wait_idle(page)
    expect(selected(page)).to_have_text(["WL-URGENT"])
    assert _assignee(app_db, "WL-URGENT") == "reviewer"

    next_case(page).click()  # still theirs and open: said, not silently reopened
    expect(page.get_by_text("This is still your most urgent case", exact=False)).to_be_visible()
    expect(selected(page)).to_have_text(["WL-URGENT"])
    assert _assignee(app_db, "WL-LATER") is None

    search(page, "Oakhollow")  # an approved case: nothing to take
    next_case(page).click()
    expect(page.get_by_text("Nothing left to take", exact=False)).to_be_visible()


def test_work_the_queue_opens_the_next_case_after_approve(page: Page, app_url, app_db, overdue):
    _import(app_db, _case("WL-QUEUE-1", "Quarrington Queue First Ltd", documents=False),
            _case("WL-QUEUE-2", "Quarrington Queue Second Ltd", documents=False))
    overdue("WL-QUEUE-1", 3)
    sign_in(page, app_url, "reviewer")
    search(page, "Quarrington", expect_total=2)
    sidebar_toggle = page.get_by_test_id("stMain").get_by_text("Work the queue", exact=True)
    sidebar_toggle.click()
    expect(page.get_by_role("switch", name="Work the queue")).to_be_checked()
    wait_idle(page)
    next_case(page).click()
    expect(heading(page, "Quarrington Queue First Ltd")).to_be_visible()
    wait_idle(page)

    case_button(page, "approve").click()
    dialog = page.get_by_role("dialog")
    keyed_button(page, "dialog_confirm").click()
    expect(dialog).to_be_hidden()
    expect(heading(page, "Quarrington Queue Second Ltd")).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"Case approved\. Work the queue: here is the next case, WL-QUEUE-2"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]case=WL-QUEUE-2\b"))
    wait_idle(page)
    expect(selected(page)).to_have_text(["WL-QUEUE-2"])
    assert _status(app_db, "WL-QUEUE-1") == "approved"
    assert _assignee(app_db, "WL-QUEUE-2") == "reviewer"


def test_the_n_j_and_k_keys_and_no_n_while_typing(page: Page, app_url, app_db, overdue):
    _import(app_db, _case("WL-KEYS-1", "Kestrelmoor Keys First Ltd"),   # row 1, overdue
            _case("WL-KEYS-2", "Kestrelmoor Keys Second Ltd"))          # row 0
    overdue("WL-KEYS-1", 2)
    sign_in(page, app_url, "reviewer")
    search(page, "Kestrelmoor", expect_total=2)

    box = sidebar(page).get_by_role("textbox", name="Search")
    box.click()
    page.keyboard.press("End")
    page.keyboard.type(" n")  # typed in the field: no Next case
    expect(box).to_have_value("Kestrelmoor n")
    box.fill("Kestrelmoor")
    box.press("Enter")  # one more run: a Next case asked for meanwhile would have run by now
    expect(page.get_by_text(re.compile(r"^2 cases · showing"))).to_be_visible()
    wait_idle(page)
    assert case_param(page) is None
    assert _assignee(app_db, "WL-KEYS-1") is None and _assignee(app_db, "WL-KEYS-2") is None

    press_on_page(page, "n")
    expect(heading(page, "Kestrelmoor Keys First Ltd")).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text(["WL-KEYS-1"])
    assert _assignee(app_db, "WL-KEYS-1") == "reviewer"

    press_on_page(page, "k")  # the case above: row 0
    expect(heading(page, "Kestrelmoor Keys Second Ltd")).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text(["WL-KEYS-2"])
    press_on_page(page, "j")  # and back down
    expect(heading(page, "Kestrelmoor Keys First Ltd")).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text(["WL-KEYS-1"])
    assert _assignee(app_db, "WL-KEYS-2") is None  # J and K only open cases

    page.get_by_role("button", name=re.compile("Shortcuts")).click()
    popover = page.get_by_test_id("stPopoverBody")
    for key in ("N", "J", "K", "A", "X"):  # a case is open: its actions too
        expect(popover.get_by_text(re.compile(rf"^{key} — "))).to_be_visible()


# --- SLAs in the list ------------------------------------------------------------------------

def test_the_overdue_filter_its_url_parameter_and_the_due_column(
        page: Page, app_url, app_db, overdue):
    _import(app_db, _case("WL-LATE", "Ulverston Late Ltd"),
            _case("WL-INTIME", "Ulverston Intime Ltd"))
    overdue("WL-LATE", 30)
    sign_in(page, app_url, "analyst")
    search(page, "Ulverston", expect_total=2)
    due = {page.get_by_test_id(f"glide-cell-1-{i}").first.inner_text():
           page.get_by_test_id(f"glide-cell-{DUE_COLUMN}-{i}").first.inner_text()
           for i in range(2)}
    assert due["WL-LATE"] == "overdue 30 h", due
    assert re.fullmatch(r"2[34] h left", due["WL-INTIME"]), due
    expect(sidebar(page).get_by_text(re.compile(r"^\d[\d,]* overdue$")).first).to_be_visible()

    toggle = sidebar(page).get_by_text(re.compile(r"^Overdue only \(1\)$"))
    toggle.click()
    expect(page).to_have_url(re.compile(r"[?&]overdue=1\b"))
    expect(page.get_by_text(re.compile(r"^1 case · showing"))).to_be_visible()
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text("WL-LATE")
    wait_idle(page)

    page.reload()  # the URL keeps it
    expect(page.get_by_text(re.compile(r"^1 case · showing"))).to_be_visible()
    expect(sidebar(page).get_by_role("switch", name=re.compile(r"^Overdue only"))).to_be_checked()
    wait_idle(page)

    page.goto(app_url + "/?q=Ulverston&sort=due_at&order=asc")  # a link without it
    expect(page.get_by_text(re.compile(r"^2 cases · showing"))).to_be_visible()
    expect(sidebar(page).get_by_role("switch", name=re.compile(r"^Overdue only"))) \
        .not_to_be_checked()
    expect(page.get_by_role("combobox", name="Sort")).to_have_value("Due soonest first")
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text("WL-LATE")


# --- Overview -----------------------------------------------------------------------------------

def test_the_overview_shows_sla_breaches_per_day_and_per_reviewer(
        page: Page, app_url, app_db, overdue):
    _import(app_db, _case("WL-BREACH", "Vexford Breached Ltd"))
    with app_db.read() as s:
        version = s.get(Case, "WL-BREACH").version
    case_actions.assign_case(app_db, "WL-BREACH", "reviewer2", actor="admin",
                             expected_version=version)
    overdue("WL-BREACH", 3)
    sign_in(page, app_url, "analyst")
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name=re.compile(r"^SLA breaches, last 30 days"))) \
        .to_be_visible()
    per_reviewer = page.get_by_test_id("stVegaLiteChart").filter(
        has_text="Breaches per reviewer")
    expect(per_reviewer.get_by_text("reviewer2", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart").filter(has_text="Breaches per day")) \
        .to_be_visible()
    link = page.get_by_role("link", name=re.compile(r"^Overdue now \(\d+\)"))
    expect(link).to_have_attribute("href", re.compile(r"overdue=1"))
