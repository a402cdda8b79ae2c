"""What every page needs: the prepared database, the signed-in user, one-shot messages."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from core import config, settings_store
from core.access.users import UserInfo
from core.app_setup import start_server
from core.store.db import Database

MAIN_SCRIPT = "dashboard.py"
USER_KEY = "docket_user"
URL_NOTED_KEY = "docket_url_noted"


@st.cache_resource(show_spinner="Preparing the database...")
def _prepared(url: str) -> Database:
    """Once per process and database: schema, default workflows and views, demo data, and
    the background notification dispatcher (the server's start did it already; the AppTest
    harness runs the dashboard without the server)."""
    return start_server(url)


def database() -> Database:
    return _prepared(config.database_url())


def through_router() -> None:
    """Sends a page run that bypassed the router back through it.

    Until a script calls st.navigation, Streamlit runs files in a `pages/` folder by itself
    (its legacy multipage mode): on a process's first run, a URL like /cases would skip the
    sign-in and role checks. Such a run is redirected to the router (the URL's query kept).
    """
    if PagesManager.uses_pages_directory:
        st.switch_page(MAIN_SCRIPT, query_params=st.query_params.to_dict())


def current_user() -> UserInfo:
    """The signed-in user, as the router re-read them from the database for this run."""
    through_router()
    user = st.session_state.get(USER_KEY)
    if user is None:
        st.stop()
    if not st.session_state.get(URL_NOTED_KEY):  # once a session: where staff open the app
        settings_store.note_app_url(database(), st.context.url)
        st.session_state[URL_NOTED_KEY] = True
    return user

