"""The API keys section of the Users page: every key (never the key itself), adding one (the
key is shown once, in the run right after it was made), revoking one (after a confirmation).
Every call goes through `core.access.api_keys`, which checks the admin's role again, keeps
only the key's hash and audits the change. See docs/API.md for what a key may do."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.api_keys import SCOPES, ApiKeyInfo, create_key, list_keys, revoke_key
from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from ui.admin import flash, show_error
from ui.text import esc, when

NEW_KEY = "ak_new_key"  # (name, acting user, key): shown at the next run, popped as shown
EMPTY_NEXT_RUN = "ak_empty_next_run"  # a key was added: empty the form before drawing it
REVOKE_KEY = "ak_revoke"  # the key picker (its widget key: see revoke_widget_key)
CONFIRM_REVOKE = "ak_confirm_revoke"  # the key name whose revocation awaits a confirmation
COLUMNS = ["Name", "Prefix", "Scopes", "Acts as", "Created (UTC)", "Created by",
           "Last used (UTC)", "Status"]
USER_HELP = ("The key does what this user's role allows, narrowed by its scopes: intake and "
             "events need an admin, act a reviewer (on their own cases) or an admin. A "
             "service user per integration keeps its actions apart in the audit trail.")


def api_keys_section(db: Database, admin: UserInfo, users: list[UserInfo]) -> None:
    """The whole section: a new key (once), the keys, revoke, add."""
    show_new_key()
    keys = list_keys(db)
    keys_table(keys)
    left, right = st.columns(2, gap="medium")
    with left:
        revoke_key_panel(db, admin, keys)
    with right:
        add_key_form(db, admin, users)


def show_new_key() -> None:
    """The key just made: in this run only (it leaves the session as it is shown)."""
    shown = st.session_state.pop(NEW_KEY, None)
    if shown is None:
        return
    name, acting_user, secret = shown
    with st.container(border=True, key="ak_new_key_box"):
        st.warning(f"API key **{esc(name)}** added, acting as {esc(acting_user)}. Copy it now: "
                   "it will not be shown again. "
                   "Docket keeps only its hash; if it is lost, revoke it and add another.",
                   icon=":material/key:")
        st.code(secret, language=None)
        st.caption("Send it as `Authorization: Bearer <key>` to /api/v1 (docs/API.md).")


def keys_table(keys: list[ApiKeyInfo]) -> None:
    if not keys:
        st.caption("No API key yet: make one with **Add a key**. A key lets another system "
                   "push cases, report events, read cases or act on them, as the user it acts "
                   "for.")
        return
    active = sum(k.active for k in keys)
    st.caption(f"{active} active, {len(keys) - active} revoked. The keys themselves are never "
               "shown again: each is known by its prefix.")
    st.dataframe(pd.DataFrame([{
        "Name": k.name, "Prefix": k.prefix, "Scopes": ", ".join(k.scopes),
        "Acts as": k.acting_user, "Created (UTC)": when(k.created_at),
        "Created by": k.created_by,
        "Last used (UTC)": when(k.last_used_at) if k.last_used_at else "never",
        "Status": "active" if k.active else f"revoked {when(k.revoked_at)}",
    } for k in keys], columns=COLUMNS), hide_index=True, width="stretch", key="ak_table")


def revoke_key_panel(db: Database, admin: UserInfo, keys: list[ApiKeyInfo]) -> None:
    active = {k.name: k for k in keys if k.active}
    with st.container(border=True):
        st.markdown("**Revoke a key**")
        if not active:
            st.caption("No active key to revoke.")
            return
        name = st.selectbox("Key", list(active), key=revoke_widget_key(keys),
                            format_func=lambda n: f"{n} ({active[n].prefix}, acts as "
                                                  f"{active[n].acting_user})")
        if st.session_state.get(CONFIRM_REVOKE) != name:
            st.button("Revoke", key="ak_revoke_ask", icon=":material/key_off:",
                      on_click=_ask_revoke, args=(name,),
                      help="Asks for a confirmation first")
            return
        st.warning(f"Revoke **{esc(name)}**? Every request with it is refused from the next "
                   "one on. This cannot be undone: a revoked key never works again.",
                   icon=":material/warning:")
        yes_no = st.container(horizontal=True)
        if yes_no.button("Revoke key", type="primary", key="ak_revoke_confirm",
                         icon=":material/key_off:"):
            st.session_state.pop(CONFIRM_REVOKE, None)
            try:
                revoke_key(db, name, actor=admin.username)
            except DocketError as e:
                show_error(e)
                return
            flash(f"API key {name!r} revoked: the API refuses it from now on.")
            st.rerun()
        if yes_no.button("Cancel", key="ak_revoke_cancel"):
            st.session_state.pop(CONFIRM_REVOKE, None)
            st.rerun()


def revoke_widget_key(keys: list[ApiKeyInfo]) -> str:
    """The key picker's widget key: new whenever a key is added or revoked (keys are never
    deleted or restored, so the two counts name the set), so the browser never keeps showing
    a key that is no longer in the list while the server acts on another."""
    return f"{REVOKE_KEY}_{len(keys)}_{sum(k.active for k in keys)}"


def _ask_revoke(name: str) -> None:
    st.session_state[CONFIRM_REVOKE] = name


def add_key_form(db: Database, admin: UserInfo, users: list[UserInfo]) -> None:
    active = {u.username: u for u in users if not u.disabled}
    if st.session_state.pop(EMPTY_NEXT_RUN, False):  # set before the widgets are drawn
        st.session_state.update(ak_new_name="", ak_new_scopes=[], ak_new_user=None)
    if st.session_state.get("ak_new_user") not in (None, *active):  # disabled since
        st.session_state.pop("ak_new_user", None)
    with st.form("ak_add", border=True):
        st.markdown("**Add a key**")
        name = st.text_input("Name", key="ak_new_name",
                             placeholder="e.g. onboarding-prod",
                             help="What calls with it: 2 to 64 characters, a-z, 0-9, '_', "
                                  "'.', '-'. Shown in the audit trail as \"api key NAME\".")
        scopes = st.multiselect("Scopes", list(SCOPES), key="ak_new_scopes",
                                placeholder="Choose what the key may do")
        st.caption("  \n".join(f"**{s}**: {esc(what)}" for s, what in SCOPES.items()))
        acting = st.selectbox("Acts as", list(active), key="ak_new_user", index=None,
                              placeholder="Choose the user the key acts for",
                              format_func=lambda n: f"{active[n].name} ({n}, {active[n].role})",
                              help=USER_HELP)
        if st.form_submit_button("Add key", type="primary", icon=":material/key:"):
            _add(db, admin, name, scopes, acting)


def _add(db: Database, admin: UserInfo, name: str, scopes: list[str], acting: str | None) -> None:
    if acting is None:
        show_error("Choose the user the key acts for.")
        return
    try:
        created = create_key(db, name, scopes=scopes, acting_user=acting, actor=admin.username)
    except DocketError as e:
        show_error(e)
        return
    st.session_state[NEW_KEY] = (created.info.name, created.info.acting_user, created.secret)
    st.session_state[EMPTY_NEXT_RUN] = True  # (popping the keys would leave the typed text
    # in the browser's fields)
    st.rerun()
