"""Single sign-on on the sign-in page: a "Sign in with <provider>" button per configured
OpenID Connect provider, and the step after the provider sent the person back.

Streamlit's `st.login(NAME)` runs the OpenID Connect round trip (Authlib) with the provider
configured under `[auth.NAME]` in `.streamlit/secrets.toml` (or from the DOCKET_SSO_*
variables: ui/sso_secrets.py, passed to `st.App` by streamlit_app.py) and keeps the ID
token's claims in its own identity cookie (`st.user`). `complete_sso` hands them to core
(`core.signin.sso.sign_in_with_sso`), which decides; on success the browser gets the same
Docket session and signed cookie as after a password. Core accepts a given set of claims once
and only while fresh, so Streamlit's identity cookie, which outlives a Docket sign-out, never
signs anyone in again by itself: only a new round trip through the provider does.

"Sign out" (ui/auth.py `sign_out`) ends the Docket session, deletes Docket's cookie, then
calls `st.logout()`: Streamlit deletes its identity cookie and, when the provider publishes an
`end_session_endpoint` (Entra ID, Okta; not Google), sends the browser there to end the
provider's session too, which comes back to the sign-in page. See docs/SSO.md.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st
import streamlit_authenticator as stauth

from core.errors import DocketError, SignInRefused
from core.signin.policy import read_policy
from core.signin.sso import claims_ref, sign_in_with_sso
from core.store.db import Database
from ui import auth
from ui.sso_secrets import PROVIDER_NAME
from ui.text import error_text, esc

# The claims (by their digest) this browser session already handed to core: not again.
TRIED_KEY = "docket_sso_tried"
# The person clicked "Sign out" while signed in at the provider: once Docket's cookie is
# deleted, st.logout() clears Streamlit's identity (and the provider's session, if it can).
LOGOUT_KEY = "docket_sso_logout_pending"
_PROVIDER_KEYS = ("client_id", "server_metadata_url")
# A leftover identity (claims used already, or too old): the person needs a new round trip.
_ENDED = ("sso_replayed", "sso_stale")


def _auth_section() -> Mapping[str, Any]:
    """`[auth]` of the secrets, or {} (no secrets.toml, no [auth], an unreadable file)."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001  (no secrets file at all: Streamlit raises)
        return {}
    return section if isinstance(section, Mapping) else {}


def sso_providers() -> list[tuple[str, str]]:
    """The configured providers as (name, display name), in the file's order: every
    `[auth.NAME]` with a client_id or server_metadata_url, or the unnamed provider of a bare
    `[auth]`. None without `redirect_uri` and `cookie_secret` (st.login would fail)."""
    section = _auth_section()
    if not section.get("redirect_uri") or not section.get("cookie_secret"):
        return []
    found = []
    for name, value in section.items():
        if isinstance(value, Mapping) and any(k in value for k in _PROVIDER_KEYS) \
                and PROVIDER_NAME.match(str(name)):
            found.append((str(name), _shown(str(name), value)))
    if not found and any(k in section for k in _PROVIDER_KEYS):
        found.append(("default", _shown("sso", section)))
    return found


def _shown(name: str, section: Mapping[str, Any]) -> str:
    """The provider's `display_name`, else its name title-cased ("okta": "Okta"; a name of
    up to three letters in capitals: "sso": "SSO")."""
    shown = str(section.get("display_name") or "").strip()[:60]
    return shown or (name.upper() if len(name) <= 3 else name.title())


def display_name(provider: str) -> str:
    return dict(sso_providers()).get(provider) or _shown(provider or "sso", {})


def sso_only_note(db: Database) -> None:
    """Above the password form while "SSO only" is on: who the form is still for."""
    if not read_policy(db).sso_only:
        return
    names = " or ".join(shown for _, shown in sso_providers()) or "single sign-on"
    st.info(f"Sign in with {names}. The password form is only for the break-glass admin.",
            icon=":material/badge:")


def sso_buttons() -> None:
    """A "Sign in with <provider>" button for each configured provider, under the form."""
    providers = sso_providers()
    if not providers:
        return
    with st.container(border=True, key="sso_buttons"):
        st.caption("Or with your organisation's account")
        for name, shown in providers:
            if st.button(f"Sign in with {shown}", key=f"sso_login_{name}",
                         icon=":material/login:", width="stretch"):
                st.session_state.pop(TRIED_KEY, None)
                st.login(name)


def _identity() -> dict[str, Any] | None:
    """The claims of Streamlit's identity cookie, when the person came back signed in at a
    provider; else None."""
    try:
        if st.user.get("is_logged_in") is not True:
            return None
        claims = dict(st.user.to_dict())
    except Exception:  # noqa: BLE001  (no auth configured: st.user may be empty or absent)
        return None
    claims.pop("tokens", None)
    return claims


def complete_sso(db: Database, authenticator: stauth.Authenticate) -> bool:
    """When the person is back from the provider and not signed in to Docket: signs them in
    by the claims (core decides); True when they are signed in now (the caller reruns). A
    refusal is said on the sign-in page."""
    if st.session_state.get("authentication_status") is True or st.session_state.get(LOGOUT_KEY):
        return False
    claims = _identity()
    if claims is None:
        return False
    provider = str(claims.get("provider") or "default")
    ref = claims_ref(provider, claims)
    if st.session_state.get(TRIED_KEY) == ref:
        return False
    st.session_state[TRIED_KEY] = ref
    shown = display_name(provider)
    try:
        start = sign_in_with_sso(db, claims, provider=provider, client=auth.client(),
                                 key_id=auth.key_id(), display_name=shown)
    except DocketError as e:
        # Shown as Markdown on the sign-in page: the provider's text (an email) as text.
        if isinstance(e, SignInRefused) and e.reason in _ENDED:
            # Streamlit's identity cookie outlived a Docket session: a new round trip.
            st.session_state.setdefault(auth._ERROR_KEY, esc(
                f"Your sign-in with {shown} has ended. Sign in with {shown} again."))
        else:
            st.session_state[auth._ERROR_KEY] = error_text(e)
        return False
    user = start.user
    # What streamlit-authenticator sets after a password (ui/auth.py reads the same keys).
    st.session_state.update({"authentication_status": True, "username": user.username,
                             "name": user.name, "email": user.email, "roles": [user.role],
                             "logout": None})
    st.session_state[auth.SESSION_KEY] = start.token
    st.session_state[auth.PENDING_KEY] = start.next_step
    st.session_state.pop(auth._ERROR_KEY, None)
    st.session_state[auth._COOKIE_TODO_KEY] = "set"
    return True


def on_sign_out(*, ended: bool) -> dict[str, Any]:
    """Called by ui/auth.py `sign_out` before it clears the session: what to keep after.
    The person clicked "Sign out" (`ended` False) while signed in at a provider: st.logout()
    follows once Docket's cookie is deleted (`finish_sign_out`). The session ended by itself
    (idle, an admin, a disabled account): Streamlit's identity stays, but its claims are not
    tried again in this browser session (core would refuse them anyway)."""
    claims = _identity()
    if claims is None:
        return {}
    if not ended:
        return {LOGOUT_KEY: True}
    return {TRIED_KEY: claims_ref(str(claims.get("provider") or "default"), claims)}


def finish_sign_out() -> None:
    """On the sign-in page after "Sign out": once the browser deleted Docket's cookie,
    Streamlit's identity goes too (st.logout(): a redirect through the provider's sign-out,
    if it has one, back to the sign-in page)."""
    if not st.session_state.get(LOGOUT_KEY) or auth._COOKIE_TODO_KEY in st.session_state:
        return
    st.session_state.pop(LOGOUT_KEY, None)
    st.logout()
