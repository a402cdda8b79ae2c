"""The Cases page's worklist controls, above the list: Next case (N) and "Work the queue" for
those who may review, the list's previous and next case (K, J) for everyone, and the Shortcuts
popover (ui/shortcuts.py).

Next case (core/worklist/next_case.py) takes the most urgent case of the list as filtered now
(view and filters; the sort and page do not matter), assigned to the reviewer at once, and
opens it: it becomes the URL's `?case=`, and the list turns to the page that holds it, so the
highlighted row is the open case (ui/case_table.py keeps the two together). With nothing left
it says so. In "Work the queue" mode the same happens after each decision (Approve, Reject,
Ask for all re-uploads): the decision's outcome, recorded by the confirmation dialog
(ui/dialogs.py) for the run it starts, is seen here before the list is drawn, once.

The button's callback only asks; the take happens in the run, with the list's filter of
that run, before the page is laid out (a case opened from no case splits the page in two).
"""
from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.access.roles import Permission, can
from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.store.models import Case
from core.worklist.next_case import page_of_case, take_next_case
from core.worklist.overdue import time_left
from core.worklist.query import CaseFilter, CasePage
from ui import list_state, shortcuts
from ui.actions import OUTCOME_KEY
from ui.case_list import CASE_PARAM, refresh_counts
from ui.case_table import PAGE_SIZE
from ui.dialogs import DONE
from ui.text import esc

ASKED_KEY = "docket_next_asked"        # set by the Next case button for the run it starts
QUEUE_KEY = "docket_work_queue"        # "Work the queue" on (kept when the page is left)
QUEUE_WIDGET = "work_queue"
FOLLOWED_KEY = "docket_queue_followed"  # the decision outcome already followed
MESSAGE_KEY = "docket_next_message"    # what Next case has to say, for the next draw
NOTHING_LEFT = ("Nothing left to take: no case of this list is waiting for a decision by you "
                "(Manual review, unassigned or yours).")
STILL_YOURS = ("This is still your most urgent case: Next case hands you the cases you hold "
               "first. Decide on it, or unassign it, to take the next one.")


def _named(db: Database, case_id: str) -> str:
    """The case id with its time left: "C-1 (overdue 2 d)"."""
    with db.read() as s:
        left = time_left(s.scalar(select(Case.due_at).where(Case.id == case_id)))
    return f"{esc(case_id)} ({left})" if left else esc(case_id)


def may_take(user: UserInfo) -> bool:
    return can(user.role, Permission.ASSIGN_SELF) and can(user.role, Permission.DECIDE)


def _ask() -> None:
    st.session_state[ASKED_KEY] = True
    list_state.acted()


def _queue_changed() -> None:
    st.session_state[QUEUE_KEY] = bool(st.session_state.get(QUEUE_WIDGET))


def _decision_to_follow() -> str | None:
    """The success message of a decision made since the last run, once; None otherwise."""
    outcome = st.session_state.get(OUTCOME_KEY)
    if (not isinstance(outcome, dict) or outcome.get("kind") != "success"
            or outcome.get("where") is not None or outcome.get("message") not in DONE.values()
            or st.session_state.get(FOLLOWED_KEY) is outcome):
        return None
    st.session_state[FOLLOWED_KEY] = outcome
    return outcome["message"]


def take_if_asked(db: Database, user: UserInfo, flt: CaseFilter) -> None:
    """Before the list is laid out: a press of Next case, or a decision in "Work the queue"
    mode, takes the list's most urgent case and opens it."""
    asked = st.session_state.pop(ASKED_KEY, False)
    decided = _decision_to_follow()
    if not may_take(user) or not (asked or (decided and st.session_state.get(QUEUE_KEY))):
        return
    was_open = st.query_params.get(CASE_PARAM)
    try:
        case_id = take_next_case(db, user.username, flt)
    except DocketError as e:
        st.session_state[MESSAGE_KEY] = ("error", esc(str(e)))
        return
    if case_id is None:
        done = f"{decided} The queue is done. " if decided else ""
        st.session_state[MESSAGE_KEY] = ("info", done + NOTHING_LEFT)
        return
    refresh_counts()
    if case_id == was_open:
        st.session_state[MESSAGE_KEY] = ("info", STILL_YOURS)
    elif not decided:
        st.toast(f"Next case: {_named(db, case_id)}, assigned to you.",
                 icon=":material/playlist_play:")
    state = list_state.params()
    page = page_of_case(db, flt, case_id, sort=state.sort, descending=state.descending,
                        page_size=PAGE_SIZE)
    if page is not None and page != state.page:
        list_state.settle_page(page)
    st.query_params[CASE_PARAM] = case_id
    if decided:  # said above the next case's title: say which case it was about
        st.session_state[OUTCOME_KEY] = {
            **st.session_state[OUTCOME_KEY],
            "message": f"{decided} Work the queue: here is the next case, "
                       f"{_named(db, case_id)}."}
        st.session_state[FOLLOWED_KEY] = st.session_state[OUTCOME_KEY]


def worklist_bar(user: UserInfo):
    """The row of controls; returns it, for the list's previous/next buttons (`row_buttons`)
    and the Shortcuts popover, drawn into it later in the run."""
    bar = st.container(horizontal=True, vertical_alignment="center", key="worklist_bar")
    with bar:
        if may_take(user):
            st.button("Next case", key="next_case", type="primary",
                      icon=":material/playlist_play:", on_click=_ask,
                      shortcut=shortcuts.bind(shortcuts.NEXT_CASE),
                      help="Take the most urgent case of this list (overdue first, then the "
                           "oldest), assigned to you, and open it")
            st.session_state[QUEUE_WIDGET] = bool(st.session_state.get(QUEUE_KEY))
            st.toggle("Work the queue", key=QUEUE_WIDGET, on_change=_queue_changed,
                      help="After each decision (Approve, Reject, Ask for all re-uploads) "
                           "the next case opens by itself")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        kind, text = message
        (st.error if kind == "error" else st.info)(text, icon=":material/playlist_play:")
    return bar


def _open_row(case_id: str) -> None:
    st.query_params[CASE_PARAM] = case_id
    list_state.acted()


def row_buttons(bar, page: CasePage | None, opened: str | None) -> None:
    """The list's previous (K) and next (J) case buttons, drawn once the page of cases is
    known. Without an open case on this page, J opens its first case and K its last. (The
    page draws the Shortcuts popover after them, last: an open case binds its own keys.)"""
    ids = [r.id for r in page.rows] if page is not None else []
    at = ids.index(opened) if opened in ids else None
    previous = (ids[-1] if at is None else ids[at - 1] if at > 0 else None) if ids else None
    following = (ids[0] if at is None else ids[at + 1] if at + 1 < len(ids) else None) \
        if ids else None
    with bar:
        st.space("stretch")
        st.button("Case above", key="row_previous", icon=":material/keyboard_arrow_up:",
                  disabled=previous is None, on_click=_open_row, args=(previous,),
                  shortcut=shortcuts.bind(shortcuts.PREVIOUS_ROW),
                  help="Open the previous case of this page of the list")
        st.button("Case below", key="row_next", icon=":material/keyboard_arrow_down:",
                  disabled=following is None, on_click=_open_row, args=(following,),
                  shortcut=shortcuts.bind(shortcuts.NEXT_ROW),
                  help="Open the next case of this page of the list")
