"""Docket's dashboard: the router. Sign-in first; then the pages the user's role may open.

The server (`streamlit run streamlit_app.py`) runs this script for every browser session.

One exception: an applicant's emailed link (`/?reupload=TOKEN`) opens the public re-upload
page, and only it, without sign-in; the page itself checks the token."""
from __future__ import annotations

import streamlit as st

from ui import auth
from ui.context import database
from ui.navigation import pages_for, signed_out_pages
from ui.reupload_form import REUPLOAD_PAGE, REUPLOAD_PARAM
from ui.text import esc

st.set_page_config(page_title="Docket", page_icon=":material/fact_check:", layout="wide")

db = database()

if REUPLOAD_PARAM in st.query_params:
    st.navigation([st.Page(REUPLOAD_PAGE, title="Upload documents", icon=":material/upload:",
                           default=True)], position="hidden").run()
    st.stop()

authenticator, key_message = auth.authenticator(db)
user = auth.signed_in(db, authenticator)

if user is None:
    def sign_in() -> None:
        auth.login_page(db, authenticator, key_message)

    st.navigation(signed_out_pages(sign_in), position="hidden").run()
    st.stop()

page = st.navigation(pages_for(user.role))
with st.sidebar:
    st.markdown(f"**{esc(user.name)}**  \n{esc(user.role.capitalize())} · {esc(user.username)}")
    if st.button("Sign out", icon=":material/logout:", key="sign_out"):
        auth.sign_out(authenticator)
        st.rerun()
    auth.sync_cookie(authenticator)
page.run()
