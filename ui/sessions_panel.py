"""The Sessions tab of the Users page: every open sign-in session (who, how, since when, last
seen, from where), ending one of them, and "Sign out everywhere" for one user — each after a
confirmation. The ended browser is signed out at its next action, in whichever app process
serves it (core/signin/sessions.py: every run checks the session's row). Every call goes
through `core.signin.sessions`, which checks the admin's role again and audits each end."""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.signin import sessions
from core.signin.sessions import SessionInfo
from core.store.db import Database
from ui import auth
from ui.admin import flash, show_error
from ui.text import esc, when

END_PICK = "ss_end_pick"              # the session picker (its widget key: end_widget_key)
CONFIRM_END = "ss_confirm_end"        # the session id whose end awaits a confirmation
EVERYWHERE_PICK = "ss_everywhere_user"
CONFIRM_EVERYWHERE = "ss_confirm_everywhere"  # the username awaiting a confirmation
COLUMNS = ["Session", "User", "State", "Method", "Started (UTC)", "Last seen (UTC)",
           "Client address", "User agent"]
STATE_TEXT = {"active": "signed in", "mfa": "code due", "enrol": "setting up a second factor"}
NEXT_ACTION = ("That browser is signed out at its next action (a click, or the background check "
               "within a minute), on every app server.")
AGENT_CHARS = 60


def count(n: int, word: str) -> str:
    """ "1 session", "2 sessions"."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def short_agent(agent: str) -> str:
    agent = " ".join((agent or "").split())
    return agent if len(agent) <= AGENT_CHARS else agent[:AGENT_CHARS - 1] + "…"


def this_browser() -> str:
    """The session id of the browser drawing this page ("" if unknown)."""
    token = st.session_state.get(auth.SESSION_KEY)
    return sessions.session_id(token) if isinstance(token, str) and token else ""


def sessions_frame(rows: list[SessionInfo], *, show_user: bool = True) -> pd.DataFrame:
    mine = this_browser()
    columns = COLUMNS if show_user else [c for c in COLUMNS if c != "User"]
    return pd.DataFrame([{
        "Session": r.id[:12], "User": r.username,
        "State": STATE_TEXT.get(r.state, r.state) + (" · this browser" if r.id == mine else ""),
        "Method": r.method, "Started (UTC)": when(r.started_at),
        "Last seen (UTC)": when(r.last_seen_at), "Client address": r.client_addr or "—",
        "User agent": short_agent(r.user_agent) or "—",
    } for r in rows], columns=columns)


def sessions_section(db: Database, admin: UserInfo, users: list[UserInfo]) -> None:
    """The whole tab: the table, end one session, sign a user out everywhere."""
    open_sessions = sessions.list_open(db, actor=admin.username)
    if open_sessions:
        people = len({r.username for r in open_sessions})
        st.caption(f"{count(len(open_sessions), 'open session')} of {count(people, 'user')}, "
                   "most recent activity first. Sessions past their idle timeout or lifetime are not "
                   "listed: they end at their next action.")
        st.dataframe(sessions_frame(open_sessions), hide_index=True, width="stretch",
                     key="ss_table")
    else:
        st.caption("No open session.")
    left, right = st.columns(2, gap="medium")
    with left:
        end_session_panel(db, admin, open_sessions)
    with right:
        everywhere_panel(db, admin, users, open_sessions)


def end_session_panel(db: Database, admin: UserInfo, open_sessions: list[SessionInfo]) -> None:
    by_id = {r.id: r for r in open_sessions}
    with st.container(border=True):
        st.markdown("**End a session**")
        if not by_id:
            st.caption("No open session to end.")
            return
        mine = this_browser()

        def label(sid: str) -> str:
            r = by_id[sid]
            where = r.client_addr or "unknown address"
            you = " — this browser" if sid == mine else ""
            return f"{r.username} · {where} · last seen {when(r.last_seen_at)} · {sid[:12]}{you}"

        sid = st.selectbox("Session", list(by_id), key=end_widget_key(open_sessions),
                           format_func=label)
        if st.session_state.get(CONFIRM_END) != sid:
            st.button("End session", key="ss_end_ask", icon=":material/logout:",
                      on_click=_ask, args=(CONFIRM_END, sid), help="Asks for a confirmation first")
            return
        target = by_id[sid]
        own = " This is your own session: you will be signed out." if sid == mine else ""
        st.warning(f"End the session of **{esc(target.username)}** from "
                   f"{esc(target.client_addr or 'an unknown address')}? {NEXT_ACTION}{own}",
                   icon=":material/warning:")
        yes_no = st.container(horizontal=True)
        if yes_no.button("End session", type="primary", key="ss_end_confirm",
                         icon=":material/logout:"):
            st.session_state.pop(CONFIRM_END, None)
            try:
                sessions.end_session(db, sid, actor=admin.username)
            except DocketError as e:
                show_error(e)
                return
            flash(f"Session of {target.username} ended. {NEXT_ACTION}")
            st.rerun()
        if yes_no.button("Cancel", key="ss_end_cancel"):
            st.session_state.pop(CONFIRM_END, None)
            st.rerun()


def end_widget_key(open_sessions: list[SessionInfo]) -> str:
    """The session picker's widget key: new whenever the set of open sessions changes, so the
    browser never keeps showing a session that has ended (a widget keeps its shown choice
    while its options change) while the server would act on another one."""
    digest = hashlib.sha256("\n".join(sorted(r.id for r in open_sessions)).encode())
    return f"{END_PICK}_{digest.hexdigest()[:12]}"


def everywhere_panel(db: Database, admin: UserInfo, users: list[UserInfo],
                     open_sessions: list[SessionInfo]) -> None:
    counts: dict[str, int] = {}
    for r in open_sessions:
        counts[r.username] = counts.get(r.username, 0) + 1
    by_name = {u.username: u for u in users}
    with st.container(border=True):
        st.markdown("**Sign out everywhere**")
        if st.session_state.get(EVERYWHERE_PICK) not in by_name:
            st.session_state.pop(EVERYWHERE_PICK, None)
        username = st.selectbox(
            "User", list(by_name), key=EVERYWHERE_PICK, index=None,
            placeholder="Choose a user",
            format_func=lambda n: f"{by_name[n].name} ({n}) · {counts.get(n, 0)} open")
        if username is None:
            st.caption("Ends every session of the user, in every browser.")
            return
        yourself = username == admin.username
        if st.session_state.get(CONFIRM_EVERYWHERE) != username:
            st.button("Sign out everywhere", key="ss_everywhere_ask", icon=":material/devices:",
                      on_click=_ask, args=(CONFIRM_EVERYWHERE, username),
                      help="Asks for a confirmation first")
            return
        keep = " (this browser stays signed in)" if yourself else ""
        st.warning(f"End every session of **{esc(username)}**{keep}? "
                   f"{counts.get(username, 0)} open now. Each browser is signed out at its "
                   "next action, on every app server.", icon=":material/warning:")
        yes_no = st.container(horizontal=True)
        if yes_no.button("Sign out everywhere", type="primary", key="ss_everywhere_confirm",
                         icon=":material/devices:"):
            st.session_state.pop(CONFIRM_EVERYWHERE, None)
            try:
                ended = sessions.sign_out_everywhere(
                    db, username, actor=admin.username,
                    keep_token=st.session_state.get(auth.SESSION_KEY) if yourself else None)
            except DocketError as e:
                show_error(e)
                return
            flash(f"{count(ended, 'session')} of {username} ended; each browser is signed out "
                  "at its next action.")
            st.rerun()
        if yes_no.button("Cancel", key="ss_everywhere_cancel"):
            st.session_state.pop(CONFIRM_EVERYWHERE, None)
            st.rerun()


def _ask(key: str, value: str) -> None:
    st.session_state[key] = value
