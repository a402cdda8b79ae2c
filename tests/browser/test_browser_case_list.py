"""The case list in a real browser (issues #18 and #10): choices that survive changing counts,
one safe CSV export, sorting in the database, a highlighted row that is always the open case,
the list's state in the URL (reload, back, links, bad links), a deleted view and another
role's page said in words, the keyboard, the wording and a search longer than its limit.

A colleague's work is done through core in the test process, as another session would.
Each test works on cases of its own (made here) or only reads the shared ones."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from playwright.sync_api import Page, expect

from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.models import Case
from core.worklist.query import MAX_SEARCH, CaseFilter, count_cases, list_cases
from core.worklist.views import delete_view, find_view, save_view
from tests.browser.conftest import _case
from tests.browser.helpers import (
    case_button,
    choose,
    click_row,
    keyed_button,
    keyed_link,
    pick_view,
    search,
    sidebar,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser
MARKERS, ID_WIDTH = 33, 150  # px: the row-marker column, the ID column (ui/case_table.py)


# --- helpers ---------------------------------------------------------------------------------

def _import(db, *cases: dict) -> None:
    import_cases(db, {"format_version": 1, "cases": list(cases)}, actor="browser-tests")


def _assign(db, case_id: str, user: str) -> None:
    with db.read() as s:
        version = s.get(Case, case_id).version
    case_actions.assign_case(db, case_id, user, actor="admin", expected_version=version)


def _view(db, name: str):
    return find_view(db, name)


def _count(db, **kwargs) -> int:
    return count_cases(db, CaseFilter(**kwargs))


def status_select(page: Page):
    return sidebar(page).get_by_test_id("stMultiSelect").filter(
        has=page.get_by_role("combobox", name="Status"))


def pick_status(page: Page, label: str) -> None:
    """Adds a status to the Status filter by typing it and Enter (its label ends in a count)."""
    box = sidebar(page).get_by_role("combobox", name="Status")
    wait_idle(page)
    box.click()
    box.fill(label)
    expect(page.get_by_role("option", name=re.compile(rf"^{re.escape(label)} \("))).to_be_visible()
    box.press("Enter")
    box.press("Escape")
    expect(status_chip(page, label)).to_be_visible()
    wait_idle(page)


def status_chip(page: Page, label: str):
    return status_select(page).get_by_text(re.compile(rf"^{re.escape(label)} \(\d[\d,]*\)$"))


def view_radio(page: Page, name: str, count: int | None = None):
    tail = rf"\({count:,}\)" if count is not None else r"\(\d[\d,]*\)"
    return sidebar(page).get_by_role("radio", name=re.compile(rf"^{re.escape(name)} {tail}$"))


def total_line(page: Page, total: int):
    """The count above the table (its wording is test_one_case_is_one_case's)."""
    return page.get_by_text(re.compile(rf"^{total:,} cases? · showing"))


def table(page: Page):
    return page.get_by_test_id("stDataFrameResizable").first


def row_ids(page: Page, rows: int) -> list[str]:
    """The ID cells of the first `rows` rows (the table's accessible copy)."""
    return [page.get_by_test_id(f"glide-cell-1-{i}").first.inner_text() for i in range(rows)]


def selected(page: Page):
    """The ID cells of the rows the case table shows as selected (its accessible copy)."""
    return page.locator("[class*='st-key-case_table_'] tr[aria-selected=true] "
                        "td[aria-colindex='1']")


def rerun(page: Page) -> None:
    """One more run of the app (its R shortcut), then idle: the page shows the database now."""
    wait_idle(page)
    page.evaluate("""() => { document.activeElement && document.activeElement.blur();
        window.__ran = false;
        const app = document.querySelector('[data-testid=stApp]');
        new MutationObserver((_, o) => { if (app.getAttribute('data-test-script-state')
            === 'running') { window.__ran = true; o.disconnect(); } })
            .observe(app, {attributes: true}); }""")
    page.keyboard.press("r")
    page.wait_for_function("() => window.__ran === true")
    wait_idle(page)


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def no_app_error(page: Page) -> None:
    expect(page.get_by_test_id("stException")).to_have_count(0)


# --- 1. counts change, choices stay (#18.1) ---------------------------------------------------

def test_the_status_filter_survives_a_search_and_prepare_csv(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    pick_view(page, "Onboarding")
    pick_status(page, "Manual review")
    search(page, "Harbourview", expect_total=None)  # the status counts change with the search
    onboarding = _view(app_db, "Onboarding")
    total = _count(app_db, view=onboarding, statuses=("manual_review",), search="Harbourview")
    expect(total_line(page, total)).to_be_visible()

    keyed_button(page, "export_prepare").click()
    expect(keyed_link(page, "export_download")).to_have_text(
        re.compile(rf"Download CSV \({total} cases\)"))
    wait_idle(page)
    expect(status_chip(page, "Manual review")).to_be_visible()
    expect(view_radio(page, "Onboarding")).to_be_checked()
    expect(total_line(page, total)).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]status=manual_review\b"))


def test_view_assignee_and_status_survive_a_decision_and_a_colleagues_import(
        page: Page, app_url, app_db):
    _import(app_db, _case("BR-LIST-MINE", "Wintergreen Decided Ltd"))
    _assign(app_db, "BR-LIST-MINE", "reviewer")
    sign_in(page, app_url, "reviewer")
    pick_view(page, "Onboarding")
    choose(page, sidebar(page).get_by_role("combobox", name="Assignee"), "Me")
    pick_status(page, "Manual review")
    onboarding = _view(app_db, "Onboarding")
    mine = dict(view=onboarding, assignee="me", me="reviewer", statuses=("manual_review",))
    expect(total_line(page, _count(app_db, **mine))).to_be_visible()
    click_row(page, 0)  # the newest: the case made above
    expect(page.get_by_role("heading", name="Wintergreen Decided Ltd")).to_be_visible()
    wait_idle(page)

    _import(app_db, _case("BR-LIST-COLLEAGUE", "Wintergreen Imported Ltd"))  # a colleague
    case_button(page, "reject").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("textbox", name="Reason (required)").fill("sanctions hit")
    keyed_button(page, "dialog_confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Case rejected.")).to_be_visible()
    wait_idle(page)

    # both counts changed: the view count (the import), the status count (the decision)
    expect(view_radio(page, "Onboarding", _count(app_db, view=onboarding))).to_be_checked()
    expect(sidebar(page).get_by_role("combobox", name="Assignee")).to_have_value("Me")
    expect(status_chip(page, "Manual review")).to_be_visible()
    expect(total_line(page, _count(app_db, **mine))).to_be_visible()
    # the decided case left the list; the preview keeps it, and no other row looks open
    expect(page.get_by_role("heading", name="Wintergreen Decided Ltd")).to_be_visible()
    # the grid redraws its rows a moment after the total line: wait for the first row to move
    expect(page.get_by_test_id("glide-cell-1-0").first).not_to_have_text("BR-LIST-MINE")
    assert "BR-LIST-MINE" not in row_ids(page, min(3, _count(app_db, **mine)))
    expect(selected(page)).to_have_count(0)


# --- 2. one export, the safe one (#18.2) ------------------------------------------------------

def test_the_case_table_has_no_csv_download_of_its_own(page: Page, app_url):
    sign_in(page, app_url, "analyst")
    search(page, "Thistledown")
    table(page).hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)
    expect(keyed_button(page, "export_prepare")).to_be_visible()  # the one export left


def test_no_other_table_offers_a_download_either(page: Page, app_url):
    """Every table can show an applicant's text (client.disableDataExport, dashboard.py)."""
    sign_in(page, app_url, "admin")
    page.goto(app_url + "/admin_users")
    users = page.get_by_test_id("stDataFrameResizable").first
    expect(users).to_be_visible()
    wait_idle(page)
    users.hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)


# --- 3. sorting in the database (#18.3) -------------------------------------------------------

def test_a_header_click_sorts_every_page_and_sets_the_sort_box(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    pick_view(page, "Hong Kong companies")
    view = _view(app_db, "Hong Kong companies")
    sort_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Sort")
    expect(sort_box).to_have_value("Newest first")

    table(page).click(position={"x": 60, "y": 18})  # the header of the first column, ID
    expect(sort_box).to_have_value("Case ID A–Z")
    wait_idle(page)
    ascending = list_cases(app_db, CaseFilter(view=view), sort="id", descending=False, page=1)
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text(ascending.rows[0].id)
    expect(page).to_have_url(re.compile(r"[?&]sort=id&order=asc\b"))

    keyed_button(page, "page_next").click()
    second = list_cases(app_db, CaseFilter(view=view), sort="id", descending=False, page=2)
    expect(page.get_by_text(re.compile(r"^Page 2 of"))).to_be_visible()
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text(second.rows[0].id)
    expect(sort_box).to_have_value("Case ID A–Z")
    wait_idle(page)

    table(page).click(position={"x": 60, "y": 18})  # again: the other way round
    expect(sort_box).to_have_value("Case ID Z–A")
    descending = list_cases(app_db, CaseFilter(view=view), sort="id", descending=True, page=1)
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text(descending.rows[0].id)
    expect(page.get_by_text(re.compile(r"^Page 1 of"))).to_be_visible()
    wait_idle(page)

    # the grid's column menu offers no sort of its own (it would sort the page on screen)
    table(page).hover(position={"x": 60, "y": 18})
    table(page).click(position={"x": MARKERS + ID_WIDTH - 14, "y": 18})  # the header's ⋮
    menu = page.get_by_test_id("stDataFrameColumnMenu")
    expect(menu.get_by_text("Autosize")).to_be_visible()
    expect(menu.get_by_text("Sort ascending")).to_be_hidden()
    expect(menu.get_by_text("Sort descending")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(sort_box).to_have_value("Case ID Z–A")


# --- 4. the highlighted row is the open case (#10) --------------------------------------------

def test_the_highlighted_row_is_always_the_open_case(page: Page, app_url, app_db):
    _import(app_db, _case("BR-LIST-NEXT", "Quenby Stays Ltd"))
    _import(app_db, _case("BR-LIST-TAKEN", "Quenby Taken Ltd"))  # newer: row 0
    sign_in(page, app_url, "reviewer")
    choose(page, sidebar(page).get_by_role("combobox", name="Assignee"), "Unassigned")
    search(page, "Quenby", expect_total=2)
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Quenby Taken Ltd")).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text(["BR-LIST-TAKEN"])

    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Case assigned to you.")).to_be_visible()
    wait_idle(page)
    expect(total_line(page, 1)).to_be_visible()  # it left the Unassigned list
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text("BR-LIST-NEXT")
    expect(page.get_by_role("heading", name="Quenby Taken Ltd")).to_be_visible()
    expect(selected(page)).to_have_count(0)  # not the row now in its place

    click_row(page, 0)
    expect(page.get_by_role("heading", name="Quenby Stays Ltd")).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text(["BR-LIST-NEXT"])
    _import(app_db, _case("BR-LIST-NEWER", "Quenby Newcomer Ltd"))  # a colleague's: row 0
    rerun(page)
    expect(total_line(page, 2)).to_be_visible()
    expect(page.get_by_test_id("glide-cell-1-1").first).to_have_text("BR-LIST-NEXT")
    expect(selected(page)).to_have_text(["BR-LIST-NEXT"])  # the selection moved with its case


# --- 5. the list's state in the URL (#18.8) ---------------------------------------------------

def test_view_filters_sort_and_page_survive_a_reload_and_the_back_button(
        page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    pick_view(page, "Onboarding")
    pick_status(page, "Manual review")
    pick_status(page, "Rejected")
    expect(page).to_have_url(re.compile(r"status=manual_review&status=rejected"))
    choose(page, sidebar(page).get_by_role("combobox", name="Assignee"), "Unassigned")
    expect(page).to_have_url(re.compile(r"[?&]assignee=unassigned\b"))
    search(page, "Harbourview", expect_total=None)
    sort_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Sort")
    choose(page, sort_box, "Entity name Z–A")
    expect(page).to_have_url(re.compile(r"[?&]sort=name&order=desc\b"))
    wait_idle(page)
    keyed_button(page, "page_next").click()
    expect(page.get_by_text(re.compile(r"^Page 2 of 2"))).to_be_visible()
    wait_idle(page)

    onboarding = _view(app_db, "Onboarding")
    expect(page).to_have_url(re.compile(r"[?&]page=2\b"))
    assert url_params(page) == {
        "view": [str(onboarding.id)], "status": ["manual_review", "rejected"],
        "assignee": ["unassigned"], "q": ["Harbourview"], "sort": ["name"],
        "order": ["desc"], "page": ["2"]}
    flt = CaseFilter(view=onboarding, statuses=("manual_review", "rejected"),
                     assignee="unassigned", search="Harbourview")
    second = list_cases(app_db, flt, sort="name", descending=True, page=2)
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text(second.rows[0].id)

    page.reload()
    expect(page.get_by_text(re.compile(r"^Page 2 of 2"))).to_be_visible()
    wait_idle(page)
    expect(view_radio(page, "Onboarding")).to_be_checked()
    expect(status_chip(page, "Manual review")).to_be_visible()
    expect(status_chip(page, "Rejected")).to_be_visible()
    expect(sidebar(page).get_by_role("combobox", name="Assignee")).to_have_value("Unassigned")
    expect(sidebar(page).get_by_role("textbox", name="Search")).to_have_value("Harbourview")
    expect(sort_box).to_have_value("Entity name Z–A")
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text(second.rows[0].id)

    page.go_back()  # before "Next": page 1
    expect(page.get_by_text(re.compile(r"^Page 1 of 2"))).to_be_visible()
    expect(sort_box).to_have_value("Entity name Z–A")
    expect(page).not_to_have_url(re.compile(r"[?&]page="))


def test_a_link_sets_the_list_and_bad_values_are_named_not_fatal(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst", query="?" + urlencode(
        [("status", "rejected"), ("status", "approved")]))  # as Overview links
    expect(status_chip(page, "Rejected")).to_be_visible()
    expect(status_chip(page, "Approved")).to_be_visible()
    expect(total_line(page, _count(app_db, statuses=("rejected", "approved")))).to_be_visible()
    wait_idle(page)

    bad = [("view", "99999"), ("status", "bogus"), ("status", "rejected"), ("assignee", "boss"),
           ("from", "2024-13-45"), ("sort", "password_hash"), ("order", "up"), ("page", "x"),
           ("q", "Q" * (MAX_SEARCH + 50))]
    page.goto(app_url + "/?" + urlencode(bad))
    main = page.get_by_test_id("stMain")
    for note in ("view 99999 does not exist", "status bogus is not a case status",
                 "assignee boss is not one of", "from date is not a date",
                 "cannot be sorted by password_hash", "order up is not asc or desc",
                 "page x is not a page number", f"Search is limited to {MAX_SEARCH} characters"):
        expect(main.get_by_text(note, exact=False)).to_be_visible()
    expect(status_chip(page, "Rejected")).to_be_visible()  # the good value was kept
    expect(sidebar(page).get_by_role("textbox", name="Search")).to_have_value("Q" * MAX_SEARCH)
    no_app_error(page)
    expect(page).not_to_have_url(re.compile(r"[?&](view|sort|order|page|assignee|from)="))
    assert url_params(page) == {"status": ["rejected"], "q": ["Q" * MAX_SEARCH]}

    page.goto(app_url + "/?q=Thistledown&page=9")  # a page the list does not have (any more)
    expect(main.get_by_text("Page 9 does not exist; showing page 1 of 1.")).to_be_visible()
    expect(total_line(page, 1)).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"[?&]page="))


# --- 6. a deleted view (#18.9) and 7. another role's page (#10) -------------------------------

def test_a_deleted_view_is_named_when_the_list_falls_back(page: Page, app_url, app_db):
    view = save_view(app_db, "German fintechs", [], [
        {"field": "country", "op": "equals", "value": "DE"}], actor="admin")
    sign_in(page, app_url, "analyst")
    pick_view(page, "German fintechs")
    delete_view(app_db, view.id, actor="admin")  # an admin, meanwhile
    search(page, "Thistledown")
    expect(page.get_by_text("The view 'German fintechs' was deleted; showing All cases."))\
        .to_be_visible()
    expect(view_radio(page, "All cases")).to_be_checked()


def test_an_admin_page_by_url_says_so_and_keeps_the_list(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    pick_view(page, "Onboarding")
    search(page, "Harbourview", expect_total=None)
    query = urlencode({"view": _view(app_db, "Onboarding").id, "q": "Harbourview"})  # the URL's
    page.goto(f"{app_url}/admin_users?{query}")  # the address edited by hand
    expect(page.get_by_text("That page needs the admin role.")).to_be_visible()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    expect(view_radio(page, "Onboarding")).to_be_checked()
    expect(sidebar(page).get_by_role("textbox", name="Search")).to_have_value("Harbourview")
    no_app_error(page)


# --- 8. keyboard, wording, layout (#18.10, #18.11) --------------------------------------------

def _focus_cell(page: Page, row: int) -> None:
    """Clicks the ID cell of a row (not its row marker): the cell has the focus, the row is
    not selected."""
    focused = page.locator(f"[data-testid=stDataFrameResizable] td#glide-cell-1-{row}"
                           "[aria-selected=true]")
    # a click is harmless to repeat (it only moves the focus), and on a busy machine the
    # first can reach the grid before it takes clicks
    for _ in range(3):
        table(page).click(position={"x": 60, "y": 36 + 35 * row + 17})
        try:
            expect(focused).to_have_count(1, timeout=10_000)
            return
        except AssertionError:
            continue
    expect(focused).to_have_count(1)


def test_enter_or_space_on_a_focused_row_opens_its_case(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    search(page, "Harbourview", expect_total=None)
    rows = list_cases(app_db, CaseFilter(search="Harbourview"), page=1).rows
    # the grid draws its rows a moment after the run ends: click once row 2 is there
    expect(page.get_by_test_id("glide-cell-1-2").first).to_have_text(rows[2].id)
    _focus_cell(page, 2)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"[?&]case={rows[2].id}\b"))
    expect(page.get_by_role("heading", name=rows[2].entity_name)).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text([rows[2].id])

    _focus_cell(page, 4)
    page.keyboard.press("Space")
    expect(page).to_have_url(re.compile(rf"[?&]case={rows[4].id}\b"))
    expect(page.get_by_role("heading", name=rows[4].entity_name)).to_be_visible()
    wait_idle(page)
    expect(selected(page)).to_have_text([rows[4].id])


def test_the_first_tab_stops_of_the_login_page_lead_to_username(page: Page, app_url):
    page.goto(app_url + "/")
    username = page.get_by_role("textbox", name="Username")
    expect(username).to_be_visible()
    wait_idle(page)
    stops = []
    for _ in range(8):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("""() => { const e = document.activeElement;
            return e.tagName + '|' + (e.getAttribute('aria-label') || ''); }"""))
        if stops[-1] == "INPUT|Username":
            break
    assert stops[-1] == "INPUT|Username", stops
    assert not [s for s in stops if s.startswith("IFRAME") or "Link to heading" in s], stops


def test_one_case_is_one_case(page: Page, app_url):
    sign_in(page, app_url, "analyst")
    search(page, "Thistledown")
    expect(page.get_by_text(re.compile(r"^1 case · showing 1–1$"))).to_be_visible()
    keyed_button(page, "export_prepare").click()
    expect(keyed_link(page, "export_download")).to_have_text(re.compile(r"Download CSV \(1 case\)"))


# Elements of the page the case table's hover toolbar overlaps (the table left out; an element
# with nothing in it, such as the room left for the toolbar, too): "label WxH" each.
COVERED_BY_TOOLBAR = """() => {
  const bar = document.querySelector('[data-testid=stElementToolbar]');
  const a = bar.getBoundingClientRect();
  const covered = [];
  for (const el of document.querySelectorAll(
      '[data-testid=stMain] [data-testid=stElementContainer]')) {
    if (el.contains(bar) || el.querySelector('[data-testid=stDataFrame]')) continue;
    if (!el.innerText.trim() && !el.querySelector('input, button, textarea')) continue;
    const b = el.getBoundingClientRect();
    const x = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const y = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (x > 0 && y > 0) covered.push(el.innerText.trim().slice(0, 40) + ` ${x}x${y}`);
  }
  return covered;
}"""


def hover_toolbar(page: Page):
    """Hovers the case table; returns its toolbar once it has slid to its place (a CSS
    transition of 200 ms from a lower place)."""
    wait_idle(page)
    table(page).hover()
    toolbar = page.get_by_test_id("stElementToolbar").first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()
    page.wait_for_function("""() => { const bar = document.querySelector(
        '[data-testid=stElementToolbar]'); return getComputedStyle(bar).opacity === '1'
        && bar.getAnimations().length === 0; }""")
    return toolbar


def toolbar_covers(page: Page) -> list[str]:
    hover_toolbar(page)
    return page.evaluate(COVERED_BY_TOOLBAR)


def test_the_table_toolbar_covers_nothing_above_the_table(page: Page, app_url):
    """A lead has "Select cases" right above the table, and with it on, the bulk bar: the
    toolbar covered the toggle and the bulk bar's Reject… button (wide list and narrow)."""
    sign_in(page, app_url, "lead")
    assert toolbar_covers(page) == []
    page.get_by_test_id("stMain").locator("[data-testid=stCheckbox]").filter(
        has_text="Select cases").locator("label").first.click()
    expect(keyed_button(page, "bulk_reject")).to_be_visible()
    assert toolbar_covers(page) == []
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(app_url + "/?case=BR-URL")  # a case open: the list in a narrow column
    expect(page.get_by_role("heading", name="Thistledown Linkable Ltd")).to_be_visible()
    assert toolbar_covers(page) == []


def test_the_table_toolbar_leaves_the_sort_box_free(page: Page, app_url):
    sign_in(page, app_url, "analyst")
    sort_box = page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first
    toolbar = hover_toolbar(page)
    a, b = toolbar.bounding_box(), sort_box.bounding_box()
    overlap_x = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
    overlap_y = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
    assert overlap_x <= 0 or overlap_y <= 0, (a, b)


# --- 9. a search longer than its limit (#18.6) ------------------------------------------------

def test_a_pasted_search_over_the_limit_is_cut_with_a_note(page: Page, app_url):
    sign_in(page, app_url, "analyst")
    text = "Thistledown " * 25  # 300 characters
    box = sidebar(page).get_by_role("textbox", name="Search")
    box.click()
    page.keyboard.insert_text(text)  # as a paste does
    box.press("Enter")
    expect(page.get_by_text(f"Search is limited to {MAX_SEARCH} characters")).to_be_visible()
    expect(box).to_have_value(text[:MAX_SEARCH])
    expect(total_line(page, 1)).to_be_visible()
