"""What must not happen in a real browser: an analyst acting on a case, or a hostile case
name running script. "Nothing happened" is checked after a known point (a rerun asked for
afterwards has ended; a DOM observer saw every element ever inserted), never after a pause."""
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

# Records every value of the app's script-run state from now on.
WATCH_RUNS = """() => {
    const app = document.querySelector('[data-testid=stApp]');
    window.__scriptStates = [];
    new MutationObserver(() => window.__scriptStates.push(app.getAttribute('data-test-script-state')))
        .observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""

# True once a run has been asked for or started since the watch, and has ended.
RUN_ENDED = """() => {
    const states = window.__scriptStates;
    const left = states.findIndex(v => v !== 'notRunning');
    return left >= 0 && states.slice(left + 1).includes('notRunning');
}"""

# Installed before the page loads: keeps every element carrying an onerror attribute or the
# hostile <img src=x>, however briefly it was in the document.
WATCH_INJECTED = """(() => {
window.__alerts = []; window.alert = m => window.__alerts.push(String(m));
window.__injected = [];
const suspicious = el => el.nodeType === 1 && (el.hasAttribute('onerror')
    || (el.tagName === 'IMG' && el.getAttribute('src') === 'x'));
new MutationObserver(records => {
    for (const r of records) {
        const nodes = r.type === 'attributes' ? [r.target] : [...r.addedNodes];
        for (const n of nodes) {
            if (n.nodeType !== 1) continue;
            for (const el of [n, ...n.querySelectorAll('img, [onerror]')]) {
                if (suspicious(el)) window.__injected.push(el.outerHTML);
            }
        }
    }
}).observe(document, {childList: true, subtree: true, attributes: true,
                      attributeFilter: ['onerror', 'src']});
})();"""


def _watch_runs(page: Page) -> None:
    """From now on, records every state the app's script run goes through."""
    wait_idle(page)
    page.evaluate(WATCH_RUNS)


def _rerun_and_wait(page: Page) -> None:
    """After `_watch_runs`: asks the app for one more run (its R shortcut) and waits until a
    run asked for or started since the watch has ended. A session's requests are handled in
    order, so by then whatever a click made in between asked for has run and been drawn: a
    wait on an event, not on time. (If that click had started a run itself, R is ignored
    while it runs; the run seen is then the click's own.)"""
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("r")
    page.wait_for_function(RUN_ENDED)
    wait_idle(page)


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

    _watch_runs(page)
    case_button(page, "approve").click(force=True)  # a disabled button does nothing
    _rerun_and_wait(page)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert db_status(app_db, "BR-ANALYST") == "manual_review"


def test_a_hostile_case_name_is_shown_as_text_and_runs_nothing(page: Page, app_url):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.add_init_script(WATCH_INJECTED)
    sign_in(page, app_url, "reviewer")
    search(page, "onerror")
    expect(list_cell(page, 2)).to_have_text(HOSTILE)  # column 0 holds the row markers
    click_row(page, 0)

    heading = page.get_by_role("heading", name=HOSTILE, exact=True)
    expect(heading).to_be_visible()
    expect(heading).to_have_text(HOSTILE)
    expect(page.get_by_role("button", name="Assign to me")).to_be_visible()
    wait_idle(page)
    # no element that could run the name's onerror ever existed, so none can fire later
    assert page.evaluate("window.__injected") == []
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("img[onerror]").count() == 0
    assert page.evaluate("window.__alerts") == []
    assert dialogs == []
