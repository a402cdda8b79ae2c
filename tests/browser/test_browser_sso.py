"""Single sign-on end to end: Chromium, the real app and a real OpenID Connect provider on
loopback (`oidc-provider`, tests/browser/oidc_fixture.py).

- a Docket user found by her email signs in through the provider and lands on Cases as
  herself, audited as an SSO sign-in;
- an email no Docket account has is refused with a clear message, and no account is made;
- an allowed domain makes an analyst account; a group mapped to lead makes a lead;
- a user disabled in Docket is refused whatever the provider says (an admins group here);
- after "Sign out", or after an admin ended the session, a reload does not sign anyone in
  again: Streamlit's identity cookie is gone, or its claims are spent; only a new round trip
  through the provider signs in.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from core.access.users import get_user
from core.signin.sessions import sign_out_everywhere
from core.store.models import AuditEvent, User
from tests.browser.helpers import AUTH_COOKIE, keyed_button, sidebar, wait_for_cookie, wait_idle
from tests.browser.oidc_fixture import DISPLAY_NAME, PROVIDER_NAME, SsoServer

pytestmark = pytest.mark.browser
STREAMLIT_IDENTITY = "_streamlit_user"  # Streamlit's identity cookie (st.user)


def _sso_button(page: Page):
    return keyed_button(page, f"sso_login_{PROVIDER_NAME}")


def _through_the_provider(page: Page, server: SsoServer, login: str) -> None:
    """From the sign-in page: the button, the provider's login page, back at the app."""
    expect(_sso_button(page)).to_have_accessible_name(f"Sign in with {DISPLAY_NAME}")
    wait_idle(page)
    _sso_button(page).click()
    page.wait_for_url(re.compile(rf"^{re.escape(server.issuer)}/"))
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("whatever the provider accepts")
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(re.compile(rf"^{re.escape(server.url)}/"))


def sso_sign_in(page: Page, server: SsoServer, login: str) -> None:
    page.goto(server.url + "/")
    _through_the_provider(page, server, login)


def _signed_in_as(page: Page, name: str, role_and_username: str) -> None:
    expect(page.get_by_role("heading", name="Cases")).to_be_visible()
    expect(sidebar(page).get_by_text(name, exact=True)).to_be_visible()
    expect(sidebar(page).get_by_text(role_and_username)).to_be_visible()
    wait_for_cookie(page, AUTH_COOKIE, present=True)  # Docket's own session cookie
    wait_idle(page)


def _on_the_sign_in_page(page: Page) -> None:
    expect(page.get_by_role("textbox", name="Password")).to_be_visible()
    expect(_sso_button(page)).to_be_visible()
    expect(page.get_by_role("heading", name="Cases")).to_have_count(0)


def _events(server: SsoServer, kind: str, actor: str | None = None) -> list[AuditEvent]:
    with server.db.read() as s:
        stmt = select(AuditEvent).where(AuditEvent.kind == kind)
        if actor:
            stmt = stmt.where(AuditEvent.actor == actor)
        return list(s.scalars(stmt.order_by(AuditEvent.id)))


def test_a_known_email_signs_in_through_the_provider_and_lands_on_cases(page: Page, sso_server):
    sso_sign_in(page, sso_server, "alice")
    _signed_in_as(page, "Alice Docket", "Reviewer · alice")
    event = _events(sso_server, "signin.succeeded", "alice")[-1]
    assert (event.after["method"], event.after["provider"], event.after["mfa"]) == (
        "sso", PROVIDER_NAME, "provider")
    # a reload keeps her signed in (Docket's cookie), without another sign-in
    page.reload()
    _signed_in_as(page, "Alice Docket", "Reviewer · alice")
    assert len(_events(sso_server, "signin.succeeded", "alice")) >= 1


def test_an_unknown_email_is_refused_with_a_clear_message(page: Page, sso_server):
    sso_sign_in(page, sso_server, "stranger")
    expect(page.get_by_text("No Docket account uses the email stranger@nowhere.test; ask an "
                            "admin to add you.")).to_be_visible()
    _on_the_sign_in_page(page)
    with sso_server.db.read() as s:
        assert s.scalar(select(func.count()).select_from(User).where(
            func.lower(User.email) == "stranger@nowhere.test")) == 0
    assert _events(sso_server, "signin.failed")[-1].after["reason"] == "sso_unknown_user"


def test_an_allowed_domain_makes_an_analyst_and_a_group_makes_a_lead(page: Page, sso_server):
    sso_sign_in(page, sso_server, "newbie")
    _signed_in_as(page, "New Analyst", "Analyst · newbie")
    assert get_user(sso_server.db, "newbie").role == "analyst"
    added = [e for e in _events(sso_server, "user.added") if e.after["username"] == "newbie"]
    assert added and added[0].via == "sso"

    other = page.context.browser.new_context(viewport={"width": 1600, "height": 1000})
    try:
        lead = other.new_page()
        sso_sign_in(lead, sso_server, "leader")
        _signed_in_as(lead, "Lena Leader", "Lead · lena.lead")
        assert get_user(sso_server.db, "lena.lead").role == "lead"
    finally:
        other.close()


def test_a_user_disabled_in_docket_is_refused_whatever_the_provider_says(page: Page, sso_server):
    sso_sign_in(page, sso_server, "dora")  # the provider puts her in docket-admins
    expect(page.get_by_text("Your Docket account (dora) is disabled; ask an admin to enable "
                            "it.")).to_be_visible()
    _on_the_sign_in_page(page)
    dora = get_user(sso_server.db, "dora")
    assert (dora.disabled, dora.role) == (True, "reviewer")
    assert _events(sso_server, "signin.succeeded", "dora") == []


def test_after_sign_out_a_reload_does_not_sign_in_again(page: Page, sso_server):
    sso_sign_in(page, sso_server, "bob")
    _signed_in_as(page, "Bob Docket", "Analyst · bob")
    sidebar(page).get_by_role("button", name="Sign out").click()
    # Streamlit's st.logout() goes through the provider's sign-out, which asks first
    page.get_by_role("button", name="Yes, sign me out").click()
    page.wait_for_url(re.compile(rf"^{re.escape(sso_server.url)}/"))
    _on_the_sign_in_page(page)
    wait_for_cookie(page, AUTH_COOKIE, present=False)
    wait_for_cookie(page, STREAMLIT_IDENTITY, present=False)
    signed_in = len(_events(sso_server, "signin.succeeded", "bob"))
    page.reload()
    _on_the_sign_in_page(page)
    wait_idle(page)
    assert len(_events(sso_server, "signin.succeeded", "bob")) == signed_in
    # signing in again takes a new round trip: the provider asks for the login again
    _sso_button(page).click()
    expect(page.locator("input[name=login]")).to_be_visible()


def test_after_an_admin_ends_the_session_the_identity_cookie_signs_no_one_in(page: Page,
                                                                             sso_server):
    sso_sign_in(page, sso_server, "alice")
    _signed_in_as(page, "Alice Docket", "Reviewer · alice")
    signed_in = len(_events(sso_server, "signin.succeeded", "alice"))
    sign_out_everywhere(sso_server.db, "alice", actor="admin")
    page.reload()
    expect(page.get_by_text("An admin ended your session; sign in again.")).to_be_visible()
    _on_the_sign_in_page(page)
    wait_for_cookie(page, AUTH_COOKIE, present=False)
    # Streamlit's identity cookie is still there, but its claims were used: no sign-in
    assert any(c["name"] == STREAMLIT_IDENTITY for c in page.context.cookies())
    page.reload()
    expect(page.get_by_text(f"Your sign-in with {DISPLAY_NAME} has ended. Sign in with "
                            f"{DISPLAY_NAME} again.")).to_be_visible()
    _on_the_sign_in_page(page)
    wait_idle(page)
    assert len(_events(sso_server, "signin.succeeded", "alice")) == signed_in
    assert _events(sso_server, "signin.failed", "alice")[-1].after["reason"] == "sso_replayed"
    # a new round trip signs her in (the provider remembers her: no login page this time)
    _through_the_provider_again(page, sso_server)
    _signed_in_as(page, "Alice Docket", "Reviewer · alice")


def _through_the_provider_again(page: Page, sso_server: SsoServer) -> None:
    """The button, and straight back (the provider's session is still open)."""
    wait_idle(page)
    _sso_button(page).click()
