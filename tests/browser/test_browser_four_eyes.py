"""Four-eyes approval and the team lead in a real browser (issue #10.3, #10.4, #10.7): two
users in two browser contexts give approval 1 then 2; the lead's Workload page reassigns a
case; the A shortcut opens the Approve dialog.

The cases are this module's own: a workflow whose four-eyes rule asks two approvers for
Iranian entities, written through core before the tests sign in."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.models import Case, CaseApproval, OutboxMessage
from core.workflows import admin as wa
from tests.browser.helpers import (
    PASSWORDS,
    case_button,
    case_status_badge,
    choose,
    keyed_button,
    open_page,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

PASSWORDS.setdefault("lead", "demo-lead-pass")  # the demo team lead (core/access/users.py)
WORKFLOW = "four_eyes_browser"
TWO_EYES = ("BR-4E-PAIR", "Zephyrine Foureyes Ltd")
WORKLOAD = ("BR-4E-WORKLOAD", "Quillon Workload Ltd")


def _version(db, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


@pytest.fixture(scope="module")
def four_eyes_cases(app_db):
    definition = wa.new_definition(WORKFLOW, "Four eyes (browser tests)")
    definition["document_types"] = {"certificate_of_incorporation": "Certificate of incorporation"}
    definition["four_eyes"] = {"countries": ["IR"]}
    wa.save_workflow(app_db, definition, actor="admin", create=True)
    cases = [{"id": case_id, "workflow": WORKFLOW, "collection_completed": True,
              "entity": {"type": "business", "name": name, "country": "IR",
                         "email": "owner@example.com"},
              "user_data": {"industry": "shipping"}}
             for case_id, name in (TWO_EYES, WORKLOAD)]
    import_cases(app_db, {"format_version": 1, "cases": cases}, actor="browser-tests")
    case_actions.assign_case(app_db, TWO_EYES[0], "reviewer", actor="reviewer",
                             expected_version=_version(app_db, TWO_EYES[0]))
    case_actions.assign_case(app_db, WORKLOAD[0], "lead", actor="lead",
                             expected_version=_version(app_db, WORKLOAD[0]))
    return app_db


def open_case(page: Page, app_url: str, user: str, case: tuple[str, str]) -> None:
    sign_in(page, app_url, user, query=f"?case={case[0]}")
    expect(page.get_by_role("heading", name=case[1])).to_be_visible()
    wait_idle(page)


def approvals_box(page: Page):
    return page.locator(".st-key-case_approvals:not([data-stale=true])")


def reasons(page: Page):
    return page.locator(".st-key-case_action_reasons:not([data-stale=true])")


def test_four_eyes_with_two_users(page: Page, browser: Browser, app_url, four_eyes_cases):
    db = four_eyes_cases
    case_id = TWO_EYES[0]
    # the assignee gives approval 1 of 2, opening the dialog with the A shortcut
    open_case(page, app_url, "reviewer", TWO_EYES)
    expect(case_button(page, "approve")).to_contain_text("Approve (1 of 2)")
    page.locator("body").press("a")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("This is approval 1 of 2")
    expect(dialog).to_contain_text("country IR is on the four-eyes list")
    dialog.get_by_role("textbox", name="Reason (optional)").fill("registry and UBOs checked")
    keyed_button(page, "dialog_confirm").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("Approval 1 of 2 recorded.")).to_be_visible()
    wait_idle(page)
    expect(approvals_box(page)).to_contain_text("Approval 1 of 2 by reviewer")
    expect(approvals_box(page)).to_contain_text("Waiting for a second approver")
    expect(case_status_badge(page)).to_have_text("Manual review")
    expect(case_button(page, "approve")).to_be_disabled()
    expect(reasons(page)).to_contain_text("You gave approval 1 of 2")
    with db.read() as s:
        assert s.get(Case, case_id).case_status == "manual_review"
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all() == []

    # a second reviewer, in a browser context of their own, gives the final approval
    other = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
    try:
        open_case(other, app_url, "reviewer2", TWO_EYES)
        expect(approvals_box(other)).to_contain_text("Approval 1 of 2 by reviewer")
        approve = case_button(other, "approve")
        expect(approve).to_contain_text("Approve (2 of 2)")
        expect(approve).to_be_enabled()  # not the assignee: a second approver need not be
        approve.click()
        dialog = other.get_by_role("dialog")
        expect(dialog).to_contain_text("This is the final approval (2 of 2)")
        expect(dialog).to_contain_text("approval 1 was given by reviewer")
        keyed_button(other, "dialog_confirm").click()
        expect(other.get_by_text("Case approved (approval 2 of 2).")).to_be_visible()
        wait_idle(other)
        expect(case_status_badge(other)).to_have_text("Approved")
        expect(approvals_box(other)).to_contain_text("Approval 2 of 2 by reviewer2")
    finally:
        other.context.close()
    with db.read() as s:
        case = s.get(Case, case_id)
        assert (case.case_status, case.decided_by) == ("approved", "reviewer2")
        steps = s.execute(select(CaseApproval.step, CaseApproval.approver)
                          .where(CaseApproval.case_id == case_id)
                          .order_by(CaseApproval.step)).all()
        assert [tuple(r) for r in steps] == [(1, "reviewer"), (2, "reviewer2")]
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
        assert rows and {r.event_type for r in rows} == {"case.approved"}


def test_the_lead_reassigns_a_case_from_the_workload_page(page: Page, app_url,
                                                          four_eyes_cases):
    db = four_eyes_cases
    sign_in(page, app_url, "lead")
    open_page(page, "Workload")
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    choose(page, page.get_by_role("combobox", name="From"), "Lena Lead (lead) · 1 open")
    case = page.get_by_role("combobox", name="Case (most urgent first)")
    expect(case).to_have_value(re.compile(rf"^{WORKLOAD[0]} · {WORKLOAD[1]} · Manual review"))
    choose(page, page.get_by_role("combobox", name="To"), "Rita Reviewer (reviewer2)")
    keyed_button(page, "wl_reassign").click()
    expect(page.get_by_text(f"Case {WORKLOAD[0]} reassigned to reviewer2.")).to_be_visible()
    with db.read() as s:
        assert s.get(Case, WORKLOAD[0]).assignee == "reviewer2"


def test_a_reviewer_cannot_open_the_workload_page(page: Page, app_url, four_eyes_cases):
    sign_in(page, app_url, "reviewer", query="")
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_role("link", name="Cases", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Workload", exact=True)).to_have_count(0)
