"""Sign-in with streamlit-authenticator's form, every decision taken in `core.signin`.

The authenticator draws the password form and keeps the signed cookie. The password check is
`core.signin.password.sign_in_with_password` (bcrypt, lockout, audit), which also opens a
server-side session; its random token rides in the signed cookie (claim `sid`). Every run
checks that session (`core.signin.sessions.check`): idle timeout, lifetime, an admin ending
it, a disabled user, a rotated cookie key — so the person is signed out at their next action,
whichever app process serves it. A session that still owes a second factor shows the code
step (ui/second_factor.py) instead of the app.
"""
from __future__ import annotations

import jwt
import pandas as pd
import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError

from core import config
from core.access.auth_settings import COOKIE_EXPIRY_DAYS, COOKIE_NAME, cookie_key
from core.access.users import DEMO_USERS, UserInfo, authenticator_credentials, signed_in_user
from core.errors import DocketError
from core.signin import sessions
from core.signin.password import sign_in_with_password
from core.signin.policy import read_policy
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
# The token of this browser's server-side session (core.signin.sessions), as in the cookie.
SESSION_KEY = "docket_session_token"
# What the session still owes before the app opens: "mfa" (a code) or "enrol" (set one up).
PENDING_KEY = "docket_signin_pending"
_AUTH_KEYS = ("authentication_status", "username", "name", "email", "roles", "logout")
_FIELDS = {"Form name": "Sign in", "Username": "Username", "Password": "Password",
           "Login": "Login"}
# The form's heading is the authenticator's (no `anchor=False` there): its "Link to heading"
# anchor was a Tab stop before Username.
_NO_FORM_ANCHOR = """<style>
[data-testid="stForm"] [data-testid="stHeaderActionElements"] { display: none; }
</style>"""


def client() -> sessions.Client:
    """The browser's address and user agent as this server sees them, for the record (never
    trusted): the connection's address ("loopback" for 127.0.0.1 and ::1, which Streamlit
    does not give), preceded by the first X-Forwarded-For entry when a proxy sent one."""
    try:
        addr = st.context.ip_address
        agent = st.context.headers.get("User-Agent", "")
        forwarded = st.context.headers.get("X-Forwarded-For", "")
    except Exception:  # noqa: BLE001  (a bare run has no request)
        return sessions.Client()
    if not isinstance(agent, str):  # AppTest: stand-ins, no request
        return sessions.Client()
    addr = addr if isinstance(addr, str) and addr else "loopback"
    if isinstance(forwarded, str) and forwarded.split(",")[0].strip():
        addr = f"{forwarded.split(',')[0].strip()[:39]} via {addr}"
    return sessions.Client(addr[:64], agent[:300])


def key_id() -> str:
    return sessions.key_fingerprint(cookie_key().key)


def _carry_the_session_in_the_cookie(auth: stauth.Authenticate) -> None:
    """The cookie's signed token carries the session's token (`sid`) beside the username; a
    cookie without one (issued before sessions existed, or forged) signs no one in."""
    model = auth.cookie_controller.cookie_model

    def encode() -> str:
        return jwt.encode({"username": st.session_state["username"],
                           "sid": st.session_state.get(SESSION_KEY),
                           "exp_date": model.exp_date}, model.cookie_key, algorithm="HS256")

    plain_get_cookie = model.get_cookie

    def get_cookie():
        token = plain_get_cookie()
        if not token or not isinstance(token.get("sid"), str):
            return None
        st.session_state[SESSION_KEY] = token["sid"]
        return token

    model._token_encode = encode
    model.get_cookie = get_cookie


def authenticator(db: Database) -> tuple[stauth.Authenticate, str]:
    """One authenticator per run, on a fresh credentials dict (it mutates what it gets).
    Returns it and the message to show when a cookie key was just generated ("" otherwise)."""
    key = cookie_key()
    extra = {} if LOGIN_SLEEP_TIME is None else {"login_sleep_time": LOGIN_SLEEP_TIME}
    auth = stauth.Authenticate(authenticator_credentials(db), COOKIE_NAME, key.key,
                               COOKIE_EXPIRY_DAYS, auto_hash=False, **extra)

    def check_credentials(username: str, password: str) -> bool:
        try:
            start = sign_in_with_password(db, username, password, client=client(),
                                          key_id=sessions.key_fingerprint(key.key))
        except DocketError as e:
            st.session_state[_ERROR_KEY] = str(e)
            return False
        st.session_state.pop(_ERROR_KEY, None)
        st.session_state[SESSION_KEY] = start.token
        st.session_state[PENDING_KEY] = start.next_step
        return True

    # The database decides (lockout, disabled users, failure counting, sessions), not the dict.
    auth.authentication_controller.authentication_model.check_credentials = check_credentials
    _carry_the_session_in_the_cookie(auth)
    return auth, key.message


def signed_in(db: Database, auth: stauth.Authenticate, *, touch: bool = True) -> UserInfo | None:
    """The user of this session, re-read from the database, once its server-side session is
    open and owes nothing; signs out a session that ended (the reason is shown at sign-in).
    `touch=False`: a background check, not the person's action (the idle clock runs on)."""
    if st.session_state.get("authentication_status") is not True:
        st.session_state.pop(USER_KEY, None)
        return None
    username = st.session_state.get("username") or ""
    check = sessions.check(db, st.session_state.get(SESSION_KEY), username=username,
                           key_id=key_id(), touch=touch)
    user = signed_in_user(db, username) if check.ok else None
    if user is None:
        reason = check.reason if not check.ok else "disabled"
        sign_out(db, auth, message=check.message if not check.ok else
                 sessions.end_message(reason), ended=True)
        return None
    if check.state != "active":
        st.session_state[PENDING_KEY] = check.state
        st.session_state.pop(USER_KEY, None)
        return None
    st.session_state.pop(PENDING_KEY, None)
    st.session_state[USER_KEY] = user
    return user


def second_step_due() -> str:
    """"mfa" or "enrol" while the signed-in session still owes a second factor; else ""."""
    if st.session_state.get("authentication_status") is not True:
        return ""
    return st.session_state.get(PENDING_KEY) or ""


def sign_out(db: Database, auth: stauth.Authenticate, message: str = "", *,
             ended: bool = False) -> None:
    """Signs this browser out: its server-side session ends (unless it `ended` already), the
    authenticator forgets the user, the cookie goes at the next drawing."""
    from ui import sso  # noqa: PLC0415  (single sign-on; ui/sso.py imports this module)
    keep = sso.on_sign_out(ended=ended)  # SSO: Streamlit's identity goes too (ui/sso.py)
    if not ended:
        sessions.sign_out(db, st.session_state.get(SESSION_KEY))
    if st.session_state.get("authentication_status"):
        # Clears the authenticator's session; the cookie is deleted by sync_cookie (drawing
        # the delete component here too would draw it twice in one run).
        auth.authentication_controller.logout()
    for key in list(st.session_state):
        if key not in _AUTH_KEYS:
            del st.session_state[key]
    st.session_state[_COOKIE_TODO_KEY] = "delete"
    st.session_state.update(keep)  # SSO (ui/sso.py)
    if message:
        st.session_state[_ERROR_KEY] = message


def watch_session(db: Database, auth: stauth.Authenticate) -> None:
    """Re-checks the session in the background (a fragment, without counting as activity),
    so an idle or ended session leaves the screen without waiting for a click. Not while a
    cookie change is pending: the fragment would keep the cookie component from reporting."""
    if st.session_state.get(_COOKIE_TODO_KEY):
        return
    idle = read_policy(db).idle_timeout.total_seconds()
    every = max(1.0, min(60.0, idle / 3))

    @st.fragment(run_every=every)
    def check_in_background() -> None:
        if signed_in(db, auth, touch=False) is None:
            st.rerun(scope="app")

    check_in_background()


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
    """The only page before sign-in: the form, and the demo accounts in demo mode; or, after
    the password, the second step."""
    st.title("Docket", anchor=False)
    st.caption("KYC/KYB case management")
    if second_step_due():
        from ui.second_factor import second_step  # noqa: PLC0415  (only drawn when due)
        sync_cookie(auth)
        second_step(db, auth)
        return
    from ui import sso  # noqa: PLC0415  (single sign-on; ui/sso.py imports this module)
    st.html(_NO_FORM_ANCHOR)
    if key_message:
        st.info(key_message, icon=":material/key:")
    sso.sso_only_note(db)  # SSO only: the form is for the break-glass admin
    try:
        auth.login(location="main", fields=_FIELDS, key="docket_login")
    except LoginError as e:  # e.g. a cookie naming a user who is now disabled
        st.session_state[_ERROR_KEY] = str(e)
    if st.session_state.get("authentication_status") is True:
        st.session_state[_COOKIE_TODO_KEY] = "set"
        st.rerun()  # draw the app, not the form we just showed
    if sso.complete_sso(db, auth):  # back from the provider: core signs them in (or says no)
        st.rerun()
    sync_cookie(auth)
    sso.finish_sign_out()  # after "Sign out" of an SSO user: Streamlit's identity goes too
    message = st.session_state.get(_ERROR_KEY)
    if message and st.session_state.get("authentication_status") is not True:
        st.error(message, icon=":material/lock:")
    sso.sso_buttons()
    if config.demo_mode(db.url):
        _demo_accounts()


def _demo_accounts() -> None:
    with st.container(border=True):
        st.markdown("**Demo mode** — sample data and these demo accounts, "
                    "with their passwords shown to everyone. Never use demo mode for real cases.")
        st.table(pd.DataFrame(
            [{"Username": u, "Password": p, "Role": r.value, "Name": n}
             for u, n, r, p in DEMO_USERS]), hide_index=True)
