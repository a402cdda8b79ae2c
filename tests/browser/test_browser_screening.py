"""Screening hits in a real browser (issue #14, part 1): a case whose UBO has a hit — Approve
off with the reason, the hit dispositioned false positive with a reason, Approve on; a
rescreen returning the same entry keeps it cleared ("cleared before by …"); one returning a
changed entry re-opens it; decided again, the case is approved.

The case is BR-SCREEN of tests/browser/conftest.py (the reviewer's, its blocks reviewed, its
UBO screened with one open hit); the rescreens go through core, as a vendor's would."""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.screening.hits import record_screening
from core.store.models import ScreeningHit
from tests.browser.conftest import SCREEN_ENTRY
from tests.browser.helpers import (
    case_button,
    case_status_badge,
    choose,
    click_until,
    db_status,
    keyed_button,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

CASE_ID, NAME, UBO = "BR-SCREEN", "Oxwickham Screening Ltd", "Ilse Varga"
OPEN = "Approve is refused while 1 screening hit is open"
FIRST_REASON = "Listed person born 1958 in Minsk; our UBO was born 1985 in Leeds"


def open_case(page: Page, app_url: str) -> None:
    page.goto(f"{app_url}/?case={CASE_ID}")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    wait_idle(page)


def reasons(page: Page):
    return page.locator(".st-key-case_action_reasons:not([data-stale=true])")


def hit_box(page: Page, hit_id: int):
    return page.locator(f".st-key-hit_{hit_id}:not([data-stale=true])")


def show_hits(page: Page, hit_id: int, state: str) -> None:
    """Opens the UBO's Screening block (its label says how many hits are open)."""
    block = page.get_by_test_id("stExpander").filter(has_text=f"Screening · UBO · {UBO} · {state}")
    expect(block).to_be_visible()
    click_until(page, block.locator("summary"), hit_box(page, hit_id))


def dispose(page: Page, hit_id: int, reason: str) -> None:
    box = hit_box(page, hit_id)
    choose(page, box.get_by_role("combobox", name="Disposition"), "False positive")
    box.get_by_role("textbox", name="Reason").fill(reason)
    # clicked again if the click was dropped: the same decision twice changes nothing
    click_until(page, box.get_by_role("button", name="Save decision"),
                box.get_by_text("Hit marked false positive."))


def rescreen(db, subject: str, entry: dict) -> None:
    record_screening(db, CASE_ID, subject, "worldcheck", [entry], actor="system")


def test_a_ubo_hit_is_dispositioned_kept_through_a_rescreen_and_reopened(page: Page, app_url,
                                                                        app_db):
    with app_db.read() as s:
        hit = s.scalars(select(ScreeningHit).where(ScreeningHit.case_id == CASE_ID)).one()
    hit_id, subject = hit.id, hit.subject_key

    # the hit holds Approve back, and the preview says why
    sign_in(page, app_url, "reviewer", query=f"?case={CASE_ID}")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    wait_idle(page)
    expect(case_button(page, "approve")).to_be_disabled()
    expect(reasons(page)).to_contain_text(OPEN)
    show_hits(page, hit_id, "1 open")
    expect(hit_box(page, hit_id)).to_contain_text("OFAC SDN")

    # a false positive, with its reason: Approve is on
    dispose(page, hit_id, FIRST_REASON)
    expect(case_button(page, "approve")).to_be_enabled()
    expect(reasons(page)).not_to_contain_text(OPEN)

    # the next screening returns the same entry for the same person: still cleared
    rescreen(app_db, subject, {**SCREEN_ENTRY, "score": 85})
    open_case(page, app_url)
    expect(case_button(page, "approve")).to_be_enabled()
    show_hits(page, hit_id, "no open hits")
    expect(hit_box(page, hit_id)).to_contain_text("Cleared before by reviewer on ")
    expect(hit_box(page, hit_id)).to_contain_text(FIRST_REASON)

    # a screening whose entry changed (a new birth date on the list) re-opens it
    rescreen(app_db, subject, {**SCREEN_ENTRY, "birth_dates": ["1985-04-02"]})
    open_case(page, app_url)
    expect(case_button(page, "approve")).to_be_disabled()
    expect(reasons(page)).to_contain_text(OPEN)
    show_hits(page, hit_id, "1 open")
    expect(hit_box(page, hit_id)).not_to_contain_text("Cleared before")

    # decided again on the changed entry, the case is approved
    dispose(page, hit_id, "Same birth date now, but the passport numbers differ")
    approve = case_button(page, "approve")
    expect(approve).to_be_enabled()
    click_until(page, approve, page.get_by_role("dialog"))
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Case approved.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Approved")
    assert db_status(app_db, CASE_ID) == "approved"
    with app_db.read() as s:
        decided = s.get(ScreeningHit, hit_id)
    assert (decided.disposition, decided.disposed_by) == ("false_positive", "reviewer")
