"""Sign-in with streamlit-authenticator, checked against the users in the database.

The authenticator draws the form and keeps the signed cookie; the password check itself is
`core.access.users.verify_login` (bcrypt, disabled users refused, failures counted in the database,
5 in a row lock the account for 15 minutes). Every run re-reads the signed-in user, so a
disabled user is signed out at their next action.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core import config
from core.access.auth_settings import COOKIE_EXPIRY_DAYS, COOKIE_NAME, cookie_key
from core.access.users import (
    DEMO_USERS,
    UserInfo,
    authenticator_credentials,
    signed_in_user,
    verify_login,
)
from core.errors import DocketError
from core.store.db import Database
from ui.context import USER_KEY

# Seconds the authenticator waits before drawing the form (its default: 0.7). Tests set 0.
LOGIN_SLEEP_TIME: float | None = None
_ERROR_KEY = "docket_login_error"
# A cookie change ("set" after a form sign-in, "delete" after a sign-out) the browser has not
# done yet. The cookie is written by a component (an iframe) drawn in the run that signs in or
# out; that run ends with st.rerun(), which removes the iframe before the browser loads it. So
# the following runs draw it again until the component reports back (its value is True once the
# browser changed the cookie). Without this, a reload would not keep the reviewer signed in,
# and a sign-out would not survive a reload.
_COOKIE_TODO_KEY = "docket_cookie_todo"
_AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles", "logout")
_FIELDS = {"Form name": "Sign in", "Username": "Username", "Password": "Password",
           "Login": "Login"}
# The form's heading is the authenticator's (no `anchor=False` there): its "Link to heading"
# anchor was a Tab stop before Username.
_NO_FORM_ANCHOR = """<style>
[data-testid="stForm"] [data-testid="stHeaderActionElements"] { display: none; }
</style>"""


def authenticator(db: Database) -> tuple[stauth.Authenticate, str]:
    """One authenticator per run, on a fresh credentials dict (it mutates what it gets).
    Returns it and the message to show when a cookie key was just generated ("" otherwise)."""
    key = cookie_key()
    extra = {} if LOGIN_SLEEP_TIME is None else {"login_sleep_time": LOGIN_SLEEP_TIME}
    auth = stauth.Authenticate(authenticator_credentials(db), COOKIE_NAME, key.key,
                               COOKIE_EXPIRY_DAYS, auto_hash=False, **extra)

    def check_credentials(username: str, password: str) -> bool:
        try:
            verify_login(db, username, password)
        except DocketError as e:
            st.session_state[_ERROR_KEY] = str(e)
            return False
        st.session_state.pop(_ERROR_KEY, None)
        return True

    # The database decides (lockout, disabled users, failure counting), not the dict.
    auth.authentication_controller.authentication_model.check_credentials = check_credentials
    return auth, key.message


def signed_in(db: Database, auth: stauth.Authenticate) -> UserInfo | None:
    """The user of this session, re-read from the database; signs out a disabled user."""
    if st.session_state.get("authentication_status") is not True:
        st.session_state.pop(USER_KEY, None)
        return None
    user = signed_in_user(db, st.session_state.get("username"))
    if user is None:
        sign_out(auth, message="Your account is disabled or no longer exists; "
                               "you have been signed out.")
        return None
    st.session_state[USER_KEY] = user
    return user


def sign_out(auth: stauth.Authenticate, message: str = "") -> None:
    if st.session_state.get("authentication_status"):
        # Clears the authenticator's session; the cookie is deleted by sync_cookie (drawing
        # the delete component here too would draw it twice in one run).
        auth.authentication_controller.logout()
    for key in list(st.session_state):
        if key not in _AUTH_KEYS:
            del st.session_state[key]
    st.session_state[_COOKIE_TODO_KEY] = "delete"
    if message:
        st.session_state[_ERROR_KEY] = message


def sync_cookie(auth: stauth.Authenticate) -> None:
    """Draws the cookie component of a pending cookie change until the browser has done it
    (see _COOKIE_TODO_KEY). The component's key ("set" / "delete", streamlit-authenticator's
    CookieManager) holds its value; True means done."""
    todo = st.session_state.get(_COOKIE_TODO_KEY)
    if todo not in ("set", "delete"):
        return
    signed_in_now = st.session_state.get("authentication_status") is True
    if (todo == "set") != signed_in_now:  # signed out (or in) again meanwhile
        st.session_state.pop(_COOKIE_TODO_KEY, None)
        return
    if st.session_state.get(todo) is True:
        st.session_state.pop(_COOKIE_TODO_KEY, None)
        return
    if todo == "set":
        auth.cookie_controller.set_cookie()
    else:
        auth.cookie_controller.delete_cookie()


def login_page(db: Database, auth: stauth.Authenticate, key_message: str = "") -> None:
    """The only page before sign-in: the form, and the demo accounts in demo mode."""
    st.title("Docket", anchor=False)
    st.caption("KYC/KYB case management")
    st.html(_NO_FORM_ANCHOR)
    if key_message:
        st.info(key_message, icon=":material/key:")
    try:
        auth.login(location="main", fields=_FIELDS, key="docket_login")
    except LoginError as e:  # e.g. a cookie naming a user who is now disabled
        st.session_state[_ERROR_KEY] = str(e)
    if st.session_state.get("authentication_status") is True:
        st.session_state[_COOKIE_TODO_KEY] = "set"
        st.rerun()  # draw the app, not the form we just showed
    sync_cookie(auth)
    message = st.session_state.get(_ERROR_KEY)
    if message and st.session_state.get("authentication_status") is not True:
        st.error(message, icon=":material/lock:")
    if config.demo_mode(db.url):
        _demo_accounts()


def _demo_accounts() -> None:
    with st.container(border=True):
        st.markdown("**Demo mode** — sample data and these demo accounts, "
                    "with their passwords shown to everyone. Never use demo mode for real cases.")
        st.table(pd.DataFrame(
            [{"Username": u, "Password": p, "Role": r.value, "Name": n}
             for u, n, r, p in DEMO_USERS]), hide_index=True)
