"""Related cases in a real browser (issue #14, part 4): a case of a ring (three companies
behind one owner, one of them rejected) shows "Related cases (2)" with what it shares, and
the other case opens from it in the preview, the URL following.

The ring is this test's own (BR-RING-*), pushed through core like any API push: idempotent
by case id, so a rerun in the same session finds it as it left it (the test changes nothing).
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.cases import actions as case_actions
from core.intake.importer import push_cases
from core.store.db import Database
from tests.browser.helpers import click_until, db_status, keyed_button, sign_in, wait_idle
from tests.factories import version_of

pytestmark = pytest.mark.browser

OWNER = {"full_name": "Philippa Ravensworth", "date_of_birth": "1966-08-17", "nationality": "GB",
         "kyc": {"state": "completed", "result": {"outcome": "clear"}}}
RING = {"BR-RING-1": "Quarrymoor Ring Trading Ltd", "BR-RING-2": "Sallowbank Ring Ltd",
        "BR-RING-3": "Tidewater Ring Holdings Ltd"}


def _ring(db: Database) -> None:
    cases = [{"id": case_id, "workflow": "onboarding", "collection_completed": True,
              "entity": {"type": "business", "name": name, "country": "GB",
                         "email": f"{case_id.lower()}@ring.example"},
              "ubos": [OWNER]} for case_id, name in RING.items()]
    push_cases(db, {"cases": cases}, actor="admin")
    if db_status(db, "BR-RING-3") != "rejected":
        case_actions.assign_case(db, "BR-RING-3", "reviewer", actor="reviewer",
                                 expected_version=version_of(db, "BR-RING-3"))
        case_actions.reject_case(db, "BR-RING-3", actor="reviewer", reason="ring member",
                                 expected_version=version_of(db, "BR-RING-3"))


def related_box(page: Page, case_id: str):
    return page.locator(f".st-key-related_{case_id}:not([data-stale=true])")


def test_a_ring_case_shows_its_related_cases_and_opens_one(page: Page, app_url: str,
                                                           app_db: Database):
    _ring(app_db)
    sign_in(page, app_url, "analyst", query="?case=BR-RING-1")
    expect(page.get_by_role("heading", name=RING["BR-RING-1"])).to_be_visible()
    wait_idle(page)
    panel = page.get_by_test_id("stExpander").filter(has_text="Related cases (2)")
    expect(panel).to_be_visible()
    click_until(page, panel.locator("summary"), related_box(page, "BR-RING-3"))
    rejected = related_box(page, "BR-RING-3")
    expect(rejected).to_contain_text(RING["BR-RING-3"])
    expect(rejected).to_contain_text("Rejected")
    expect(rejected).to_contain_text("Person (name and birth date): Philippa Ravensworth, "
                                     "born 1966-08-17")
    expect(related_box(page, "BR-RING-2")).to_contain_text(RING["BR-RING-2"])

    click_until(page, keyed_button(page, "related_open_BR-RING-2"),
                page.get_by_role("heading", name=RING["BR-RING-2"]))
    expect(page).to_have_url(re.compile(r"[?&]case=BR-RING-2\b"))
    expect(page.get_by_test_id("stExpander").filter(has_text="Related cases (2)")).to_be_visible()
