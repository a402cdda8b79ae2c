"""The Users, Settings and Deliveries pages in a real browser, as an admin uses them, each
change checked on screen and in the database:

- Users: add a user with a role, change the role, disable the account (its open session ends
  and it can no longer sign in); the last admin can be neither demoted nor disabled.
- Settings: one bad value refuses the whole panel (a clear error, nothing stored); good limits
  are stored and read back where they are enforced; a secret is never shown back.
- Deliveries: add a webhook endpoint on a loopback receiver (its signing secret shown once,
  and it is the one that signs), approve a case, see the delivery delivered, replay it.

This module runs its own app server on its own database (one admin, not a demo user, and the
embedded dispatcher on), so the last-admin rule and the settings are its own. Each test works
on its own users, settings and case: the order does not matter.
"""
from __future__ import annotations

import re
import time
from datetime import timedelta
from ipaddress import ip_network

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core import settings_store
from core.access.users import add_user, get_user
from core.app_setup import prepare_database
from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.notifications.deliveries import delivery_attempts
from core.notifications.reupload_tokens import reupload_link
from core.store.db import Database
from core.store.models import AuditEvent, Case, Delivery, WebhookEndpoint
from tests.browser import helpers
from tests.browser.conftest import PNG, TIMEOUT_MS, running_app
from tests.browser.helpers import (
    AUTH_COOKIE,
    case_status_badge,
    click_row,
    db_status,
    search,
    wait_for_cookie,
    wait_idle,
)
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver

pytestmark = pytest.mark.browser

ADMIN, ADMIN_NAME, ADMIN_PASSWORD = "ops.admin", "Odile Operations", "ops-admin-pass-5820"
POLL_S = 30
DELIVER_CASE, DELIVER_NAME = "AP-DELIVER", "Kestrelmoor Deliveries Ltd"


# --- this module's app: its own database, one admin, the embedded dispatcher ------------------

def _case(case_id: str, name: str) -> dict:
    return {"id": case_id, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": name, "country": "GB",
                       "email": "owner@example.com"},
            "documents": [{"type": "certificate_of_incorporation", "properties": {},
                           "file": {"filename": "certificate.png", "content_base64": PNG}}]}


@pytest.fixture(scope="module")
def pages_db(browser_type_launch_args, tmp_path_factory) -> Database:
    """This module's database: defaults, one admin (the only one: the last-admin rule applies
    to them), a case assigned to them and another one. (`browser_type_launch_args` first:
    without Chromium nothing is seeded or started.)"""
    path = tmp_path_factory.mktemp("browser-pages-db") / "docket.sqlite3"
    db = Database(f"sqlite:///{path}")
    prepare_database(db, demo=False)
    add_user(db, ADMIN, ADMIN_NAME, "admin", ADMIN_PASSWORD, email="odile@example.com")
    import_cases(db, {"format_version": 1, "cases": [
        _case(DELIVER_CASE, DELIVER_NAME),
        _case("AP-OTHER", "Merrowgate Bystander Ltd"),  # so a search changes the list
    ]}, actor="browser-tests")
    with db.read() as s:
        version = s.get(Case, DELIVER_CASE).version
    case_actions.assign_case(db, DELIVER_CASE, ADMIN, actor=ADMIN, expected_version=version)
    with db.read() as s:  # onboarding approves a case once every block is reviewed
        case = s.get(Case, DELIVER_CASE)
        document, version = case.documents[0].id, case.version
    case_actions.approve_block(db, DELIVER_CASE, f"document:{document}", actor=ADMIN,
                               expected_version=version)
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def pages_url(pages_db, tmp_path_factory) -> str:
    """The real app on `pages_db` with the embedded dispatcher; no allow-list in the
    environment (the stored setting decides)."""
    with running_app(pages_db.url, tmp_path_factory.mktemp("browser-pages-app"),
                     DOCKET_EMBEDDED_WORKER="on", DOCKET_OUTBOUND_ALLOWLIST="") as url:
        yield url


# --- helpers ----------------------------------------------------------------------------------

def sign_in_as(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url + "/")
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    wait_for_cookie(page, AUTH_COOKIE, present=True)  # the run writing the cookie is over
    wait_idle(page)


def open_page(page: Page, title: str) -> None:
    """Opens a page from the sidebar navigation (clicked again if a rerun dropped it)."""
    helpers.open_page(page, title)


def keyed(page: Page, key: str):
    """The element of the widget with this key (Streamlit writes the key into a CSS class,
    each character other than a-z, 0-9, '_' and '-' as '-'), leaving out a stale copy: while
    a rerun draws a page whose elements moved (a message came or went), the old element can
    still be there, marked stale."""
    return page.locator(".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key)
                        + ":not([data-stale=true])")


def button(page: Page, key: str):
    """The button with this key (see `keyed`; the role query skips the hidden copy Streamlit
    draws of a button with help text)."""
    return keyed(page, key).get_by_role("button")


def success(page: Page, text: str):
    return page.get_by_test_id("stAlertContentSuccess").filter(has_text=text)


def error(page: Page):
    return page.get_by_test_id("stAlertContentError")


def _fresh_page(browser: Browser) -> Page:
    """A new browser context: no cookie, nobody signed in."""
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _poll(what: str, found, timeout: float = POLL_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: nothing within {timeout} s")


# --- Users --------------------------------------------------------------------------------

NEW_USER, NEW_NAME, NEW_PASSWORD = "wendeline.ua", "Wendeline Usher", "wendeline-pass-4417"


def pick(page: Page, combobox, option: str) -> None:
    """Picks `option` in a selectbox by typing it (the list filters to it) and Enter; unlike
    the keyboard walk of `choose`, this reaches an option above the selected one."""
    combobox.click()
    combobox.fill(option)
    expect(page.locator("[role=option][data-focused=true]")).to_have_text(option)
    combobox.press("Enter")
    expect(combobox).to_have_value(option)
    wait_idle(page)


def _manage(page: Page, username: str, name: str) -> None:
    pick(page, keyed(page, "ua_user").get_by_role("combobox"), f"{name} ({username})")


def test_users_add_change_role_disable_and_the_last_admin_stays(page: Page, pages_url, pages_db,
                                                                browser: Browser):
    sign_in_as(page, pages_url, ADMIN, ADMIN_PASSWORD)
    open_page(page, "Users")
    assert get_user(pages_db, NEW_USER) is None

    # add a user as an analyst
    form = page.get_by_test_id("stForm")
    form.locator(".st-key-ua_new_username input").fill(NEW_USER)
    form.locator(".st-key-ua_new_name input").fill(NEW_NAME)
    form.locator(".st-key-ua_new_email input").fill("wendeline@example.com")
    pick(page, keyed(page, "ua_new_role").get_by_role("combobox"), "analyst")
    form.locator(".st-key-ua_new_password input").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Add user").click()
    expect(success(page, f"User '{NEW_USER}' added as analyst.")).to_be_visible()
    wait_idle(page)
    added = get_user(pages_db, NEW_USER)
    assert (added.name, added.email, added.role, added.disabled, added.is_demo) == \
        (NEW_NAME, "wendeline@example.com", "analyst", False, False)
    users_table = page.get_by_test_id("stDataFrame")
    expect(users_table).to_contain_text(NEW_NAME)
    expect(users_table).to_contain_text("analyst")  # the only analyst

    # change the role: analyst -> reviewer
    _manage(page, NEW_USER, NEW_NAME)
    pick(page, keyed(page, f"ua_role_{NEW_USER}").get_by_role("combobox"), "reviewer")
    button(page, "ua_set_role").click()
    expect(success(page, f"{NEW_USER} is now reviewer.")).to_be_visible()
    wait_idle(page)
    assert get_user(pages_db, NEW_USER).role == "reviewer"
    expect(users_table).not_to_contain_text("analyst")

    # the user signs in (the account works), then the admin disables it
    theirs = _fresh_page(browser)
    try:
        sign_in_as(theirs, pages_url, NEW_USER, NEW_PASSWORD)
        expect(theirs.get_by_test_id("stSidebar")).to_contain_text(NEW_NAME)

        _manage(page, NEW_USER, NEW_NAME)
        expect(keyed(page, "ua_user").get_by_role("combobox")).to_have_value(
            f"{NEW_NAME} ({NEW_USER})")
        button(page, "ua_disable").click()
        expect(success(page, f"{NEW_USER} disabled; their sessions end at their next "
                             "action.")).to_be_visible()
        wait_idle(page)
        assert get_user(pages_db, NEW_USER).disabled is True
        expect(page.get_by_test_id("stMain").get_by_text("Status: disabled")).to_be_visible()
        expect(users_table).to_contain_text("disabled")  # the only disabled account

        # their open session ends at their next action...
        theirs.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
        expect(theirs.get_by_text("Your account is disabled or no longer exists; you have "
                                  "been signed out.")).to_be_visible()
        expect(theirs.get_by_role("textbox", name="Username")).to_be_visible()
        theirs.context.close()

        # ...and a new sign-in with the right password is refused
        theirs = _fresh_page(browser)
        theirs.goto(pages_url + "/")
        theirs.get_by_role("textbox", name="Username").fill(NEW_USER)
        theirs.get_by_role("textbox", name="Password").fill(NEW_PASSWORD)
        theirs.get_by_role("button", name="Login").click()
        expect(error(theirs)).to_contain_text("wrong username or password")
        wait_idle(theirs)
        expect(theirs.get_by_role("heading", name="Cases")).to_have_count(0)
        expect(theirs.get_by_role("textbox", name="Username")).to_be_visible()
    finally:
        theirs.context.close()

    # the last admin can be neither demoted nor disabled
    def audit_count() -> int:
        with pages_db.read() as s:
            return len(s.scalars(select(AuditEvent.id)).all())

    before = audit_count()
    _manage(page, ADMIN, ADMIN_NAME)
    pick(page, keyed(page, f"ua_role_{ADMIN}").get_by_role("combobox"), "reviewer")
    button(page, "ua_set_role").click()
    expect(error(page).filter(has_text="cannot change the role of the last admin")) \
        .to_be_visible()
    wait_idle(page)
    button(page, "ua_disable").click()
    expect(error(page).filter(has_text="cannot disable the last admin")).to_be_visible()
    wait_idle(page)
    admin = get_user(pages_db, ADMIN)
    assert (admin.role, admin.disabled) == ("admin", False)
    assert audit_count() == before  # nothing changed, nothing audited
    expect(page.get_by_test_id("stMain").get_by_text("Status: active")).to_be_visible()


# --- Settings -----------------------------------------------------------------------------

LIMIT_KEYS = ("outbound.allowlist", "reupload.link_days", "uploads.max_bytes")
SMTP_SECRET = "smtp-Secr3t-do-not-show-8842"


def _field(page: Page, key: str):
    return keyed(page, "st_v_" + key.replace(".", "_")).locator("input")


def _type(page: Page, key: str, text: str) -> None:
    field = _field(page, key)
    field.fill(text)
    field.press("Enter")  # a text input sends its value on Enter (or on leaving it)
    wait_idle(page)


def _limits(db: Database) -> dict[str, tuple[str | None, str]]:
    return {i.key: (i.value, i.source) for i in settings_store.list_settings(db)
            if i.key in LIMIT_KEYS}


def test_settings_bad_value_changes_nothing_good_limits_are_stored_secret_never_shown(
        page: Page, pages_url, pages_db):
    sign_in_as(page, pages_url, ADMIN, ADMIN_PASSWORD)
    open_page(page, "Settings")
    before = _limits(pages_db)
    assert before["reupload.link_days"][0] != "21" and before["uploads.max_bytes"][0] != "2097152"

    # one panel, three values, two of them bad: refused as a whole, each problem named
    _type(page, "outbound.allowlist", "10.42.0.0/16, 127.0.0.1/32, not-a-network")
    _type(page, "reupload.link_days", "120")
    _type(page, "uploads.max_bytes", "2097152")
    button(page, "st_save_limits").click()
    refusal = error(page).filter(has_text="these settings were refused; nothing was saved")
    expect(refusal).to_be_visible()
    expect(refusal).to_contain_text("'not-a-network' is not an IP network in CIDR form")
    expect(refusal).to_contain_text("reupload.link_days must be a whole number from 1 to 90 "
                                    "days; got '120'")
    wait_idle(page)
    assert _limits(pages_db) == before  # nothing stored, not even the good value
    assert settings_store.upload_limit(pages_db) == int(before["uploads.max_bytes"][0])

    # fixed: all three stored, and read back where they are enforced
    _type(page, "outbound.allowlist", "10.42.0.0/16, 127.0.0.1/32")
    _type(page, "reupload.link_days", "21")
    button(page, "st_save_limits").click()
    expect(success(page, "Saved: outbound.allowlist, reupload.link_days, uploads.max_bytes.")) \
        .to_be_visible()
    wait_idle(page)
    expect(error(page)).to_have_count(0)
    after = _limits(pages_db)
    assert after == {"outbound.allowlist": ("10.42.0.0/16, 127.0.0.1/32", "database"),
                     "reupload.link_days": ("21", "database"),
                     "uploads.max_bytes": ("2097152", "database")}
    assert settings_store.reupload_link_lifetime(pages_db) == timedelta(days=21)
    assert settings_store.upload_limit(pages_db) == 2 * 1024 * 1024
    assert settings_store.outbound_allowlist(pages_db) == [ip_network("10.42.0.0/16"),
                                                           ip_network("127.0.0.1/32")]
    expect(_field(page, "uploads.max_bytes")).to_have_value("2097152")
    expect(page.get_by_text("set here · 2.0 MB")).to_be_visible()

    # a secret: stored, then never shown back (not in its field, nowhere on the page)
    assert settings_store.values(pages_db, "smtp.password")["smtp.password"] != SMTP_SECRET
    _type(page, "smtp.password", SMTP_SECRET)
    button(page, "st_save_smtp").click()
    expect(success(page, "Saved: smtp.password.")).to_be_visible()
    wait_idle(page)
    assert settings_store.values(pages_db, "smtp.password")["smtp.password"] == SMTP_SECRET
    password_info = next(i for i in settings_store.list_settings(pages_db)
                         if i.key == "smtp.password")
    assert (password_info.value, password_info.is_set, password_info.source) == \
        (None, True, "database")
    secret_field = _field(page, "smtp.password")
    expect(secret_field).to_have_value("")
    expect(secret_field).to_have_attribute("placeholder", "set: type to replace it")
    expect(page.get_by_text("Secret, never shown · set (set here)")).to_have_count(1)
    assert SMTP_SECRET not in page.content()

    open_page(page, "Users")     # away and back: still not shown
    open_page(page, "Settings")
    expect(_field(page, "smtp.password")).to_have_value("")
    assert SMTP_SECRET not in page.content()


# --- Deliveries ---------------------------------------------------------------------------

def tab_panel(page: Page, name: str):
    return page.get_by_role("tabpanel", name=name)


def _deliveries_table(page: Page):
    """The deliveries table (the first table of the Deliveries tab; the attempts of the
    selected delivery come after it)."""
    return tab_panel(page, "Deliveries").get_by_test_id("stDataFrame").first


def _delivery_cell(page: Page, column: int, row: int = 0):
    """A cell of the deliveries table (a canvas; its accessible grid holds the text). Column 0
    holds the row markers; 1 is ID, 3 case, 4 event, 6 target, 7 state, 8 attempts."""
    return _deliveries_table(page).get_by_test_id(f"glide-cell-{column}-{row}")


def _delivery(db: Database, endpoint_id: int) -> Delivery | None:
    with db.read() as s:
        return s.scalars(select(Delivery).where(Delivery.endpoint_id == endpoint_id,
                                                Delivery.case_id == DELIVER_CASE,
                                                Delivery.event_type == "case.approved")).one_or_none()


def test_applicant_links_follow_the_address_the_app_is_opened_at(page: Page, pages_url,
                                                                  pages_db):
    """No public_url set and a server on a port other than 8501: applicant links still start
    with the address staff use; a configured address that differs is pointed out."""
    assert ":8501" not in pages_url
    sign_in_as(page, pages_url, ADMIN, ADMIN_PASSWORD)
    open_page(page, "Settings")
    expect(_field(page, "public_url")).to_have_value(pages_url)
    expect(keyed(page, "st_v_public_url").locator("xpath=..").locator("..")).to_contain_text(
        "not set: the address staff last opened the app at")
    link = reupload_link(pages_db, DELIVER_CASE, ["document:1"])
    assert link.startswith(pages_url + "/?reupload=")
    settings_store.set_setting(pages_db, "public_url", "https://kyc.elsewhere.example",
                               actor=ADMIN)
    try:
        page.reload()
        expect(page.get_by_test_id("stAlertContentWarning").filter(
            has_text=f"Applicant links start with https://kyc.elsewhere.example, but you are "
                     f"using the app at {pages_url}")).to_be_visible()
        assert reupload_link(pages_db, DELIVER_CASE, ["document:1"]).startswith(
            "https://kyc.elsewhere.example/?reupload=")
    finally:
        settings_store.clear_setting(pages_db, "public_url", actor=ADMIN)


def test_deliveries_endpoint_secret_shown_once_delivery_listed_and_replayed(
        page: Page, pages_url, pages_db, browser: Browser):
    receiver = Receiver().start()
    try:
        _deliveries_round_trip(page, pages_url, pages_db, receiver)
    finally:
        receiver.stop()


def _deliveries_round_trip(page: Page, url: str, db: Database, receiver: Receiver) -> None:
    # the app may reach loopback targets: its stored allow-list setting
    settings_store.set_settings(db, {"outbound.allowlist": LOOPBACK_ALLOWLIST}, actor=ADMIN)
    sign_in_as(page, url, ADMIN, ADMIN_PASSWORD)
    open_page(page, "Deliveries")

    # add an endpoint: its secret is shown this once
    page.get_by_role("tab", name="Endpoints").click()
    form = page.get_by_test_id("stForm").filter(has_text="Add an endpoint")
    form.locator(".st-key-dl_new_url input").fill(receiver.url)
    form.locator(".st-key-dl_new_description input").fill("Kestrelmoor receiver")
    form.get_by_role("button", name="Add endpoint").click()
    shown = page.get_by_test_id("stAlertContentWarning").filter(
        has_text="Copy its signing secret now: it will not be shown again.")
    expect(shown).to_be_visible()
    secret = page.get_by_test_id("stCode").inner_text().strip()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/=]{20,}", secret), secret
    wait_idle(page)
    with db.read() as s:
        endpoint = s.scalars(select(WebhookEndpoint).where(
            WebhookEndpoint.url == receiver.url)).one()
        endpoint_id, stored_secrets = endpoint.id, list(endpoint.secrets)
    assert stored_secrets == [secret]  # the one shown is the one that signs
    expect(shown).to_contain_text(f"Endpoint #{endpoint_id} added.")
    receiver.secrets.append(secret)
    page.get_by_role("tab", name="Endpoints").click()
    expect(tab_panel(page, "Endpoints").get_by_test_id("stDataFrame").first) \
        .to_contain_text(receiver.url)

    # approve the case (its own, assigned to this admin): a delivery happens
    open_page(page, "Cases")
    assert secret not in page.content()   # gone with the run that showed it
    search(page, "Kestrelmoor")
    click_row(page, 0)
    expect(page.get_by_role("heading", name=DELIVER_NAME)).to_be_visible()
    button(page, "case_action_approve").click()
    page.get_by_role("dialog").get_by_role("textbox", name="Reason (optional)").fill(
        "registry and documents match")
    button(page, "dialog_confirm").click()
    expect(page.get_by_text("Case approved.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Approved")
    assert db_status(db, DELIVER_CASE) == "approved"

    first = _poll("a verified case.approved webhook", lambda: next(
        (r for r in receiver.ok() if r["verified"]
         and r["payload"]["data"]["case"]["id"] == DELIVER_CASE), None))
    assert first["payload"]["type"] == "case.approved"
    delivered = _poll("the delivery marked delivered", lambda: (
        d if (d := _delivery(db, endpoint_id)) is not None and d.state == "delivered" else None))

    # listed with its state; the secret is nowhere on the page
    open_page(page, "Deliveries")
    assert secret not in page.content()
    expect(page.get_by_test_id("stAlertContentWarning")).to_have_count(0)
    case_box = keyed(page, "dl_case").locator("input")
    case_box.fill(DELIVER_CASE)
    case_box.press("Enter")
    wait_idle(page)
    pick(page, keyed(page, "dl_endpoint").get_by_role("combobox"),
         f"#{endpoint_id} {receiver.url}")
    expect(page.get_by_text("1 delivery, newest first · showing 1–1. Select a row for its "
                             "attempts.")).to_be_visible()
    expect(_delivery_cell(page, 1)).to_have_text(str(delivered.id))
    expect(_delivery_cell(page, 4)).to_have_text("case.approved")
    expect(_delivery_cell(page, 7)).to_have_text("delivered")

    # its attempts, then Replay: sent again with the same webhook-id
    _deliveries_table(page).click(position={"x": 16, "y": 36 + 17})
    wait_idle(page)
    detail = page.get_by_role("heading", name=f"Delivery {delivered.id} · case.approved · "
                                              "delivered")
    expect(detail).to_be_visible()
    expect(tab_panel(page, "Deliveries").get_by_test_id("stDataFrame")).to_have_count(2)
    button(page, "dl_replay").click()
    expect(success(page, f"Delivery {delivered.id} queued again.")).to_be_visible()
    wait_idle(page)
    again = _poll("the replayed webhook", lambda: [
        r for r in receiver.ok() if r["verified"] and r["id"] == first["id"]][1:])
    assert again[0]["payload"] == first["payload"]
    _poll("the replay marked delivered", lambda: _delivery(db, endpoint_id).state == "delivered")
    assert [a.outcome for a in delivery_attempts(db, delivered.id)] == ["delivered"] * 2
    with db.read() as s:
        replays = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "notification.replayed", AuditEvent.case_id == DELIVER_CASE)).all()
    assert len(replays) == 1 and replays[0].actor == ADMIN

    pick(page, keyed(page, "dl_status").get_by_role("combobox"), "delivered")  # a rerun
    expect(_delivery_cell(page, 1)).to_have_text(str(delivered.id))
    expect(_delivery_cell(page, 7)).to_have_text("delivered")
    assert secret not in page.content()
