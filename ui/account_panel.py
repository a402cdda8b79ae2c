"""The "My account" page's widgets, for every signed-in user: who they are, their second
factor (set it up, or make new recovery codes against a current code), and their own open
sessions with "Sign out everywhere else".

Every check is core's (`core.signin.mfa`, `core.signin.sessions`), against this browser's
session token. New recovery codes are shown once, by the router, before any page
(`ui.second_factor.new_recovery_codes_shown`), as after a sign-in that set them up."""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError, SignInRefused
from core.signin import mfa, sessions
from core.store.db import Database
from ui import auth
from ui.admin import flash, show_error
from ui.second_factor import NEW_CODES_KEY, code_input, show_enrolment
from ui.sessions_panel import count, sessions_frame
from ui.text import esc, when

ENROLLING_KEY = "acct_enrolling"   # the set-up form is open


def _token() -> str:
    return st.session_state.get(auth.SESSION_KEY) or ""


def who(user: UserInfo) -> None:
    with st.container(border=True):
        st.markdown(f"**{esc(user.name)}**  \nUsername: {esc(user.username)} · Role: "
                    f"{esc(user.role)}" + (f" · Email: {esc(user.email)}" if user.email else ""))


def second_factor_section(db: Database, user: UserInfo) -> None:
    st.subheader("Two-step sign-in", anchor=False)
    status = mfa.mfa_status(db, user.username)
    if status.enrolled:
        st.session_state.pop(ENROLLING_KEY, None)
        left = status.recovery_codes_left
        st.markdown(f"Second factor: **set up on {when(status.enrolled_at)} UTC** · "
                    f"{left} recovery code{'' if left == 1 else 's'} left")
        st.caption("Lost your phone? An admin can reset your second factor; you then set up "
                   "a new one at your next sign-in.")
        _renew_form(db)
        return
    st.markdown("Second factor: **not set up**")
    st.caption("With two-step sign-in, each sign-in asks for your password and a 6-digit code "
               "from an authenticator app on your phone.")
    if not st.session_state.get(ENROLLING_KEY):
        if st.button("Set up two-step sign-in", type="primary", key="acct_enrol_start",
                     icon=":material/phonelink_lock:"):
            st.session_state[ENROLLING_KEY] = True
            st.rerun()
        return
    _enrol(db)


def _refused(e: DocketError) -> None:
    """A refused code is said; a locked account (the fifth wrong code) is signed out by the
    router at the next run, with the reason."""
    if isinstance(e, SignInRefused) and e.reason == "locked":
        st.rerun()
    show_error(e)


def _enrol(db: Database) -> None:
    try:
        enrolment = mfa.begin_enrolment(db, _token())
    except DocketError as e:
        st.session_state.pop(ENROLLING_KEY, None)
        show_error(e)
        return
    with st.container(border=True):
        with show_enrolment(enrolment):
            with st.form("acct_enrol", clear_on_submit=True, border=False):
                code = code_input("Code from the app")
                submitted = st.form_submit_button("Confirm", type="primary")
            if st.button("Cancel", key="acct_enrol_cancel"):
                st.session_state.pop(ENROLLING_KEY, None)
                st.rerun()
    if submitted:
        try:
            codes = mfa.confirm_enrolment(db, _token(), code)
        except DocketError as e:
            _refused(e)
            return
        st.session_state.pop(ENROLLING_KEY, None)
        flash("Two-step sign-in is set up: your next sign-in asks for a code.")
        st.session_state[NEW_CODES_KEY] = codes  # shown once, before the page, at the rerun
        st.rerun()


def _renew_form(db: Database) -> None:
    with st.form("acct_renew", clear_on_submit=True, border=True):
        st.markdown("**New recovery codes**")
        st.caption("Ten new codes; the old ones stop working. Enter a current code from your "
                   "authenticator app to confirm it is you.")
        code = code_input("Code from the app")
        submitted = st.form_submit_button("Make new recovery codes", icon=":material/key:")
    if submitted:
        try:
            codes = mfa.renew_recovery_codes(db, _token(), code)
        except DocketError as e:
            _refused(e)
            return
        flash("New recovery codes made: the old ones no longer work.")
        st.session_state[NEW_CODES_KEY] = codes
        st.rerun()


def sessions_section(db: Database, user: UserInfo) -> None:
    st.subheader("Where you are signed in", anchor=False)
    mine = sessions.list_my_sessions(db, user.username)
    if mine:
        st.dataframe(sessions_frame(mine, show_user=False), hide_index=True, width="stretch",
                     key="acct_sessions")
    others = sum(r.id != sessions.session_id(_token()) for r in mine)
    st.caption(f"{count(len(mine), 'open session')}, {others} in other browsers. A session "
               "ends after a while without activity, or when you sign out.")
    if st.button("Sign out everywhere else", key="acct_everywhere_else", icon=":material/devices:",
                 disabled=others == 0,
                 help="Ends your sessions in every other browser; this one stays signed in. "
                      "Each is signed out at its next action."):
        try:
            ended = sessions.sign_out_everywhere(db, user.username, actor=user.username,
                                                 keep_token=_token())
        except DocketError as e:
            show_error(e)
            return
        flash(f"Signed out everywhere else: {count(ended, 'other session')} ended. This browser "
              "stays signed in.")
        st.rerun()
