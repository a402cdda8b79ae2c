"""Bulk actions on the case list (core/worklist/bulk.py): the "Select cases" toggle, the
selection, and the bar of actions above the table.

With "Select cases" on, the table (ui/case_table.py) selects several rows instead of opening
one; the selection is a list of case ids kept in the session across the list's pages and
sorts, dropped when the filters change or the toggle is turned off. "Select all N in this
list" selects every case of the list (at most 500, `case_ids_for`). The bar offers what the
user's role may do in bulk: reviewers "Assign to me"; leads and admins assign to anyone who
can hold cases, unassign, add or remove a tag, and reject (a dialog asks for the reason and
says how many cases).

An action runs in the next script run, case by case through the core's commands, with a
progress bar; its result ("187 assigned, 3 unchanged, 10 refused", the refused cases with
why) stays above the table until dismissed or the next action. A click elsewhere while it
runs does not stop it half-way: the click's rerun waits until the last case is done.
Afterwards the counts are refreshed and the selection keeps the cases still in the list.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from core.access.roles import Role
from core.access.users import UserInfo, list_users
from core.cases.actions import MAX_REASON
from core.cases.tags import MAX_TAG_CHARS
from core.errors import DocketError
from core.store.db import Database
from core.worklist.bulk import (
    MAX_BULK,
    BulkResult,
    bulk_act,
    case_ids_for,
    check_request,
    may_bulk,
    still_listed,
)
from core.worklist.query import CaseFilter
from ui import list_state
from ui.actions import error_text
from ui.case_list import refresh_counts
from ui.limits import up_to
from ui.list_params import cases_count

MODE_KEY = "docket_bulk_mode"          # "Select cases" on (kept for the session)
MODE_WIDGET = "bulk_mode"
SELECTED_KEY = "docket_bulk_selected"  # {"filter": repr of the list's filter, "ids": [...]}
PENDING_KEY = "docket_bulk_pending"    # the action asked for, run in the next script run
RESULT_KEY = "docket_bulk_result"      # the last action's result, until dismissed
MESSAGE_KEY = "docket_bulk_message"    # a refusal of the whole request or of "select all"
CONFIRM_KEY = "docket_bulk_confirm"    # the reject dialog is open (the ids it is about)
CONFIRM_ERROR_KEY = "docket_bulk_confirm_error"
REASON_KEY = "bulk_reason"
TAG_KEY = "bulk_tag"
TO_KEY = "bulk_to"
PROGRESS_EVERY = 5  # cases between two updates of the progress bar
RUNNING = {"assign": "Assigning", "unassign": "Unassigning", "tag": "Tagging",
           "untag": "Untagging", "reject": "Rejecting"}


@dataclass(frozen=True)
class Listing:
    """The list the bar works on: its filter and sort, and how many cases it has."""
    flt: CaseFilter
    sort: str
    descending: bool
    total: int
    total_capped: bool = False  # at least `total` cases (a capped count)


def may_select(user: UserInfo) -> bool:
    return bool(may_bulk(user.role))


def _mode_changed() -> None:
    on = bool(st.session_state.get(MODE_WIDGET))
    st.session_state[MODE_KEY] = on
    if not on:  # turned off: the selection and the last result go with it
        for key in (SELECTED_KEY, RESULT_KEY, MESSAGE_KEY):
            st.session_state.pop(key, None)
    list_state.acted()


def mode_toggle(user: UserInfo) -> bool:
    """The "Select cases" toggle (users who may do something in bulk); returns it is on."""
    if not may_select(user):
        return False
    st.session_state[MODE_WIDGET] = bool(st.session_state.get(MODE_KEY))
    st.toggle("Select cases", key=MODE_WIDGET, on_change=_mode_changed,
              help=f"Select several cases (up to {MAX_BULK}) to assign, tag or reject them "
                   "at once")
    return bool(st.session_state.get(MODE_KEY))


# --- the selection -----------------------------------------------------------------------------

def selected(flt: CaseFilter) -> list[str]:
    """The selected case ids, in the order they were selected; none once the filter changed."""
    kept = st.session_state.get(SELECTED_KEY)
    if not kept or kept["filter"] != repr(flt):
        st.session_state[SELECTED_KEY] = {"filter": repr(flt), "ids": []}
        return []
    return list(kept["ids"])


def _set_selected(flt: CaseFilter, ids: list[str]) -> None:
    st.session_state[SELECTED_KEY] = {"filter": repr(flt), "ids": list(dict.fromkeys(ids))}


def take_page_selection(flt: CaseFilter, page_ids: tuple[str, ...], rows: tuple[int, ...]) -> None:
    """The rows ticked on a drawn page replace that page's part of the selection."""
    on_page = set(page_ids)
    ticked = [page_ids[r] for r in rows if 0 <= r < len(page_ids)]
    kept = [c for c in selected(flt) if c not in on_page or c in ticked]
    _set_selected(flt, kept + [c for c in ticked if c not in kept])


def rows_on_page(flt: CaseFilter, page_ids: tuple[str, ...]) -> tuple[int, ...]:
    chosen = set(selected(flt))
    return tuple(i for i, c in enumerate(page_ids) if c in chosen)


def _select_all(db: Database, listing: Listing) -> None:
    list_state.acted()
    try:
        ids = case_ids_for(db, listing.flt, sort=listing.sort, descending=listing.descending)
    except DocketError as e:
        st.session_state[MESSAGE_KEY] = error_text(e)
        return
    _set_selected(listing.flt, ids)


def _clear(flt: CaseFilter) -> None:
    list_state.acted()
    _set_selected(flt, [])


# --- asking for an action ----------------------------------------------------------------------

def _ask(action: str, ids: list[str], **values) -> None:
    list_state.acted()
    st.session_state[PENDING_KEY] = {"action": action, "ids": list(ids), **values}
    st.session_state.pop(MESSAGE_KEY, None)


def _ask_tag(action: str, ids: list[str]) -> None:
    _ask(action, ids, tag=st.session_state.get(TAG_KEY) or "")


def _open_reject(ids: list[str]) -> None:
    list_state.acted()
    st.session_state[CONFIRM_KEY] = list(ids)
    st.session_state.pop(CONFIRM_ERROR_KEY, None)
    st.session_state.pop(REASON_KEY, None)


def _close_reject() -> None:
    st.session_state.pop(CONFIRM_KEY, None)
    st.session_state.pop(CONFIRM_ERROR_KEY, None)


def _confirm_reject(db: Database, username: str) -> None:
    ids = st.session_state.get(CONFIRM_KEY) or []
    reason = st.session_state.get(REASON_KEY) or ""
    try:  # the whole request's checks (a missing reason, say): said in the dialog
        check_request(db, ids, "reject", actor=username, reason=reason)
    except DocketError as e:
        st.session_state[CONFIRM_ERROR_KEY] = error_text(e)
        return
    _close_reject()
    _ask("reject", ids, reason=reason)


def _reject_dialog(db: Database, user: UserInfo) -> None:
    ids = st.session_state.get(CONFIRM_KEY)
    if ids is None:  # confirmed or cancelled: redraw the whole page, dialog closed
        st.rerun()
    n = len(ids)
    st.write(f"Reject **{n:,} case{'s' if n != 1 else ''}**? Each decision is final; the "
             "reason is sent with each notification. Only the cases assigned to you are "
             "rejected: the others are listed as refused.")
    st.text_area("Reason (required)", key=REASON_KEY,
                 help=f"The same reason for every case; up to {MAX_REASON:,} characters.")
    error = st.session_state.get(CONFIRM_ERROR_KEY)
    if error:
        st.error(error, icon=":material/error:")
    left, right = st.columns(2)
    left.button(f"Reject {n:,} case{'s' if n != 1 else ''}", type="primary",
                key="bulk_reject_confirm", on_click=_confirm_reject, args=(db, user.username),
                width="stretch")
    right.button("Cancel", key="bulk_reject_cancel", on_click=_close_reject, width="stretch")


# --- running it --------------------------------------------------------------------------------

def _run_pending(db: Database, user: UserInfo, flt: CaseFilter) -> None:
    """Runs the asked-for action with a progress bar, keeps its result, reruns the page."""
    pending = st.session_state.pop(PENDING_KEY, None)
    if not pending:
        return
    action, ids = pending["action"], pending["ids"]
    total = len(ids)
    bar = st.progress(0.0, text=f"{RUNNING[action]} {total:,} cases…")
    deferred: list[ScriptControlException] = []

    def progress(done: int, of: int) -> None:
        if deferred or (done % PROGRESS_EVERY and done != of):
            return
        try:  # each update is a point where a click's rerun would stop the run half-way
            bar.progress(done / of, text=f"{RUNNING[action]}: {done:,} of {of:,} cases")
        except ScriptControlException as e:
            deferred.append(e)  # raised once every case is done

    try:
        result = bulk_act(db, ids, action, actor=user.username, to=pending.get("to"),
                          tag=pending.get("tag"), reason=pending.get("reason"),
                          on_progress=progress)
    except DocketError as e:
        st.session_state[MESSAGE_KEY] = error_text(e)
    else:
        st.session_state[RESULT_KEY] = result
        refresh_counts()
        _set_selected(flt, still_listed(db, flt, selected(flt)))
    if deferred:
        raise deferred[0]
    st.rerun()


def _show_result() -> None:
    result: BulkResult | None = st.session_state.get(RESULT_KEY)
    if result is None:
        return
    with st.container(horizontal=True, vertical_alignment="center"):
        (st.warning if result.refused else st.success)(
            result.summary(), icon=":material/error:" if result.refused
            else ":material/check_circle:", width="stretch")
        st.button("Dismiss", key="bulk_result_dismiss", on_click=st.session_state.pop,
                  args=(RESULT_KEY, None))
    if result.refused:
        with st.expander(f"Refused cases ({len(result.refused):,}) and why",
                         expanded=len(result.refused) <= 10):
            st.container(key="bulk_refused").dataframe(
                pd.DataFrame(result.refused, columns=["Case", "Why"]), hide_index=True,
                width="stretch", height=min(38 + 35 * len(result.refused), 300))


# --- the bar -----------------------------------------------------------------------------------

def _assignees(db: Database, user: UserInfo) -> list[str]:
    """Who a lead or admin may assign to: active reviewers, leads and admins, themself first."""
    others = sorted(u.username for u in list_users(db)
                    if not u.disabled and u.role != Role.ANALYST and u.username != user.username)
    return [user.username, *others]


def bulk_bar(db: Database, user: UserInfo, listing: Listing) -> None:
    """The selection's count, "Select all", "Clear", the actions the role may take, then the
    last result. Runs an action asked for in the previous run first."""
    _run_pending(db, user, listing.flt)
    ids = selected(listing.flt)
    n = len(ids)
    allowed = may_bulk(user.role)
    with st.container(border=True, key="bulk_bar"):
        with st.container(horizontal=True, vertical_alignment="center"):
            st.markdown(f"**{n:,} selected**", width="content")
            fits = 0 < listing.total <= MAX_BULK
            st.button(f"Select all {listing.total:,} in this list" if fits
                      else f"Select all (at most {MAX_BULK})", key="bulk_select_all",
                      icon=":material/select_all:", on_click=_select_all, args=(db, listing),
                      disabled=listing.total == 0,
                      help="Every case of the list as filtered now, on every page" if fits else
                      f"This list has {cases_count(listing.total, listing.total_capped)}; a "
                      "bulk action takes at most "
                      f"{MAX_BULK}: narrow it with the filters")
            st.button("Clear selection", key="bulk_clear", icon=":material/deselect:",
                      on_click=_clear, args=(listing.flt,), disabled=n == 0)
        with st.container(horizontal=True, vertical_alignment="bottom"):
            if "unassign" in allowed:  # a lead or an admin
                st.selectbox("Assign to", _assignees(db, user), key=TO_KEY, width=200,
                             format_func=lambda u: f"{u} (me)" if u == user.username else u)
                st.button("Assign", key="bulk_assign", icon=":material/person_add:",
                          disabled=n == 0, on_click=lambda: _ask(
                              "assign", ids, to=st.session_state.get(TO_KEY)))
                st.button("Unassign", key="bulk_unassign", icon=":material/person_remove:",
                          disabled=n == 0, on_click=_ask, args=("unassign", ids))
            elif "assign" in allowed:
                st.button("Assign to me", key="bulk_assign_me", icon=":material/person_add:",
                          disabled=n == 0, on_click=_ask, args=("assign", ids),
                          kwargs={"to": user.username},
                          help="Unassigned cases become yours; someone else's are refused")
            if "tag" in allowed:
                st.text_input("Tag", key=TAG_KEY, width=180, placeholder="e.g. batch-7",
                              help=up_to(MAX_TAG_CHARS))
                st.button("Add tag", key="bulk_tag_add", icon=":material/sell:",
                          disabled=n == 0, on_click=_ask_tag, args=("tag", ids))
                st.button("Remove tag", key="bulk_tag_remove", disabled=n == 0,
                          on_click=_ask_tag, args=("untag", ids))
            if "reject" in allowed:
                st.space("stretch")
                st.button("Reject…", key="bulk_reject", icon=":material/block:",
                          disabled=n == 0, on_click=_open_reject, args=(ids,),
                          help="Reject the selected cases assigned to you, with one reason")
    message = st.session_state.pop(MESSAGE_KEY, None)
    if message:
        st.error(message, icon=":material/error:")
    _show_result()
    if st.session_state.get(CONFIRM_KEY) is not None:
        count = len(st.session_state[CONFIRM_KEY])
        st.dialog(f"Reject {count:,} case{'s' if count != 1 else ''}",
                  on_dismiss=_close_reject)(_reject_dialog)(db, user)

