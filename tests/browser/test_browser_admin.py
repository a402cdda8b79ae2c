"""The admin pages in a real browser, as a product manager would use them: build a view and
see it filter the Cases list with the right count, add a document type to a workflow, import a
file with errors (nothing written) then a good one (progress, then the cases are listed), and
play a simulated case from the Collection flow to Manual review.

These tests run their own app server on their own database (seeded here, with an admin made by
`core.access.users.add_user`) with the simulator switched on, so they neither see nor disturb the
cases of the other browser tests. Each test works on its own data: the order does not matter.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core.access.users import add_user
from core.app_setup import prepare_database
from core.intake.importer import import_cases
from core.store.db import Database
from core.workflows import admin as wa
from core.worklist.query import CaseFilter, count_cases
from core.worklist.views import find_view
from tests.browser import helpers
from tests.browser.conftest import running_app
from tests.browser.helpers import (
    AUTH_COOKIE,
    case_status_badge,
    choose,
    db_status,
    keyed_button,
    pick_view,
    search,
    wait_for_cookie,
    wait_idle,
)
from tests.factories import row_counts

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PASSWORD = "pm.admin", "pm-admin-pass-7391"


# --- this module's app: its own database, the simulator on ----------------------------------

def _case(case_id: str, name: str, country: str, kind: str,
          workflow: str = "onboarding") -> dict:
    return {"id": case_id, "workflow": workflow, "collection_completed": True,
            "entity": {"type": kind, "name": name, "country": country,
                       "email": "owner@example.com"},
            "user_data": {"industry": "trading"}}


SEED = [  # for the view: country CN and entity type person matches AV-CN-P1..P3 only
    _case("AV-CN-P1", "Wen Alderbrook", "CN", "person"),
    _case("AV-CN-P2", "Li Alderbrook", "CN", "person"),
    _case("AV-CN-P3", "Zhou Alderbrook", "CN", "person", workflow="ongoing_monitoring"),
    _case("AV-CN-B1", "Alderbrook Trading Co", "CN", "business"),
    _case("AV-CN-B2", "Alderbrook Shipping Co", "CN", "business"),
    _case("AV-DE-P1", "Jonas Alderbrook", "DE", "person"),
    _case("AV-HK-P1", "Ka Alderbrook", "HK", "person"),
]


@pytest.fixture(scope="module")
def admin_db(browser_type_launch_args, tmp_path_factory) -> Database:
    """This module's database: defaults, one admin (not a demo user), a few cases.
    (`browser_type_launch_args` first: without Chromium nothing is seeded or started.)"""
    path = tmp_path_factory.mktemp("browser-admin-db") / "docket.sqlite3"
    db = Database(f"sqlite:///{path}")
    prepare_database(db, demo=False)
    add_user(db, ADMIN, "Pat Product", "admin", ADMIN_PASSWORD, email="pat@example.com")
    import_cases(db, {"format_version": 1, "cases": SEED}, actor="browser-tests")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def admin_url(admin_db, tmp_path_factory) -> str:
    """The real app under `streamlit run` on `admin_db`, with DOCKET_SIMULATOR=on."""
    with running_app(admin_db.url, tmp_path_factory.mktemp("browser-admin-app"),
                     DOCKET_SIMULATOR="on", DOCKET_EMBEDDED_WORKER="off") as url:
        yield url


# --- helpers ----------------------------------------------------------------------------------

def sign_in_admin(page: Page, url: str) -> None:
    page.goto(url + "/")
    page.get_by_role("textbox", name="Username").fill(ADMIN)
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    wait_for_cookie(page, AUTH_COOKIE, present=True)  # the run writing the cookie is over
    wait_idle(page)


def open_page(page: Page, title: str, heading: str | None = None) -> None:
    """Opens a page from the sidebar navigation; its address is the page's own."""
    helpers.open_page(page, title, heading)
    expect(page).to_have_url(re.compile(r"/[a-z_]+$" if title != "Cases" else r"/(cases)?$"))


def keyed(page: Page, key: str):
    return page.locator(f".st-key-{key}")


def metric_value(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


# --- (a) views builder -> Cases list ----------------------------------------------------------

def test_a_new_view_shows_its_live_count_then_filters_the_cases_list(page: Page, admin_url,
                                                                     admin_db):
    sign_in_admin(page, admin_url)
    open_page(page, "Views")
    every_case = count_cases(admin_db, CaseFilter())
    expect(metric_value(page, "Matching cases")).to_have_text(f"{every_case:,}")

    page.get_by_role("textbox", name="Name", exact=True).fill("China people")
    keyed_button(page, "vb_add").click()
    wait_idle(page)
    value = keyed(page, "vb_p_value_0").get_by_role("textbox")
    value.fill("CN")
    value.press("Enter")
    wait_idle(page)
    expect(metric_value(page, "Matching cases")).to_have_text("5")   # 3 people, 2 companies

    keyed_button(page, "vb_add").click()
    wait_idle(page)
    choose(page, keyed(page, "vb_p_field_1").get_by_role("combobox"), "Entity type")
    wait_idle(page)
    value = keyed(page, "vb_p_value_1").get_by_role("textbox")
    value.fill("person")
    value.press("Enter")
    wait_idle(page)
    expect(metric_value(page, "Matching cases")).to_have_text("3")

    keyed_button(page, "vb_save").click()
    expect(page.get_by_text("View 'China people' saved; it is in the Cases sidebar.")).to_be_visible()
    wait_idle(page)
    saved = find_view(admin_db, "China people")
    assert saved.predicates == ({"field": "country", "op": "equals", "value": "CN"},
                                {"field": "entity_type", "op": "equals", "value": "person"})
    expected = count_cases(admin_db, CaseFilter(view=saved))
    assert expected == 3

    open_page(page, "Cases")
    pick_view(page, "China people")
    expect(page.get_by_test_id("stSidebar").get_by_text(f"China people ({expected})")).to_be_visible()
    expect(page.get_by_text(re.compile(rf"^{expected} cases · showing 1–{expected}$"))).to_be_visible()
    shown = {page.get_by_test_id(f"glide-cell-1-{i}").first.inner_text() for i in range(expected)}
    assert shown == {"AV-CN-P1", "AV-CN-P2", "AV-CN-P3"}


# --- (b) workflows: add a document type ------------------------------------------------------

def test_adding_a_document_type_to_a_workflow_saves_it(page: Page, admin_url, admin_db):
    sign_in_admin(page, admin_url)
    open_page(page, "Workflows")
    choose(page, keyed(page, "wf_pick").get_by_role("combobox"),
           "Ongoing monitoring (ongoing_monitoring)")
    wait_idle(page)
    # a service level set outside the editor (it has no SLA fields) must survive its Save
    wa.set_sla(admin_db, "ongoing_monitoring", {"hours": {"manual_review": 5}}, actor=ADMIN)
    before = wa.get_workflow(admin_db, "ongoing_monitoring")
    assert "source_of_funds" not in before["document_types"]

    types = keyed(page, "wf_e_types__ongoing_monitoring").get_by_role("textbox")
    expect(types).to_have_value(re.compile(r"^proof_of_address: Proof of address$", re.M))
    types.fill(types.input_value() + "\nsource_of_funds: Source of funds declaration")
    types.press("Control+Enter")  # a text area sends its value on Ctrl+Enter (or on leaving it)
    wait_idle(page)
    keyed_button(page, "wf_save").click()
    expect(page.get_by_text("Workflow 'ongoing_monitoring' saved.")).to_be_visible()
    wait_idle(page)

    after = wa.get_workflow(admin_db, "ongoing_monitoring")
    assert after["sla"]["hours"] == {"manual_review": 5}
    assert after["document_types"] == {**before["document_types"],
                                       "source_of_funds": "Source of funds declaration"}
    assert {k: v for k, v in after.items() if k != "document_types"} == \
        {k: v for k, v in before.items() if k != "document_types"}

    open_page(page, "Cases")      # away and back: the editor reads the saved definition again
    open_page(page, "Workflows")
    choose(page, keyed(page, "wf_pick").get_by_role("combobox"),
           "Ongoing monitoring (ongoing_monitoring)")
    wait_idle(page)
    expect(keyed(page, "wf_e_types__ongoing_monitoring").get_by_role("textbox")).to_have_value(
        re.compile(r"^source_of_funds: Source of funds declaration$", re.M))


# --- (c) import: a file with errors, then a good one -----------------------------------------

PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEALnApQXFCNDEAAAAA"
       "SUVORK5CYII=")


def _import_file() -> dict:
    return {"format_version": 1, "cases": [
        {"id": f"IMPB-{i}", "workflow": "onboarding", "collection_completed": True,
         "entity": {"type": "business", "name": f"Quenby Imported {i} Ltd", "country": "NZ",
                    "email": f"owner{i}@quenby.example"},
         "documents": [{"type": "proof_of_address", "file": {
             "filename": "address.png", "content_base64": PNG}}]}
        for i in range(3)]}


def _upload(page: Page, name: str, data: dict) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        files=[{"name": name, "mimeType": "application/json",
                "buffer": json.dumps(data).encode()}])
    wait_idle(page)


def _grid(page: Page, has_text: str, cells: int) -> list[list[str]]:
    """The cells of the dataframe showing `has_text`, row by row (the table is a canvas; its
    accessible grid holds the text)."""
    table = page.get_by_test_id("stDataFrame").filter(has_text=has_text)
    expect(table.locator("tbody [role=gridcell]")).to_have_count(cells)
    return [[c.inner_text().strip() for c in row.locator("[role=gridcell]").all()]
            for row in table.locator("tbody [role=row]").all()]


def test_a_file_with_errors_writes_nothing_then_a_good_file_is_imported(page: Page, admin_url,
                                                                       admin_db):
    sign_in_admin(page, admin_url)
    open_page(page, "Import", heading="Import cases")
    bad = _import_file()
    bad["cases"][1]["workflow"] = "kyb"
    bad["cases"][2]["entity"]["country"] = "nz"
    before = row_counts(admin_db)

    _upload(page, "bad-cases.json", bad)
    expect(page.get_by_text("The file was refused: 2 problems. Nothing was imported")).to_be_visible()
    report = _grid(page, "cases[1].workflow", cells=4)
    assert [where for where, _ in report] == ["cases[1].workflow", "cases[2].entity.country"]
    assert "unknown workflow 'kyb'" in report[0][1]
    assert "2-letter ISO code in capitals" in report[1][1]
    expect(page.get_by_role("button", name=re.compile(r"^Import \d+ case"))).to_have_count(0)
    assert row_counts(admin_db) == before  # nothing written: no case, document, event...

    _upload(page, "cases.json", _import_file())
    expect(page.get_by_text("The file is valid: 3 cases ready to import.")).to_be_visible()
    assert [row[0] for row in _grid(page, "Quenby Imported 0 Ltd", cells=3 * 8)] == \
        ["IMPB-0", "IMPB-1", "IMPB-2"]
    assert row_counts(admin_db) == before  # still nothing before Import is pressed

    page.get_by_role("button", name="Import 3 cases").click()
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text("Imported 3 of 3 cases")
    expect(page.get_by_text("Imported 3 cases. They are in the Cases list now.")).to_be_visible()
    wait_idle(page)
    after = row_counts(admin_db)
    assert after["cases"] == before["cases"] + 3

    page.get_by_role("link", name="Open the Cases list").click()
    expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
    wait_idle(page)
    search(page, "Quenby", expect_total=3)
    shown = {page.get_by_test_id(f"glide-cell-1-{i}").first.inner_text() for i in range(3)}
    assert shown == {"IMPB-0", "IMPB-1", "IMPB-2"}


# --- (d) simulator: Collection flow -> Manual review -----------------------------------------

def _action_line(page: Page, action: str):
    """The line of a case action under "Case actions now" ("Approve", or "Approve — why not")."""
    return page.get_by_test_id("stMarkdown").filter(
        has_text=re.compile(rf"(check_circle|block)\s*{re.escape(action)}"))


def test_simulator_round_trip_from_collection_flow_to_manual_review(page: Page, admin_url,
                                                                   admin_db):
    sign_in_admin(page, admin_url)
    open_page(page, "Simulator")
    ubos = page.get_by_role("spinbutton", name="UBOs (each with a KYC block)")
    ubos.fill("1")
    ubos.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Create case").click()
    created = page.get_by_text(re.compile(r"^Case SIM-[0-9A-F]{8} created: it starts in the "
                                          r"Collection flow\.$"))
    expect(created).to_be_visible()
    case_id = re.search(r"SIM-[0-9A-F]{8}", created.inner_text()).group(0)
    wait_idle(page)
    expect(keyed(page, "sim_case").get_by_role("combobox")).to_have_value(
        re.compile(rf"^{case_id} · "))
    status = metric_value(page, "Status")
    expect(status).to_have_text("Collection flow")
    for action in ("Approve", "Reject", "Ask for all re-uploads (0)"):  # none in Collection flow
        expect(_action_line(page, action)).to_contain_text("block")

    def play(step: str, now: str) -> None:
        page.get_by_role("button", name=step, exact=True).click()
        expect(page.get_by_text(f"{step}: the case is now {now}.")).to_be_visible()
        wait_idle(page)
        expect(status).to_have_text(now)

    play("Applicant completes the collection flow", "Pending process")
    expect(_action_line(page, "Approve")).to_contain_text("block")
    expect(_action_line(page, "Reject")).to_contain_text("check_circle")
    expect(page.get_by_role("button", name="Applicant completes the collection flow")) \
        .to_have_count(0)  # it happened: no longer offered
    play("Process registry_lookup completes", "Pending process")
    play("Process sanctions_screening completes", "Manual review")
    # onboarding: Approve waits until every document and KYC block is reviewed
    expect(_action_line(page, "Approve")).to_contain_text("block")
    expect(_action_line(page, "Approve")).to_contain_text("reviewed first")
    play("KYC flow sent to Mei Chen", "Pending ID verification")
    expect(_action_line(page, "Approve")).to_contain_text("block")
    expect(_action_line(page, "Approve")).to_contain_text("Pending ID verification")
    expect(keyed(page, "sim_vendor").get_by_role("combobox")).to_have_value("clear")
    play("Mei Chen completes KYC", "Manual review")

    expect(_action_line(page, "Approve")).to_contain_text("reviewed first")
    expect(_action_line(page, "Reject")).to_contain_text("check_circle")
    expect(_action_line(page, "Ask for all re-uploads (0)")).to_contain_text("block")
    assert db_status(admin_db, case_id) == "manual_review"

    page.get_by_role("link", name="Open this case in Cases (to decide as a reviewer)").click()
    expect(page).to_have_url(re.compile(rf"[?&]case={case_id}\b"))
    expect(case_status_badge(page)).to_have_text("Manual review")
