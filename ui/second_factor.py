"""The second step of a password sign-in: a code from an authenticator app (or a recovery
code), or — for a user who must have one and has none — setting it up: a QR code, the
secret for typing in, one code to confirm, then the 10 recovery codes, shown once.

Every check is core's (`core.signin.mfa`); this module draws the forms and says the result."""
from __future__ import annotations

import streamlit as st
import streamlit_authenticator as stauth

from core.errors import DocketError, SignInRefused
from core.signin import mfa
from core.store.db import Database
from ui import auth

NEW_CODES_KEY = "docket_new_recovery_codes"
_ERROR_KEY = "docket_second_step_error"


def second_step(db: Database, authenticator: stauth.Authenticate) -> None:
    if auth.second_step_due() == "enrol":
        _enrol(db, authenticator)
    else:
        _ask_for_code(db, authenticator)
    if st.button("Cancel and sign out", icon=":material/logout:", key="second_step_cancel"):
        auth.sign_out(db, authenticator)
        st.rerun()


def _token() -> str:
    return st.session_state.get(auth.SESSION_KEY) or ""


def _refused(db: Database, authenticator: stauth.Authenticate, e: DocketError) -> None:
    """A refused code: said under the form; a locked account ends the attempt."""
    if isinstance(e, SignInRefused) and e.reason == "locked":
        auth.sign_out(db, authenticator, message=str(e), ended=True)
        st.rerun()
    st.session_state[_ERROR_KEY] = str(e)


def code_input(label: str) -> str:
    """The field a code from the authenticator app (or a recovery code) is typed in."""
    return st.text_input(label, autocomplete="one-time-code",
                         placeholder="123456")


def show_enrolment(enrolment: mfa.Enrolment):
    """The QR code to scan and the key to type, side by side; returns the right-hand column,
    where the caller puts the form confirming a first code."""
    st.write("Scan this QR code with an authenticator app (Google Authenticator, Microsoft "
             "Authenticator, 1Password, Aegis…), then enter the 6-digit code it shows.")
    left, right = st.columns([1, 2])
    left.image(enrolment.qr_png, caption="Scan with your authenticator app", width=220)
    right.caption("No camera? Type this key into the app (time-based, 6 digits, 30 seconds):")
    right.code(" ".join(enrolment.secret[i:i + 4] for i in range(0, len(enrolment.secret), 4)),
               language=None)
    return right


def _ask_for_code(db: Database, authenticator: stauth.Authenticate) -> None:
    st.subheader("Two-step sign-in", anchor=False)
    st.write(f"Signed in as **{st.session_state.get('username', '')}**. Enter the 6-digit code "
             "from your authenticator app, or one of your recovery codes.")
    with st.form("second_factor", clear_on_submit=True, border=True):
        code = code_input("Code")
        submitted = st.form_submit_button("Verify", type="primary")
    if submitted:
        try:
            how = mfa.verify_second_factor(db, _token(), code)
        except DocketError as e:
            _refused(db, authenticator, e)
        else:
            st.session_state.pop(_ERROR_KEY, None)
            st.session_state.pop(auth.PENDING_KEY, None)
            if how == "recovery_code":
                st.session_state[NEW_CODES_KEY] = None  # tells the app to say how many are left
            st.rerun()
    if st.session_state.get(_ERROR_KEY):
        st.error(st.session_state[_ERROR_KEY], icon=":material/lock:")


def _enrol(db: Database, authenticator: stauth.Authenticate) -> None:
    st.subheader("Set up two-step sign-in", anchor=False)
    st.caption("Your role needs a second factor.")
    try:
        enrolment = mfa.begin_enrolment(db, _token())
    except DocketError as e:
        auth.sign_out(db, authenticator, message=str(e))
        st.rerun()
    with show_enrolment(enrolment):
        with st.form("enrol_second_factor", clear_on_submit=True, border=True):
            code = code_input("Code from the app")
            submitted = st.form_submit_button("Confirm", type="primary")
    if submitted:
        try:
            codes = mfa.confirm_enrolment(db, _token(), code)
        except DocketError as e:
            _refused(db, authenticator, e)
        else:
            st.session_state.pop(_ERROR_KEY, None)
            st.session_state.pop(auth.PENDING_KEY, None)
            st.session_state[NEW_CODES_KEY] = codes
            st.rerun()
    if st.session_state.get(_ERROR_KEY):
        st.error(st.session_state[_ERROR_KEY], icon=":material/lock:")


def new_recovery_codes_shown(db: Database, username: str) -> bool:
    """Right after setting up (or using a recovery code): the codes, once, before the app.
    True while this page is what the run draws."""
    if NEW_CODES_KEY not in st.session_state:
        return False
    codes = st.session_state[NEW_CODES_KEY]
    if codes is None:  # a recovery code was used: say how many are left, once
        st.session_state.pop(NEW_CODES_KEY)
        left = mfa.mfa_status(db, username).recovery_codes_left
        st.toast(f"Recovery code used: {left} left. An admin can reset your second factor "
                 "if your phone is lost.", icon=":material/key:", duration="long")
        return False
    st.title("Your recovery codes", anchor=False)
    st.write("Each code signs you in once if your phone is not at hand. Keep them somewhere "
             "safe (a password manager). **They are shown only now.**")
    st.code("\n".join(codes), language=None)
    st.download_button("Download as a text file", "\n".join(codes) + "\n",
                       file_name="docket-recovery-codes.txt", mime="text/plain",
                       icon=":material/download:", on_click="ignore")
    if st.button("I have saved them — continue", type="primary", key="codes_saved"):
        st.session_state.pop(NEW_CODES_KEY)
        st.rerun()
    return True
