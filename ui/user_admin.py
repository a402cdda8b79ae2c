"""The users page's widgets: the accounts table, the add-user form, and the panel managing
one account (role, disable/enable, password reset, second factor reset). Every change goes
through `core.access.users` (or `core.signin.mfa`), which checks the admin's role, protects the
last admin and audits the change."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.passwords import RULE as PASSWORD_RULE
from core.access.roles import Role
from core.access.users import UserInfo, add_user, set_disabled, set_password, set_role
from core.errors import DocketError
from core.signin.mfa import MfaStatus, mfa_status, reset_mfa
from core.store.db import Database
from ui.admin import flash, show_error
from ui.limits import refuse_too_long, up_to
from ui.text import esc, when

ROLES = [r.value for r in Role]
ROLE_HELP = ("analyst: reads cases and dashboards, exports CSV · reviewer: + takes cases and "
             "decides on their own, can be a case's second approver (four-eyes) · lead: + "
             "assigns and reassigns cases, sees the Workload page · admin: + manages users, "
             "views, workflows, integrations")
MANAGE_KEY = "ua_user"
CONFIRM_MFA_RESET = "ua_confirm_mfa_reset"  # the username whose reset awaits a confirmation
NEW_USER_FIELDS = ("ua_new_username", "ua_new_name", "ua_new_email", "ua_new_password")
MAX_FULL_NAME, MAX_EMAIL = 200, 254  # characters (an address: RFC 5321)
EMPTY_NEXT_RUN = "ua_empty_next_run"  # the form was sent: empty its fields before drawing it


def users_table(users: list[UserInfo]) -> None:
    st.dataframe(pd.DataFrame([{
        "Username": u.username, "Name": u.name, "Email": u.email, "Role": u.role,
        "Status": "disabled" if u.disabled else "active", "Demo account": u.is_demo,
    } for u in users], columns=["Username", "Name", "Email", "Role", "Status", "Demo account"]),
        hide_index=True, width="stretch", key="ua_table")


def add_user_form(db: Database, admin: UserInfo) -> None:
    if st.session_state.pop(EMPTY_NEXT_RUN, False):
        for key in NEW_USER_FIELDS:  # set before the widgets are drawn (popping the keys
            st.session_state[key] = ""  # would leave the typed text in the browser)
    with st.form("ua_add", clear_on_submit=False, border=True):
        st.markdown("**Add a user**")
        left, right = st.columns(2)
        username = left.text_input("Username", key="ua_new_username",
                                   help="2 to 64 characters: a-z, 0-9, '_', '.', '-'")
        name = right.text_input("Full name", key="ua_new_name", help=up_to(MAX_FULL_NAME))
        email = left.text_input("Email", key="ua_new_email", help=up_to(MAX_EMAIL))
        role = right.selectbox("Role", ROLES, key="ua_new_role", help=ROLE_HELP)
        password = left.text_input("Initial password", type="password", key="ua_new_password",
                                   help=f"{PASSWORD_RULE} Tell it to the user out of band.")
        if st.form_submit_button("Add user", type="primary", icon=":material/person_add:") \
                and not refuse_too_long({"Full name": (name, MAX_FULL_NAME),
                                         "Email": (email, MAX_EMAIL)}):
            try:
                created = add_user(db, username, name, role, password, email=email,
                                   actor=admin.username)
            except DocketError as e:
                show_error(e)
            else:
                flash(f"User {created.username!r} added as {created.role}.")
                st.session_state[EMPTY_NEXT_RUN] = True
                st.rerun()


def manage_user(db: Database, admin: UserInfo, users: list[UserInfo]) -> None:
    """Role, disable/enable and password reset of one chosen account."""
    by_name = {u.username: u for u in users}
    if st.session_state.get(MANAGE_KEY) not in by_name:
        st.session_state.pop(MANAGE_KEY, None)
    with st.container(border=True):
        st.markdown("**Manage a user**")
        username = st.selectbox("User", list(by_name), key=MANAGE_KEY,
                                format_func=lambda n: f"{by_name[n].name} ({n})")
        if username is None:
            return
        target = by_name[username]
        role_col, status_col = st.columns(2)
        with role_col:
            new_role = st.selectbox("Role", ROLES, index=ROLES.index(target.role),
                                    key=f"ua_role_{username}", help=ROLE_HELP)
            if st.button("Change role", key="ua_set_role", disabled=new_role == target.role):
                _attempt(lambda: set_role(db, username, new_role, actor=admin.username),
                         f"{username} is now {new_role}.")
        with status_col:
            st.markdown(f"Status: **{'disabled' if target.disabled else 'active'}**")
            if target.disabled:
                if st.button("Enable", key="ua_enable", icon=":material/lock_open:"):
                    _attempt(lambda: set_disabled(db, username, False,
                                                  actor=admin.username), f"{username} enabled.")
            elif st.button("Disable", key="ua_disable", icon=":material/block:",
                           help="The user is signed out at their next action."):
                _attempt(lambda: set_disabled(db, username, True, actor=admin.username),
                         f"{username} disabled; their sessions end at their next action.")
        password = st.text_input("New password", type="password", key=f"ua_password_{username}",
                                 help=f"{PASSWORD_RULE} Also lifts a sign-in lockout.")
        if st.button("Reset password", key="ua_reset_password", icon=":material/password:"):
            _attempt(lambda: set_password(db, username, password, actor=admin.username),
                     f"Password of {username} reset.")
        second_factor_panel(db, admin, username)


def mfa_status_text(status: MfaStatus) -> str:
    if not status.enrolled:
        return "not set up"
    return (f"set up on {when(status.enrolled_at)} UTC, {status.recovery_codes_left} recovery "
            f"code{'' if status.recovery_codes_left == 1 else 's'} left")


def second_factor_panel(db: Database, admin: UserInfo, username: str) -> None:
    """The user's second factor, and "Reset second factor" (after a confirmation): a lost
    phone. Core removes the secret and the recovery codes and ends the user's sessions; the
    user sets it up again at their next sign-in (if their role needs one)."""
    status = mfa_status(db, username)
    st.markdown(f"Second factor: **{esc(mfa_status_text(status))}**")
    if not status.enrolled:
        st.session_state.pop(CONFIRM_MFA_RESET, None)
        return
    if st.session_state.get(CONFIRM_MFA_RESET) != username:
        st.button("Reset second factor", key="ua_mfa_reset_ask", icon=":material/phonelink_erase:",
                  on_click=_ask_mfa_reset, args=(username,),
                  help="For a lost phone. Asks for a confirmation first.")
        return
    st.warning(f"Reset the second factor of **{esc(username)}**? Their authenticator app and "
               "recovery codes stop working, their open sessions end at their next action, and "
               "they set up a new second factor at their next sign-in.",
               icon=":material/warning:")
    yes_no = st.container(horizontal=True)
    if yes_no.button("Reset second factor", type="primary", key="ua_mfa_reset_confirm",
                     icon=":material/phonelink_erase:"):
        st.session_state.pop(CONFIRM_MFA_RESET, None)
        _attempt(lambda: reset_mfa(db, username, actor=admin.username),
                 f"Second factor of {username} reset: they set up a new one at their next "
                 "sign-in.")
    if yes_no.button("Cancel", key="ua_mfa_reset_cancel"):
        st.session_state.pop(CONFIRM_MFA_RESET, None)
        st.rerun()


def _ask_mfa_reset(username: str) -> None:
    st.session_state[CONFIRM_MFA_RESET] = username


def _attempt(command, success: str) -> None:
    try:
        command()
    except DocketError as e:
        show_error(e)
    else:
        flash(success)
        st.rerun()

