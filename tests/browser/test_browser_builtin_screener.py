"""The built-in screener in a real browser (issue #14, part 2), on a server of its own (a
loaded list would screen every case of the shared browser database): an admin uploads a
list file on the Screening lists page; the server's embedded worker screens the queued case;
the reviewer clears the UBO's hit; a reload of the list with another entry keeps it cleared;
the reviewer corrects the UBO's birth date and the hit re-opens for the new data."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from core.access.users import add_user
from core.app_setup import prepare_database
from core.cases import actions as ca
from core.intake.importer import import_cases
from core.store.db import Database
from core.store.models import Case, ScreeningHit
from tests.browser.conftest import running_app
from tests.browser.helpers import choose, click_until, open_page, wait_idle
from tests.screening.test_screener import list_file

pytestmark = pytest.mark.browser

PASSWORD = "browser screener passphrase"
CASE_ID, NAME, UBO = "BS-1", "Thornvale Ceramics Ltd", "Quillon Ashgrave"
ASHGRAVE = {"id": "bs-1", "schema": "Person", "name": "Quillon Ashgrave",
            "aliases": "Kvillon Eshgrejv", "birth_date": "1971-04-02", "countries": "gb",
            "program_ids": "TEST-FIN"}
OTHER = {"id": "bs-2", "schema": "Person", "name": "Marisol Etxeberria-Quint",
         "birth_date": "1983", "countries": "es"}
REASON = "Listed person is a namesake; passport shows another father's name"


@pytest.fixture(scope="module")
def screener_app(browser_type_launch_args, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser-screener-db") / "docket.sqlite3"
    db = Database(f"sqlite:///{path}")
    prepare_database(db, demo=False)
    add_user(db, "ada", "Ada Admin", "admin", PASSWORD)
    add_user(db, "rui", "Rui Reviewer", "reviewer", PASSWORD)
    with running_app(db.url, tmp_path_factory.mktemp("browser-screener-app")) as url:
        yield db, url
    db.dispose()


def sign_in_as(page: Page, url: str, username: str, query: str = "") -> None:
    page.goto(url + "/" + query)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    wait_idle(page)


def upload(page: Page, file_name: str, data: bytes, *, new_list: bool) -> None:
    page.locator("input[type=file]").set_input_files(
        {"name": file_name, "mimeType": "text/csv", "buffer": data})
    if new_list:
        page.get_by_role("textbox", name="New list's name").fill("browser-list")
        page.get_by_role("textbox", name="Title").fill("Browser test list")
    wait_idle(page)
    page.locator(".st-key-sl_load:not([data-stale=true])").get_by_role("button").click()


def wait_for(check, what: str, seconds: float = 240) -> None:
    """Waits for the server's embedded worker: it screens queued cases every 2 s, but its
    first batch sets up rigour's name data and the index (8-20 s quiet, much more under a
    loaded CI machine)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def hits(db: Database) -> list[ScreeningHit]:
    with db.read() as s:
        return list(s.scalars(select(ScreeningHit).where(ScreeningHit.case_id == CASE_ID,
                                                         ScreeningHit.gone_at.is_(None))))


def ubo_block(page: Page, state: str):
    return page.get_by_test_id("stExpander").filter(
        has_text=f"Screening · UBO · {UBO} · {state}")


def open_ubo_block(page: Page, url: str, state: str) -> None:
    page.goto(f"{url}/?case={CASE_ID}")
    expect(page.get_by_role("heading", name=NAME)).to_be_visible()
    wait_idle(page)
    block = ubo_block(page, state)
    click_until(page, block.locator("summary"), block.get_by_text(ASHGRAVE["name"]).first)


def test_a_list_upload_screens_a_case_and_a_reviewer_clears_and_corrects_it(
        page: Page, screener_app):
    db, url = screener_app
    with db.read() as s:
        fresh = s.get(Case, CASE_ID) is None
    if fresh:  # a rerun keeps the case and the list: the steps below hold either way
        import_cases(db, {"cases": [{
            "id": CASE_ID, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": NAME, "country": "GB"},
            "ubos": [{"full_name": UBO, "date_of_birth": "1971-04-02", "nationality": "GB",
                      "kyc": {"state": "completed", "result": {"outcome": "clear"}}}]}]},
            actor="ada")
        ca.assign_case(db, CASE_ID, "rui", actor="ada", expected_version=1)

    # the admin loads a list: its entry is the case's UBO
    sign_in_as(page, url, "ada")
    open_page(page, "Screening lists")
    upload(page, "browser_list.csv", list_file(ASHGRAVE), new_list=fresh)
    if fresh:
        expect(page.get_by_text("List browser-list version 1: 1 added")).to_be_visible()
    wait_for(lambda: len(hits(db)) == 1, "the worker to screen the case")
    [hit] = hits(db)
    assert (hit.entry_id, hit.source, hit.dataset) == ("bs-1", "builtin:browser-list",
                                                       "Browser test list")

    # the reviewer clears it as a false positive
    page.context.clear_cookies()
    sign_in_as(page, url, "rui")
    if hit.disposition != "false_positive":
        open_ubo_block(page, url, "1 open")
        box = page.locator(f".st-key-hit_{hit.id}:not([data-stale=true])")
        choose(page, box.get_by_role("combobox", name="Disposition"), "False positive")
        box.get_by_role("textbox", name="Reason").fill(REASON)
        click_until(page, box.get_by_role("button", name="Save decision"),
                    box.get_by_text("Hit marked false positive."))

    # a reload with another entry rescreens the case: the decision holds
    with db.read() as s:
        before = s.get(Case, CASE_ID).version
    from core.screening.lists import load_list
    load_list(db, "browser-list", list_file(ASHGRAVE, OTHER), fmt="opensanctions",
              actor="ada", file_name="browser_list_v2.csv")
    wait_for(lambda: not _queued(db), "the rescreen")
    [kept] = hits(db)
    assert (kept.id, kept.disposition) == (hit.id, "false_positive")
    with db.read() as s:
        assert s.get(Case, CASE_ID).version == before  # the same hits: nothing written
    open_ubo_block(page, url, "no open hits")
    expect(page.get_by_text(REASON).first).to_be_visible()

    # the reviewer corrects the UBO's birth date: the hit is decided again for the new data
    block = ubo_block(page, "no open hits")
    block.get_by_role("button", name="Correct subject data").click()
    page.get_by_role("textbox", name="Date of birth (YYYY-MM-DD)").fill("1971-04-03")
    page.get_by_role("button", name="Save and screen again").click()
    expect(page.get_by_text("Subject data corrected; the case is screened again")).to_be_visible()
    wait_for(lambda: hits(db)[0].disposition is None, "the hit to re-open")
    open_ubo_block(page, url, "1 open")
    # put back for a rerun of this test: the birth date the list names
    from core.cases.subjects import edit_subject
    with db.read() as s:
        case = s.get(Case, CASE_ID)
        ubo, version = case.ubos[0].id, case.version
    edit_subject(db, CASE_ID, f"ubo:{ubo}", {"date_of_birth": "1971-04-02"}, actor="rui",
                 expected_version=version)


def _queued(db: Database) -> bool:
    from core.screening import job_queue
    return job_queue.pending(db) > 0
