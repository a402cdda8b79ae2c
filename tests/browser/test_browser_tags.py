"""Tags and "My views" in a real browser (issue #10, item 6): a reviewer tags their case in
the preview, finds it with the sidebar's tag filter (URL, reload, CSV export), and keeps a set
of filters as a personal view that brings every filter back; nobody else sees it."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete as delete_rows
from sqlalchemy import select

from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.models import Case
from core.store.worklist_models import SavedFilter
from tests.browser.helpers import (
    choose,
    click_until,
    keyed_button,
    keyed_link,
    pick_view,
    search,
    sidebar,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/tags_{}.png"


def _import(db, *cases: tuple[str, str, list[str]]) -> None:
    """Imports the cases not in the app's database yet (a rerun of a failed test finds the
    ones its first attempt imported)."""
    with db.read() as s:
        have = set(s.scalars(select(Case.id).where(Case.id.in_([c[0] for c in cases]))))
    new = [c for c in cases if c[0] not in have]
    if not new:
        return
    import_cases(db, {"format_version": 1, "cases": [
        {"id": case_id, "workflow": "onboarding", "collection_completed": True,
         "entity": {"type": "business", "name": name, "country": "GB",
                    "email": "owner@example.com"},
         "tags": tags} for case_id, name, tags in new]}, actor="browser-tests")


def _assign(db, case_id: str, user: str) -> None:
    with db.read() as s:
        version = s.get(Case, case_id).version
    case_actions.assign_case(db, case_id, user, actor="admin", expected_version=version)


def _tags(db, case_id: str) -> list[str]:
    with db.read() as s:
        return list(s.get(Case, case_id).tags or [])


def _saved(db, owner: str) -> list[SavedFilter]:
    with db.read() as s:
        return list(s.scalars(select(SavedFilter).where(SavedFilter.owner == owner)))


def total_line(page: Page, total: int):
    return page.get_by_text(re.compile(rf"^{total:,} cases? · showing"))


def pick_tag(page: Page, tag: str) -> None:
    """Adds a tag to the sidebar's Tags filter by typing it and Enter."""
    box = sidebar(page).get_by_role("combobox", name="Tags")
    for attempt in range(3):
        wait_idle(page)
        box.click()
        box.fill(tag)
        # a tag imported meanwhile may not be in the cached list yet: typed, it is offered
        expect(page.get_by_role("option", name=re.compile(rf"^(Add: )?{re.escape(tag)}$"))
               ).to_be_visible()
        box.press("Enter")
        box.press("Escape")
        try:
            expect(tag_chip(page, tag)).to_be_visible(timeout=15_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
    wait_idle(page)


def tag_chip(page: Page, tag: str):
    return sidebar(page).get_by_test_id("stMultiSelect").filter(
        has=page.get_by_role("combobox", name="Tags")).get_by_text(tag, exact=True)


def url_params(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_a_reviewer_tags_a_case_and_finds_and_exports_it_by_tag(page: Page, app_url, app_db):
    _import(app_db, ("BR-TAG-1", "Quenby Taggable Ltd", []),
            ("BR-TAG-2", "Quenby Untagged Ltd", ["other"]))
    _assign(app_db, "BR-TAG-1", "reviewer")
    sign_in(page, app_url, "reviewer", query="?case=BR-TAG-1")
    expect(page.get_by_role("heading", name="Quenby Taggable Ltd")).to_be_visible()
    tags_row = page.locator(".st-key-case_tags")
    expect(tags_row).to_contain_text("none")

    box = page.get_by_role("textbox", name="New tag")
    click_until(page, keyed_button(page, "tag_add_menu"), box)
    box.fill("btag-urgent")
    box.press("Enter")
    expect(page.get_by_text("Tag btag-urgent added.")).to_be_visible()
    wait_idle(page)
    page.keyboard.press("Escape")  # the popover
    assert _tags(app_db, "BR-TAG-1") == ["btag-urgent"]
    expect(keyed_button(page, "tag_remove_0")).to_have_text(re.compile("btag-urgent"))
    expect(page.locator(".st-key-case_timeline")).to_contain_text(
        "reviewer tagged the case btag-urgent")
    page.screenshot(path=SHOTS.format("preview"), full_page=False)

    pick_tag(page, "btag-urgent")
    expect(total_line(page, 1)).to_be_visible()
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text("BR-TAG-1")
    expect(page).to_have_url(re.compile(r"[?&]tag=btag-urgent\b"))

    page.reload()
    expect(total_line(page, 1)).to_be_visible()
    wait_idle(page)
    expect(tag_chip(page, "btag-urgent")).to_be_visible()
    assert url_params(page)["tag"] == ["btag-urgent"]

    keyed_button(page, "export_prepare").click()
    download_link = keyed_link(page, "export_download")  # to the server's download route
    expect(download_link).to_have_text(re.compile(r"Download CSV \(1 case\)"))
    with page.expect_download() as info:
        download_link.click()
    rows = list(csv.reader(io.StringIO(open(info.value.path(), encoding="utf-8").read(),
                                       newline="")))
    assert [r[0] for r in rows[1:]] == ["BR-TAG-1"]
    assert "btag-urgent" in rows[1][rows[0].index("tags")]

    # removing it: the chip's button, audited, and the filter no longer finds the case
    keyed_button(page, "tag_remove_0").click()
    expect(page.get_by_text("Tag btag-urgent removed.")).to_be_visible()
    assert _tags(app_db, "BR-TAG-1") == []
    expect(page.locator(".st-key-case_timeline")).to_contain_text(
        "reviewer removed the tag btag-urgent")


def test_my_views_keep_a_reviewers_filters_for_them_alone(page: Page, app_url, app_db, browser,
                                                         browser_context_args):
    with app_db.unit_of_work() as s:  # a rerun starts without the first attempt's view
        s.execute(delete_rows(SavedFilter).where(SavedFilter.owner == "reviewer"))
    _import(app_db, ("BR-MV-1", "Mistlethwaite One Ltd", ["bmv-urgent"]),
            ("BR-MV-2", "Mistlethwaite Two Ltd", ["bmv-urgent", "x"]),
            ("BR-MV-3", "Mistlethwaite Three Ltd", []))
    page.set_viewport_size({"width": 1440, "height": 1000})
    sign_in(page, app_url, "reviewer")
    expect(sidebar(page).get_by_role("heading", name="My views")).to_be_visible()
    search(page, "Mistlethwaite", expect_total=3)
    pick_tag(page, "bmv-urgent")
    expect(total_line(page, 2)).to_be_visible()
    sort_box = page.get_by_test_id("stMain").get_by_role("combobox", name="Sort")
    choose(page, sort_box, "Entity name A–Z")
    expect(page).to_have_url(re.compile(r"[?&]sort=name&order=asc\b"))

    name_box = page.get_by_role("textbox", name="Name")
    click_until(page, sidebar(page).get_by_role("button", name="Save current filters"),
                name_box)
    name_box.fill("My urgent")
    page.get_by_role("button", name="Save", exact=True).click()  # once: not idempotent
    expect(sidebar(page).get_by_text("Saved as 'My urgent'.")).to_be_visible()
    wait_idle(page)
    [saved] = _saved(app_db, "reviewer")
    assert saved.filters["tags"] == ["bmv-urgent"] and saved.filters["search"] == "Mistlethwaite"
    mine = keyed_button(page, f"my_view_{saved.id}")
    expect(mine).to_have_text(re.compile(r"My urgent \(2\)"))
    views_heading = sidebar(page).get_by_role("heading", name="Views", exact=True)
    assert mine.bounding_box()["y"] < views_heading.bounding_box()["y"]  # above the shared ones
    page.keyboard.press("Escape")
    page.mouse.move(800, 900)  # no tooltip in the picture
    wait_idle(page)
    sidebar(page).screenshot(path=SHOTS.format("sidebar"))

    # another list, then the saved one brings every filter back
    search(page, "", expect_total=None)
    pick_view(page, "Hong Kong companies")
    expect(page).not_to_have_url(re.compile(r"[?&]q="))
    click_until(page, keyed_button(page, f"my_view_{saved.id}"), total_line(page, 2))
    expect(sidebar(page).get_by_role("radio", name=re.compile(r"^All cases \("))).to_be_checked()
    expect(sidebar(page).get_by_role("textbox", name="Search")).to_have_value("Mistlethwaite")
    expect(tag_chip(page, "bmv-urgent")).to_be_visible()
    expect(sort_box).to_have_value("Entity name A–Z")
    expect(page.get_by_test_id("glide-cell-1-0").first).to_have_text("BR-MV-1")
    params = url_params(page)
    assert (params["q"], params["tag"], params["sort"], params["order"]) == (
        ["Mistlethwaite"], ["bmv-urgent"], ["name"], ["asc"])
    assert "view" not in params
    sidebar(page).get_by_role("combobox", name="Tags").scroll_into_view_if_needed()
    sidebar(page).screenshot(path=SHOTS.format("filters"))

    # another reviewer does not see it
    other = browser.new_context(**browser_context_args).new_page()
    other.set_default_timeout(60_000)
    sign_in(other, app_url, "reviewer2")
    expect(sidebar(other).get_by_role("heading", name="My views")).to_be_visible()
    expect(sidebar(other).get_by_text("My urgent")).to_have_count(0)
    other.context.close()

    # deleting it removes it
    delete = keyed_button(page, f"my_view_delete_{saved.id}")
    click_until(page, keyed_button(page, f"my_view_menu_{saved.id}"), delete)
    page.screenshot(path=SHOTS.format("menu"))
    delete.click()
    expect(sidebar(page).get_by_text("Deleted 'My urgent'.")).to_be_visible()
    expect(keyed_button(page, f"my_view_{saved.id}")).to_have_count(0)
    assert _saved(app_db, "reviewer") == []
