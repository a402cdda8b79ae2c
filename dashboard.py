"""Docket's dashboard: the router. Sign-in first; then the pages the user's role may open.

The server (`streamlit run streamlit_app.py`) runs this script for every browser session.

One exception: an applicant's emailed link (`/?reupload=TOKEN`) opens the public re-upload
page, and only it, without sign-in; the page itself checks the token.

Tables offer no "Download as CSV" and no clipboard copy (`client.disableDataExport` in
.streamlit/config.toml): that export skips the formula protection of `core.worklist.export`,
and every table here can show an applicant's text. "Export CSV" on the Cases page is the one export."""
from __future__ import annotations

import streamlit as st

from ui import auth
from ui.context import database
from ui.list_state import remember_page
from ui.navigation import pages_for, signed_out_pages
from ui.reupload_form import REUPLOAD_PAGE, REUPLOAD_PARAM
from ui.second_factor import new_recovery_codes_shown
from ui.text import esc

# The sign-in cookie's component (streamlit-authenticator's CookieManager) is an empty iframe
# drawn on every page: it took the first Tab stop and a gap at the top. It works hidden.
HIDDEN_COOKIE_FRAME = """<style>
.stElementContainer:has(> iframe[title^="extra_streamlit_components.CookieManager"]),
.stElementContainer:has(> div > iframe[title^="extra_streamlit_components.CookieManager"])
{ display: none; }
</style>"""

st.set_page_config(page_title="Docket", page_icon=":material/fact_check:", layout="wide")
st.html(HIDDEN_COOKIE_FRAME)

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

if new_recovery_codes_shown(db, user.username):
    auth.sync_cookie(authenticator)
    st.stop()

# every page in sight: an admin has 14 and Streamlit would fold all past the tenth under
# "View N more"
page = st.navigation(pages_for(user.role), expanded=True)
with st.sidebar:
    st.markdown(f"**{esc(user.name)}**  \n{esc(user.role.capitalize())} · {esc(user.username)}")
    if st.button("Sign out", icon=":material/logout:", key="sign_out"):
        auth.sign_out(db, authenticator)
        st.rerun()
    auth.sync_cookie(authenticator)
    auth.watch_session(db, authenticator)
remember_page(f"{page.title}|{page.url_path}")
page.run()
