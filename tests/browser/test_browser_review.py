"""A reviewer's day in a real browser: sign in, pick a view, search, open a case by clicking
its row, take it, approve it; mark a document for re-upload and send the request; sign out.
A shared link (?case=ID) reopens its case."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import (
    AUTH_COOKIE,
    case_button,
    case_status_badge,
    click_row,
    db_status,
    keyed_button,
    list_cell,
    mark_document_for_reupload,
    pick_view,
    search,
    sidebar,
    sign_in,
    wait_for_cookie,
    wait_idle,
)

pytestmark = pytest.mark.browser


def test_reviewer_takes_and_approves_a_manual_review_case(page: Page, app_url, app_db):
    sign_in(page, app_url, "reviewer")
    pick_view(page, "Onboarding")
    search(page, "Quillfeather")
    click_row(page, 0)

    expect(page).to_have_url(re.compile(r"[?&]case=BR-APPROVE\b"))
    expect(page.get_by_role("heading", name="Quillfeather Approvals Ltd")).to_be_visible()
    expect(case_status_badge(page)).to_have_text("Manual review")
    expect(case_button(page, "approve")).to_be_disabled()  # not the assignee yet

    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("Case assigned to you.")).to_be_visible()
    wait_idle(page)
    expect(case_button(page, "approve")).to_be_enabled()

    case_button(page, "approve").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Approve case")).to_be_visible()
    dialog.get_by_role("textbox", name="Reason (optional)").fill("documents in order")
    keyed_button(page, "dialog_confirm").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Case approved.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Approved")
    expect(list_cell(page, 6)).to_have_text("Approved")  # the list refreshed too
    expect(case_button(page, "approve")).to_be_disabled()  # final
    assert db_status(app_db, "BR-APPROVE") == "approved"


def test_reviewer_asks_for_a_reupload_and_the_case_goes_to_revisions(page: Page, app_url, app_db):
    sign_in(page, app_url, "reviewer")
    search(page, "Marblewood")
    click_row(page, 0)
    expect(page.get_by_role("heading", name="Marblewood Reuploads Ltd")).to_be_visible()
    expect(case_button(page, "ask_for_reuploads")).to_have_text(
        re.compile(r"Ask for all re-uploads \(0\)"))
    expect(case_button(page, "ask_for_reuploads")).to_be_disabled()

    mark_document_for_reupload(page, "Certificate of incorporation", "Expired document",
                               "expired in 2023")

    ask = case_button(page, "ask_for_reuploads")
    expect(ask).to_have_text(re.compile(r"Ask for all re-uploads \(1\)"))
    expect(ask).to_be_enabled()
    expect(case_button(page, "approve")).to_be_disabled()  # refused while a block needs re-upload
    ask.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("re-upload the 1 block marked")).to_be_visible()
    keyed_button(page, "dialog_confirm").click()

    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Re-upload request sent.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Revisions")
    expect(list_cell(page, 6)).to_have_text("Revisions")
    assert db_status(app_db, "BR-REUPLOAD") == "revisions"


def test_sign_out_returns_to_the_login_form(page: Page, app_url):
    sign_in(page, app_url, "reviewer")
    wait_for_cookie(page, AUTH_COOKIE, present=True)
    expect(sidebar(page).get_by_text("Rui Reviewer")).to_be_visible()
    sidebar(page).get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    expect(page.get_by_role("button", name="Login")).to_be_visible()
    expect(page.get_by_role("heading", name="Cases")).to_have_count(0)
    wait_for_cookie(page, AUTH_COOKIE, present=False)  # the sign-in cookie is deleted
    page.reload()  # ...so a reload stays signed out
    expect(page.get_by_role("textbox", name="Username")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("heading", name="Cases")).to_have_count(0)


def test_a_case_link_opens_that_case_after_sign_in_and_reload(page: Page, app_url):
    sign_in(page, app_url, "reviewer", query="?case=BR-URL")
    expect(page.get_by_role("heading", name="Thistledown Linkable Ltd")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]case=BR-URL\b"))
    wait_for_cookie(page, AUTH_COOKIE, present=True)
    page.reload()  # the cookie signs the reviewer in again; the URL keeps the case
    expect(page.get_by_role("heading", name="Thistledown Linkable Ltd")).to_be_visible()
    expect(page.get_by_role("textbox", name="Username")).to_have_count(0)


def test_reloading_another_page_keeps_that_page(page: Page, app_url):
    """The first run after a reload is signed out until the cookie is read: the page's address
    must survive it (the signed-out router knows every page path, all showing the sign-in)."""
    sign_in(page, app_url, "analyst")
    wait_for_cookie(page, AUTH_COOKIE, present=True)
    sidebar(page).get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/overview\b"))
    wait_idle(page)
    page.reload()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"/overview\b"))
