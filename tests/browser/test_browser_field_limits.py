"""Text pasted past a field's limit, in a real browser (issue #18.6): never dropped in silence.

Streamlit's `max_chars` dropped such a paste whole (the field stayed empty, "0/60"); no field
sets it now (ui/limits.py). Each test pastes through the clipboard (Ctrl+V), as a person does:
a field whose text is saved keeps the whole text and says in words, where one is looking,
that it is too long (nothing is saved); a filter keeps its first characters and says so.

The tests only read the shared cases, or refuse a change (nothing written), so a rerun finds
the app as the first try left it.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from core.access.users import list_users
from core.cases.tags import MAX_TAG_CHARS
from core.store.models import Case
from core.store.worklist_models import SavedFilter
from core.worklist.saved_filters import MAX_NAME
from core.worklist.views import list_views
from tests.browser.helpers import click_until, keyed_button, sidebar, sign_in, wait_idle

pytestmark = pytest.mark.browser


def go(page: Page, app_url: str, path: str, heading: str) -> None:
    """Opens an admin page by its address (the sidebar may fold some links away)."""
    page.goto(f"{app_url}/{path}")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    wait_idle(page)


def paste(page: Page, field, text: str) -> None:
    """Puts `text` on the clipboard and pastes it into `field` with Ctrl+V."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    field.click()
    page.keyboard.press("Control+V")


def test_a_long_saved_view_name_is_kept_and_refused_in_its_menu(page: Page, app_url, app_db):
    sign_in(page, app_url, "analyst")
    name = page.get_by_role("textbox", name="Name")
    click_until(page, sidebar(page).get_by_role("button", name="Save current filters"), name)
    pasted = " ".join(["My very urgent German fintechs"] * 3)  # 92 characters
    paste(page, name, pasted)
    expect(name).to_have_value(pasted)            # the whole paste, not an empty field
    name.press("Enter")
    menu = page.get_by_test_id("stPopoverBody")    # said in the menu, which stays open
    expect(menu.get_by_text(f"at most {MAX_NAME} characters; this one has {len(pasted)}"))\
        .to_be_visible()
    expect(name).to_have_value(pasted)
    with app_db.read() as s:
        assert s.scalar(select(func.count()).select_from(SavedFilter).where(
            SavedFilter.name == pasted)) == 0


def test_a_long_tag_is_kept_and_refused_in_the_add_tag_menu(page: Page, app_url, app_db):
    sign_in(page, app_url, "reviewer", query="?case=BR-UNDO")  # the reviewer's case
    expect(page.get_by_role("heading", name="Cobblestone Undo Ltd")).to_be_visible()
    box = page.get_by_role("textbox", name="New tag")
    click_until(page, keyed_button(page, "tag_add_menu"), box)
    pasted = "t" * (MAX_TAG_CHARS + 30)
    paste(page, box, pasted)
    expect(box).to_have_value(pasted)
    box.press("Enter")
    menu = page.get_by_test_id("stPopoverBody")
    expect(menu.get_by_text(f"a tag is at most {MAX_TAG_CHARS} characters", exact=False))\
        .to_be_visible()
    expect(box).to_have_value(pasted)
    with app_db.read() as s:
        assert pasted not in (s.get(Case, "BR-UNDO").tags or [])


def test_an_admins_long_texts_are_refused_next_to_the_button_and_a_filter_is_cut(
        page: Page, app_url, app_db):
    sign_in(page, app_url, "admin")
    go(page, app_url, "admin_users", "Users")
    main = page.get_by_test_id("stMain")
    form = main.get_by_test_id("stForm").filter(has_text="Add a user")
    form.get_by_role("textbox", name="Username").fill("pasted-name")
    full_name = form.get_by_role("textbox", name="Full name")
    pasted = "Ffion " * 50  # 300 characters
    paste(page, full_name, pasted)
    expect(full_name).to_have_value(pasted)
    form.get_by_role("textbox", name="Initial password").fill("a long enough password 7")
    form.get_by_role("button", name="Add user").click()
    expect(form.get_by_text("Full name takes at most 200 characters; this text has 300."))\
        .to_be_visible()
    expect(full_name).to_have_value(pasted)
    assert "pasted-name" not in {u.username for u in list_users(app_db)}

    go(page, app_url, "admin_views", "Views")
    value = main.get_by_role("textbox", name="Value")
    click_until(page, keyed_button(page, "vb_add"), value)  # a click in the first run can drop
    pasted = "HK" * 150
    paste(page, value, pasted)
    value.press("Enter")
    wait_idle(page)
    expect(value).to_have_value(pasted)
    keyed_button(page, "vb_save").click()
    expect(main.get_by_role("alert").filter(has_text="Condition 1, value takes at most 200 "
                                                     "characters; this text has 300.")
           .last).to_be_visible()
    expect(value).to_have_value(pasted)
    assert all(len(str(p.get("value", ""))) < 300 for v in list_views(app_db)
               for p in v.predicates)

    go(page, app_url, "deliveries", "Deliveries")
    case = main.get_by_role("textbox", name="Case")
    paste(page, case, "BR-" + "9" * 97)
    case.press("Enter")
    expect(main.get_by_text("Case takes at most 64 characters; the text had 100 and was cut "
                            "to its first 64.")).to_be_visible()
    expect(case).to_have_value(("BR-" + "9" * 97)[:64])
