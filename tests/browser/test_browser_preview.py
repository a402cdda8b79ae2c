"""The case preview in a real browser (issues #10 and #18): undo restores a prior approval,
Approve waits for every block to be reviewed, refusals are read in words where one looks,
a refused edit keeps what was typed, over-long text is never dropped silently; and the
regressions of #18.12 (escaping, simultaneous takes, disabled users, keyboard, Back).

Every test works on its own case (tests/browser/conftest.py CASES), opened by its link."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import delete as delete_rows
from sqlalchemy import select

from core.access.users import add_user, set_disabled
from core.cases import actions as case_actions
from core.errors import InvalidInput
from core.intake.importer import import_cases
from core.store.models import Case, Document, Note
from core.store.worklist_models import SavedFilter
from tests.browser.conftest import _case
from tests.browser.helpers import (
    HOSTILE,
    case_button,
    case_status_badge,
    choose,
    click_row,
    click_until,
    keyed_button,
    list_cell,
    search,
    sidebar,
    sign_in,
    wait_idle,
)
from tests.browser.test_browser_safety import WATCH_INJECTED
from ui.text import when

pytestmark = pytest.mark.browser

DOCUMENT = "Certificate of incorporation"
MARKUP = "**bold** _it_ [link](https://evil.example) <script>alert(2)</script> :red[red]"
CHANGED = "Someone changed this case while you were editing"
VERSION_TALK = re.compile(r"at version \d|acted on version \d|case changed, reload")


# --- helpers ---------------------------------------------------------------------------------

def open_case(page: Page, app_url: str, user: str, case_id: str, name: str) -> None:
    sign_in(page, app_url, user, query=f"?case={case_id}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    wait_idle(page)


def block(page: Page, label: str = DOCUMENT):
    """The expander of a document block (opened if it is closed)."""
    expander = page.get_by_test_id("stExpander").filter(
        has=page.locator("summary", has_text=label))
    details = expander.locator("details").first
    wait_idle(page)
    if details.get_attribute("open") is None:
        expander.locator("summary").first.click()
    expect(details).to_have_attribute("open", "")
    wait_idle(page)  # opening a (keyed) expander reruns the page: a click meanwhile is lost
    return expander


def review_of(db, case_id: str) -> tuple:
    with db.read() as s:
        d = s.scalars(select(Document).where(Document.case_id == case_id)).one()
        return d.block_status, d.reviewed_by, d.reviewed_at, d.reupload_reason


def version_of(db, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


def ask_to_reupload(page: Page, expander, reason: str, details: str) -> None:
    form = expander.get_by_test_id("stForm")
    choose(page, form.get_by_role("combobox", name="Re-upload reason"), reason)
    form.get_by_role("textbox", name="Details").fill(details)
    form.get_by_role("button", name="Ask to re-upload").click()


def notes(page: Page):
    """The notes shown in the preview (not the timeline, which quotes them too)."""
    return page.locator(".st-key-case_notes:not([data-stale=true])")


def reasons(page: Page):
    """The line(s) under the case actions saying why an action is not available."""
    return page.locator(".st-key-case_action_reasons:not([data-stale=true])")


# --- #10: undo, approval rule, visible reasons -------------------------------------------------

def test_undo_of_a_reupload_request_restores_the_prior_approval(page: Page, app_url, app_db):
    open_case(page, app_url, "reviewer", "BR-UNDO", "Cobblestone Undo Ltd")
    block(page).get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Block approved.")).to_be_visible()
    wait_idle(page)
    approved = review_of(app_db, "BR-UNDO")
    assert approved[:2] == ("approved", "reviewer") and approved[2] is not None

    ask_to_reupload(page, block(page), "Expired document", "expired in 2023")
    expect(page.get_by_text('Marked "Re-upload needed".')).to_be_visible()
    wait_idle(page)
    assert review_of(app_db, "BR-UNDO")[0] == "reupload_needed"

    block(page).get_by_role("button", name="Undo re-upload request").click()
    expect(page.get_by_text("Re-upload request undone.")).to_be_visible()
    wait_idle(page)
    restored = block(page)
    expect(restored.locator("summary")).to_contain_text("Approved")
    expect(restored.get_by_text(f"Reviewed by reviewer on {when(approved[2])}")).to_be_visible()
    assert review_of(app_db, "BR-UNDO") == approved  # status, who, when: exactly as before


def test_approve_waits_until_every_block_is_reviewed_and_says_which(page: Page, app_url):
    open_case(page, app_url, "reviewer", "BR-UNREVIEWED", "Gorsebrook Unreviewed Ltd")
    expect(case_button(page, "approve")).to_be_disabled()
    expect(reasons(page)).to_contain_text("Approve")
    expect(reasons(page)).to_contain_text(DOCUMENT)          # names the block not reviewed
    expect(reasons(page)).to_contain_text("awaiting review")

    block(page).get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("Block approved.")).to_be_visible()
    wait_idle(page)
    expect(case_button(page, "approve")).to_be_enabled()
    expect(reasons(page).get_by_text("Approve")).to_have_count(0)


def test_the_approve_dialog_lists_the_blocks_not_yet_reviewed(page: Page, app_url):
    """Ongoing monitoring does not require every block reviewed: Approve is allowed, and its
    dialog says which blocks nobody has reviewed."""
    open_case(page, app_url, "reviewer", "BR-MONITOR", "Heronsgate Monitoring Ltd")
    case_button(page, "approve").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Approve case")).to_be_visible()
    expect(dialog).to_contain_text("not reviewed yet")
    expect(dialog).to_contain_text(f"{DOCUMENT} (Awaiting review)")
    keyed_button(page, "dialog_cancel").click()
    expect(dialog).to_be_hidden()


def test_a_reviewer_reads_why_the_actions_are_off_without_hovering(page: Page, app_url):
    open_case(page, app_url, "reviewer", "BR-READONLY", "Nettlecombe Readonly Ltd")
    expect(case_button(page, "approve")).to_be_disabled()
    expect(reasons(page)).to_be_visible()
    expect(reasons(page)).to_contain_text("Assign the case to yourself first")


def test_an_analyst_reads_in_one_line_that_the_case_is_read_only(page: Page, app_url):
    open_case(page, app_url, "analyst", "BR-READONLY", "Nettlecombe Readonly Ltd")
    for action in ("approve", "reject", "ask_for_reuploads"):
        expect(case_button(page, action)).to_be_disabled()
    line = reasons(page)
    expect(line).to_have_text("Read-only: analysts can view cases but not act on them")


# --- #18.4/#18.11: refusals where one looks, in words ---------------------------------------

def test_a_refused_edit_keeps_the_typed_values_and_says_what_changed_next_to_save(
        page: Page, app_url, app_db):
    open_case(page, app_url, "reviewer", "BR-CONFLICT", "Pebblecroft Conflict Ltd")
    industry = page.get_by_role("textbox", name="industry", exact=True)
    industry.fill("shipping and logistics")
    case_actions.add_note(app_db, "BR-CONFLICT", "Called the applicant", actor="reviewer2",
                          expected_version=version_of(app_db, "BR-CONFLICT"))  # meanwhile
    page.get_by_role("button", name="Save changes").first.click()

    form = page.get_by_test_id("stForm").filter(
        has=page.get_by_role("textbox", name="industry", exact=True))
    expect(form.get_by_text(CHANGED)).to_be_visible()          # next to Save, in words
    expect(form).to_contain_text("reviewer2 added a note")     # what changed since
    expect(page.get_by_text(VERSION_TALK)).to_have_count(0)
    expect(industry).to_have_value("shipping and logistics")   # what was typed is kept
    with app_db.read() as s:
        assert s.get(Case, "BR-CONFLICT").user_data["industry"] == "trading"

    wait_idle(page)  # during a run the form can briefly hold the old button beside the new
    form.get_by_role("button", name="Save changes").first.click()  # reviewed: save again
    expect(page.get_by_text("Saved 1 change.")).to_be_visible()
    wait_idle(page)
    with app_db.read() as s:
        assert s.get(Case, "BR-CONFLICT").user_data["industry"] == "shipping and logistics"
    expect(page.get_by_text(CHANGED)).to_have_count(0)


def test_block_action_confirmations_show_next_to_the_blocks_buttons(page: Page, app_url):
    open_case(page, app_url, "reviewer", "BR-BLOCKMSG", "Alderbank Messages Ltd")
    block(page).get_by_role("button", name="Approve", exact=True).click()
    expect(block(page).get_by_text("Block approved.")).to_be_visible()


def test_the_second_of_two_simultaneous_takes_gets_a_conflict_with_reload(
        page: Page, browser: Browser, browser_context_args, app_url, app_db):
    with app_db.read() as s:
        taken = s.get(Case, "BR-RACE").assignee is not None
    if taken:  # a rerun of this test: the first try's take is undone (by the admin)
        case_actions.assign_case(app_db, "BR-RACE", None, actor="admin",
                                 expected_version=version_of(app_db, "BR-RACE"))
    other = browser.new_context(**browser_context_args).new_page()
    other.set_default_timeout(60_000)
    open_case(page, app_url, "reviewer", "BR-RACE", "Tamarisk Race Ltd")
    open_case(other, app_url, "reviewer2", "BR-RACE", "Tamarisk Race Ltd")

    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Case assigned to you.")).to_be_visible()
    other.get_by_role("button", name="Assign to me").click()
    expect(other.get_by_text("This case changed since you opened it")).to_be_visible()
    expect(other.get_by_text(VERSION_TALK)).to_have_count(0)
    other.get_by_role("button", name="Reload case").click()
    expect(other.get_by_text("Assignee: reviewer")).to_be_visible()
    expect(other.get_by_role("button", name="Assign to me")).to_have_count(0)
    with app_db.read() as s:
        assert s.get(Case, "BR-RACE").assignee == "reviewer"
    other.context.close()


# --- #18.6: field limits -------------------------------------------------------------------------

def test_text_past_a_fields_limit_is_kept_and_refused_in_words(page: Page, app_url, app_db):
    open_case(page, app_url, "reviewer", "BR-LIMITS", "Rushmere Limits Ltd")
    note = page.get_by_role("textbox", name="Add a note")
    note.fill("n" * 10_050)                       # as a paste does: one long insertion
    expect(note).to_have_value("n" * 10_050)     # never silently dropped
    page.get_by_role("button", name="Add note").click()
    notes_form = page.get_by_test_id("stForm").filter(has=page.get_by_role("textbox",
                                                                            name="Add a note"))
    expect(notes_form.get_by_text(re.compile(r"at most 10,000 characters"))).to_be_visible()
    expect(note).to_have_value("n" * 10_050)

    industry = page.get_by_role("textbox", name="industry", exact=True)
    industry.fill("i" * 10_001)
    expect(industry).to_have_value("i" * 10_001)
    page.get_by_role("button", name="Save changes").first.click()
    edit_form = page.get_by_test_id("stForm").filter(has=industry)
    expect(edit_form.get_by_text(re.compile(r"at most 10,000 characters"))).to_be_visible()
    expect(industry).to_have_value("i" * 10_001)

    expander = block(page)
    details = expander.get_by_role("textbox", name="Details")
    details.fill("d" * 2_001)
    expect(details).to_have_value("d" * 2_001)
    ask_to_reupload(page, expander, "Missing page", "d" * 2_001)
    expect(block(page).get_by_text(re.compile(r"at most 2,000 characters"))).to_be_visible()

    case_button(page, "reject").click()
    dialog = page.get_by_role("dialog")
    reason = dialog.get_by_role("textbox", name="Reason (required)")
    reason.fill("r" * 2_001)
    expect(reason).to_have_value("r" * 2_001)
    keyed_button(page, "dialog_confirm").click()
    expect(dialog.get_by_text(re.compile(r"at most 2,000 characters"))).to_be_visible()
    expect(reason).to_have_value("r" * 2_001)
    with app_db.read() as s:
        assert s.get(Case, "BR-LIMITS").decision is None
        assert s.scalars(select(Note).where(Note.case_id == "BR-LIMITS")).first() is None
    assert review_of(app_db, "BR-LIMITS")[0] is None


# --- #18.12: regressions -------------------------------------------------------------------------

def test_free_text_of_the_preview_is_shown_as_text(page: Page, app_url, app_db):
    """Notes, reasons and edited values holding HTML, script and Markdown show as typed."""
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    page.add_init_script(WATCH_INJECTED)
    open_case(page, app_url, "reviewer", "BR-ESCAPE", "Sedgemoor Escaping Ltd")
    hostile = f"{HOSTILE} {MARKUP}"

    page.get_by_role("textbox", name="Add a note").fill(hostile)
    page.get_by_role("button", name="Add note").click()
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(notes(page).get_by_text(hostile, exact=True)).to_be_visible()

    page.get_by_role("textbox", name="industry", exact=True).fill(hostile)
    page.get_by_role("button", name="Save changes").first.click()
    expect(page.get_by_text("Saved 1 change.")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("textbox", name="industry", exact=True)).to_have_value(hostile)

    ask_to_reupload(page, block(page), "Missing page", hostile)
    expect(page.get_by_text('Marked "Re-upload needed".')).to_be_visible()
    expect(block(page).get_by_text(f"Re-upload reason: Missing page: {hostile}",
                                   exact=True)).to_be_visible()

    case_button(page, "reject").click()
    page.get_by_role("dialog").get_by_role("textbox", name="Reason (required)").fill(hostile)
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Case rejected.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Rejected")
    expect(page.get_by_text(re.compile(r"^Rejected by reviewer on "))).to_be_visible()
    expect(page.get_by_text(f"Reason: {hostile}", exact=True)).to_be_visible()

    main = page.get_by_test_id("stMain")
    assert main.locator("a[href*='evil.example']").count() == 0
    assert main.locator("strong", has_text="bold").count() == 0
    assert main.locator("script").count() == 0
    assert page.evaluate("window.__injected") == []
    assert page.evaluate("window.__alerts") == [] and alerts == []


def test_a_disabled_user_is_signed_out_at_their_next_click(page: Page, app_url, app_db):
    try:
        add_user(app_db, "paused-reviewer", "Pia Paused", "reviewer", "paused-reviewer-pass")
    except InvalidInput:                     # a rerun of this test: the user is there, disabled
        set_disabled(app_db, "paused-reviewer", False)
    page.goto(app_url + "/")
    page.get_by_role("textbox", name="Username").fill("paused-reviewer")
    page.get_by_role("textbox", name="Password").fill("paused-reviewer-pass")
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    expect(sidebar(page).get_by_text("Pia Paused")).to_be_visible()
    wait_idle(page)

    set_disabled(app_db, "paused-reviewer", True)
    # the next click (made in the page at once: a rerun the app starts by itself, if any,
    # signs the user out first and removes the link, which is as good)
    # (clicked again while no sign-in form shows: a click dropped while the app finished a
    # run must not leave the test waiting for a rerun nobody asked for)
    username = page.get_by_role("textbox", name="Username")
    for _ in range(20):
        page.evaluate("""() => { const link = document.querySelector(
            '[data-testid=stSidebarNavLink][href$="/overview"]'); if (link) link.click(); }""")
        try:
            expect(username).to_be_visible(timeout=1_500)
            break
        except AssertionError:
            continue
    expect(username).to_be_visible()
    expect(page.get_by_text("Your account is disabled")).to_be_visible()
    expect(page.get_by_role("heading", name="Cases")).to_have_count(0)


def test_escape_closes_a_dialog_and_gives_the_focus_back(page: Page, app_url, app_db):
    open_case(page, app_url, "reviewer", "BR-ESC", "Umberleigh Dialog Ltd")
    case_button(page, "reject").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Reject case")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    wait_idle(page)
    expect(case_button(page, "reject")).to_be_focused()
    page.keyboard.press("Enter")                 # the focus is where it was: it opens again
    expect(page.get_by_role("dialog").get_by_text("Reject case")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    with app_db.read() as s:
        assert s.get(Case, "BR-ESC").decision is None


def test_ctrl_enter_adds_a_note(page: Page, app_url, app_db):
    open_case(page, app_url, "reviewer", "BR-NOTEKEY", "Verbena Notes Ltd")
    note = page.get_by_role("textbox", name="Add a note")
    note.fill("Checked the registry by phone")
    note.press("Control+Enter")
    expect(page.get_by_text("Note added.")).to_be_visible()
    expect(notes(page).get_by_text("Checked the registry by phone", exact=True)).to_be_visible()
    expect(note).to_have_value("")
    with app_db.read() as s:
        assert [n.body for n in s.scalars(select(Note).where(Note.case_id == "BR-NOTEKEY"))] \
            == ["Checked the registry by phone"]


def test_back_reopens_the_previous_case(page: Page, app_url):
    open_case(page, app_url, "reviewer", "BR-BACK-1", "Wychwood Previous Ltd")
    search(page, "Yarrowdale", expect_total=None)
    expect(list_cell(page, 1)).to_have_text("BR-BACK-2")   # the only case found
    wait_idle(page)
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Yarrowdale Next Ltd")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]case=BR-BACK-2\b"))
    wait_idle(page)
    page.go_back()
    expect(page.get_by_role("heading", name="Wychwood Previous Ltd")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]case=BR-BACK-1\b"))


def test_tags_and_saved_view_names_are_shown_as_text(page: Page, app_url, app_db):
    """Two more free-text fields a user types and others see: a case's tags (chips, the
    timeline, the sidebar's Tags filter) and a saved view's name ("My views")."""
    with app_db.read() as s:
        case = s.get(Case, "BR-TAGTEXT")
    if case is None:
        import_cases(app_db, {"format_version": 1, "cases": [
            _case("BR-TAGTEXT", "Foxglove Tagtext Ltd")]}, actor="browser-tests")
        case_actions.assign_case(app_db, "BR-TAGTEXT", "reviewer2", actor="admin",
                                 expected_version=version_of(app_db, "BR-TAGTEXT"))
    with app_db.unit_of_work() as s:  # a rerun: the first try's saved view goes
        s.execute(delete_rows(SavedFilter).where(SavedFilter.owner == "reviewer2"))
    alerts: list[str] = []
    page.on("dialog", lambda d: (alerts.append(d.message), d.dismiss()))
    page.add_init_script(WATCH_INJECTED)
    open_case(page, app_url, "reviewer2", "BR-TAGTEXT", "Foxglove Tagtext Ltd")

    markup_tag = "**bold** [x](https://evil.example) :red[r]"
    box = page.get_by_role("textbox", name="New tag")
    for tag in (HOSTILE, markup_tag):
        click_until(page, keyed_button(page, "tag_add_menu"), box)
        box.fill(tag)
        box.press("Enter")
        expect(page.get_by_test_id("stPopoverBody").get_by_text(
            re.compile(r"^(Tag .* added\.|The case already has the tag .*)$"))).to_be_visible()
        page.keyboard.press("Escape")
        wait_idle(page)
    tags_row = page.locator(".st-key-case_tags:not([data-stale=true])")
    expect(tags_row.get_by_role("button", name=HOSTILE)).to_be_visible()
    expect(tags_row.get_by_role("button", name=markup_tag)).to_be_visible()
    expect(page.locator(".st-key-case_timeline").get_by_text(
        f"reviewer2 tagged the case {markup_tag}", exact=True)).to_be_visible()

    view_name = f"**mine** {HOSTILE}"
    name = page.get_by_role("textbox", name="Name")
    click_until(page, sidebar(page).get_by_role("button", name="Save current filters"), name)
    name.fill(view_name)
    name.press("Enter")
    expect(sidebar(page).get_by_text(f"Saved as '{view_name}'.", exact=True)).to_be_visible()
    page.keyboard.press("Escape")
    expect(keyed_button(page, "my_views").filter(has_text=view_name).first).to_be_visible()

    for where in (page.get_by_test_id("stMain"), sidebar(page)):
        assert where.locator("a[href*='evil.example']").count() == 0
        assert where.locator("strong", has_text=re.compile("^(bold|mine)$")).count() == 0
    assert page.evaluate("window.__injected") == []
    assert page.evaluate("window.__alerts") == [] and alerts == []
