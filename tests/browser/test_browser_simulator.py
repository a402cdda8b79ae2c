"""The Simulator page at laptop sizes (issue #18.7): the case's status is shown whole, never
cut ("Pending I…" at 1280x720, "Collection fl…" at 1440x900); the applicant's re-upload
buttons name whose document they upload (a case with three UBOs had three identical "Applicant
re-uploads Passport" buttons); the person (KYC) template starts with a person's documents,
not a company's certificate of incorporation.

Its own app server on its own database (demo users, the simulator on), so the cases it
creates never show in the other browser tests' lists.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.access.users import ensure_demo_users
from core.app_setup import prepare_database
from core.cases.read import case_detail
from core.store.db import Database
from tests.browser.conftest import running_app
from tests.browser.helpers import keyed_button, open_page, sign_in, wait_idle

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 720}
WIDE_LAPTOP = {"width": 1440, "height": 900}
SMALL_LAPTOP = {"width": 1024, "height": 768}  # the status column is narrower than its text
UBO_NAMES = ("Mei Chen", "Lukas Becker", "Amara Okafor")  # the simulator's first three UBOs


@pytest.fixture(scope="module")
def sim_db(browser_type_launch_args, tmp_path_factory) -> Database:
    """This module's database: defaults and the demo users, no case yet.
    (`browser_type_launch_args` first: without Chromium nothing is seeded or started.)"""
    path = tmp_path_factory.mktemp("browser-sim-db") / "docket.sqlite3"
    db = Database(f"sqlite:///{path}")
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def sim_url(sim_db, tmp_path_factory) -> str:
    with running_app(sim_db.url, tmp_path_factory.mktemp("browser-sim-app"),
                     DOCKET_SIMULATOR="on", DOCKET_EMBEDDED_WORKER="off") as url:
        yield url


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": LAPTOP}


def _create_case(page: Page, ubos: int | None = None) -> str:
    """Creates a case from the form as it stands; returns its id once the page shows it."""
    if ubos is not None:
        box = page.get_by_role("spinbutton", name="UBOs (each with a KYC block)")
        box.fill(str(ubos))
        box.press("Enter")
        wait_idle(page)
    keyed_button(page, "sim_create").click()
    created = page.get_by_text(re.compile(r"^Case SIM-[0-9A-F]{8} created: it starts in the "
                                          r"Collection flow\.$"))
    expect(created).to_be_visible()
    case_id = re.search(r"SIM-[0-9A-F]{8}", created.inner_text()).group(0)
    wait_idle(page)
    expect(page.locator(".st-key-sim_case").get_by_role("combobox")).to_have_value(
        re.compile(rf"^{case_id} · "))
    return case_id


def _status(page: Page):
    return (page.get_by_test_id("stMetric").filter(has_text="Status")
            .get_by_test_id("stMetricValue"))


def _assert_shown_whole(page: Page, label: str) -> None:
    """The status reads `label` and no part of it is clipped: neither the value nor anything
    inside it is narrower than its text (an ellipsis cuts exactly such a box)."""
    value = _status(page)
    expect(value).to_have_text(label)
    clipped = value.evaluate(
        """el => [el, ...el.querySelectorAll('*')]
               .filter(e => e.scrollWidth > e.clientWidth + 1)
               .map(e => `${e.tagName} ${e.scrollWidth}>${e.clientWidth}`)""")
    assert clipped == [], f"{label!r} is cut: {clipped}"
    box = value.bounding_box()
    assert box and box["x"] + box["width"] <= page.viewport_size["width"]


def _play(page: Page, step: str, now: str) -> None:
    page.get_by_role("button", name=step, exact=True).click()
    expect(page.get_by_text(f"{step}: the case is now {now}.")).to_be_visible()
    wait_idle(page)
    expect(_status(page)).to_have_text(now)


def test_the_status_is_shown_whole_at_laptop_sizes(page: Page, sim_url, tmp_path):
    sign_in(page, sim_url, "reviewer")
    open_page(page, "Simulator")
    _create_case(page, ubos=1)
    _assert_shown_whole(page, "Collection flow")
    _play(page, "Applicant completes the collection flow", "Pending process")
    _assert_shown_whole(page, "Pending process")
    _play(page, "Process registry_lookup completes", "Pending process")
    _play(page, "Process sanctions_screening completes", "Manual review")
    _play(page, f"KYC flow sent to {UBO_NAMES[0]}", "Pending ID verification")
    _assert_shown_whole(page, "Pending ID verification")  # the longest status label
    _status(page).scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "simulator-1280x720.png"))  # to look at if it fails
    for viewport in (WIDE_LAPTOP, SMALL_LAPTOP):
        page.set_viewport_size(viewport)
        wait_idle(page)
        _assert_shown_whole(page, "Pending ID verification")


def test_each_reupload_button_names_whose_document_it_is(page: Page, sim_url, sim_db):
    sign_in(page, sim_url, "reviewer")
    open_page(page, "Simulator")
    case_id = _create_case(page, ubos=3)
    buttons = page.get_by_test_id("stMain").get_by_role("button",
                                                        name=re.compile("^Applicant re-uploads"))
    expect(buttons.first).to_be_visible()
    labels = [b.inner_text().strip() for b in buttons.all()]
    assert len(labels) == len(set(labels)), f"identical buttons: {labels}"
    for name in UBO_NAMES:
        mine = [label for label in labels if name in label and "Passport" in label]
        assert len(mine) == 1, (name, labels)

    step = f"Applicant re-uploads Passport of {UBO_NAMES[1]}"
    page.get_by_role("button", name=f"{step} (now Awaiting review)", exact=True).click()
    expect(page.get_by_text(re.compile(rf"^{re.escape(step)}: the case is now "))).to_be_visible()
    wait_idle(page)
    files = {k.full_name: [len(d.files) for d in k.documents]
             for k in case_detail(sim_db, case_id).kyc_blocks}
    assert files == {UBO_NAMES[0]: [1], UBO_NAMES[1]: [2], UBO_NAMES[2]: [1]}


def test_the_person_template_starts_with_a_persons_documents(page: Page, sim_url, sim_db):
    sign_in(page, sim_url, "reviewer")
    open_page(page, "Simulator")
    documents = page.get_by_test_id("stMultiSelect").filter(
        has_text="Documents (each gets a generated PNG file)")
    remove = documents.get_by_role("button", name=re.compile(r"^Remove "))

    def chosen() -> list[str]:
        return [label.removeprefix("Remove ") for label in
                remove.evaluate_all("els => els.map(e => e.getAttribute('aria-label'))")]

    certificate = documents.get_by_role("button", name="Remove Certificate of incorporation")
    expect(certificate).to_be_visible()  # a company (the first template) starts with it
    page.get_by_test_id("stRadio").get_by_text("A person (KYC)", exact=True).click()
    wait_idle(page)
    expect(page.get_by_role("spinbutton", name="UBOs (each with a KYC block)")).to_be_disabled()
    expect(documents.get_by_role("button", name="Remove Passport")).to_be_visible()
    expect(certificate).to_have_count(0)
    assert chosen() == ["Passport", "Proof of address"]
    case_id = _create_case(page)
    detail = case_detail(sim_db, case_id)
    assert detail.entity["type"] == "person" and detail.kyc_blocks == []
    assert [d.document_type for d in detail.documents] == ["passport", "proof_of_address"]
