"""The Sign-ins tab of the Users page: the sign-in history from the audit log — successes,
refusals with their reason, second-factor changes, ended sessions — filtered by user, outcome
and date, newest first, 50 a page with "Older" (paged by id in SQL: core/signin/history.py).

Usernames here are whatever someone typed at the sign-in form, an attacker's text included:
they are shown only in the table (st.dataframe draws text, never HTML) or escaped."""
from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.signin.history import MAX_USERNAME_FILTER, SignInEvent, sign_in_events
from core.store.db import Database
from ui.admin import show_error
from ui.limits import cut_to_limit, show_cut_note
from ui.text import count_of, when

PAGE_SIZE = 50
CURSOR_KEY = "si_cursor"      # the before_id of each page shown so far (None: the newest)
FILTER_KEYS = ("si_user", "si_outcome", "si_dates")
OUTCOMES = {"": "Every outcome", "succeeded": "Signed in", "failed": "Refused or locked",
            "mfa": "Second factor", "session": "Session ended"}
COLUMNS = ["When (UTC)", "User", "Event", "Outcome", "Method", "Client address", "By"]


def events_frame(events: list[SignInEvent]) -> pd.DataFrame:
    return pd.DataFrame([{
        "When (UTC)": e.at.strftime("%Y-%m-%d %H:%M:%S") if e.at else "", "User": e.username,
        "Event": e.sentence, "Outcome": e.outcome, "Method": e.method, "Client address":
        e.client_addr, "By": e.by,
    } for e in events], columns=COLUMNS)


def _first_page() -> None:
    st.session_state[CURSOR_KEY] = [None]


def sign_ins_section(db: Database, admin: UserInfo) -> None:
    user_col, outcome_col, dates_col = st.columns([2, 2, 3])
    username = user_col.text_input(
        "User", key="si_user", placeholder="Any user",
        on_change=cut_to_limit("si_user", MAX_USERNAME_FILTER, "User", then=_first_page),
        help="A username, or a name as typed at a refused sign-in (any case).")
    show_cut_note("si_user", user_col)
    outcome = outcome_col.selectbox("Outcome", list(OUTCOMES), key="si_outcome",
                                    format_func=OUTCOMES.get, on_change=_first_page)
    dates = dates_col.date_input("Between (UTC)", value=(), key="si_dates",
                                 on_change=_first_page, max_value=date.today(),
                                 help="A first day, or a first and a last day (both included).")
    since, until = _range(dates)
    cursor = st.session_state.setdefault(CURSOR_KEY, [None])
    try:
        events = sign_in_events(db, actor=admin.username, username=username or None,
                                outcome=outcome or None, since=since, until=until,
                                before_id=cursor[-1], limit=PAGE_SIZE + 1)
    except DocketError as e:
        show_error(e)
        return
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    page = len(cursor)
    if events:
        st.caption(f"Page {page}: {count_of(len(events), 'event')}, newest first, from "
                   f"{when(events[-1].at)} to {when(events[0].at)} (UTC).")
        st.dataframe(events_frame(events), hide_index=True, width="stretch", key="si_table",
                     column_config={"User": st.column_config.TextColumn(width="medium"),
                                    "Event": st.column_config.TextColumn(width="medium")})
    else:
        st.caption("No sign-in event matches these filters." if page == 1
                   else "No older event.")
    pager = st.container(horizontal=True)
    if pager.button("Newest", key="si_newest", icon=":material/first_page:",
                    disabled=page == 1):
        _first_page()
        st.rerun()
    if pager.button("Older", key="si_older", icon=":material/chevron_right:",
                    disabled=not more):
        st.session_state[CURSOR_KEY] = [*cursor, events[-1].id]
        st.rerun()


def _range(dates) -> tuple[date | None, date | None]:
    """The date input's value: nothing, one day (from it on), or a first and a last day."""
    if isinstance(dates, date):
        return dates, None
    dates = tuple(dates or ())
    if len(dates) == 1:
        return dates[0], None
    if len(dates) == 2:
        return dates[0], dates[1]
    return None, None
