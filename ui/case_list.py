"""The case list's sidebar: the user's saved filters ("My views", ui/my_views.py), the
shared views with their counts, then the filters (search, assignee, workflow, tags, overdue,
open screening hits, dates, status). The Tags filter offers the tags in use (core/worklist/tag_list.py, cached for
a minute) and the ones chosen; a tag typed in it is taken as it is.

Each view shows its overdue cases under its count, and "Overdue only" keeps the cases past
their SLA due time (core/worklist/overdue.py's counters). The widgets draw the list state of ui/list_state.py and change it through their callbacks;
they never keep the choice themselves (their labels carry live counts, see there). Counts are
cached for a few seconds and cleared after every action. The table is ui/case_table.py.
"""
from __future__ import annotations

from dataclasses import replace

import streamlit as st
from sqlalchemy import select

from core.access.users import UserInfo
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.cases.tags import clean_tag
from core.errors import DocketError, InvalidInput
from core.store.db import Database, get_database
from core.store.models import Workflow, utcnow
from core.worklist.overdue import count_overdue, overdue_counts_by_view
from core.worklist.query import RISK_LEVELS, CaseFilter, counts_by_status, counts_by_view
from core.worklist.tag_list import tags_in_use
from core.worklist.views import ViewInfo, list_views
from ui import list_state, my_views
from ui.access_log_panel import note_search
from ui.list_params import EARLIEST_DATE, MAX_TAGS, ListParams, cut_search
from ui.text import esc

COUNTS_TTL_SECONDS = 5
CASE_PARAM = "case"
ASSIGNEE_LABELS = {"anyone": "Anyone", "me": "Me", "unassigned": "Unassigned",
                   "someone": "Assigned to someone"}
OPEN_HITS_LABELS = {None: "Any", "open": "Yes", "none": "No"}  # the "Open hits" filter


# --- cached counts (keyed on the database URL and the filter) ------------------------------

@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _view_counts(url: str) -> dict[int, int]:
    return counts_by_view(get_database(url))


@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _view_overdue(url: str) -> dict[int, int]:
    return overdue_counts_by_view(get_database(url))


@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _overdue_count(url: str, flt: CaseFilter) -> int:
    return count_overdue(get_database(url), flt)


@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _status_counts(url: str, flt: CaseFilter) -> dict[str, int]:
    return counts_by_status(get_database(url), flt)


@st.cache_data(ttl=60, show_spinner=False)
def _tags_in_use(url: str) -> list[str]:
    return tags_in_use(get_database(url))


@st.cache_data(ttl=60, show_spinner=False)
def _workflows(url: str) -> dict[str, str]:
    with get_database(url).read() as s:
        return dict(s.execute(select(Workflow.name, Workflow.title).order_by(Workflow.name)).all())


def refresh_counts() -> None:
    """After an action: the next run recounts."""
    _view_counts.clear()
    _view_overdue.clear()
    _overdue_count.clear()
    _status_counts.clear()
    my_views.refresh()


def refresh_tags() -> None:
    """After a tag was added or removed: the Tags filter offers the tags in use now."""
    _tags_in_use.clear()


def close_preview() -> None:
    st.query_params.pop(CASE_PARAM, None)


# --- sidebar -------------------------------------------------------------------------------

def _search_changed() -> None:
    text, cut = cut_search(st.session_state.get("f_search") or "")
    list_state.change(search=text)
    if cut:
        list_state.add_note(cut)


def _tags_changed() -> None:
    tags, notes = [], []
    for value in st.session_state.get("f_tags") or []:
        try:
            tag = clean_tag(value)
        except InvalidInput as e:
            notes.append(f"{esc(value)} is not a tag: {esc(e)}.")
            continue
        if tag not in tags:
            tags.append(tag)
    list_state.change(tags=tuple(tags[:MAX_TAGS]))
    for note in notes:
        list_state.add_note(note)


def list_filter(state: ListParams, views: list[ViewInfo], user: UserInfo) -> CaseFilter:
    """The core's filter for the list state (the view id resolved to the view)."""
    by_id = {v.id: v for v in views}
    view = by_id.get(state.view) if state.view is not None else (views[0] if views else None)
    return CaseFilter(view=view, statuses=state.statuses, assignee=state.assignee,
                      me=user.username, search=state.search, created_from=state.created_from,
                      created_to=state.created_to, workflows=state.workflows,
                      tags=state.tags, overdue=state.overdue, open_hits=state.open_hits,
                      risk_levels=state.risk_levels)


def sidebar_filters(db: Database, user: UserInfo) -> tuple[CaseFilter, int | None]:
    """Views with their counts, then the filters; returns the list's filter and the id of
    the first view (the one a URL without `view=` means)."""
    views = list_views(db)
    workflows = _workflows(db.url)
    state = list_state.current(views, workflows)
    note_search(db, user, state.search)  # the access log: once per query and 15 minutes
    by_id = {v.id: v for v in views}
    view_counts = _view_counts(db.url)
    view_overdue = _view_overdue(db.url)

    def view_label(view_id: int) -> str:
        return f"{esc(by_id[view_id].name)} ({view_counts.get(view_id, 0):,})"

    def view_caption(view_id: int) -> str:  # under the label, so the radio's name stays
        late = view_overdue.get(view_id, 0)
        return f":red[{late:,} overdue]" if late else ""

    with st.sidebar:
        my_views.my_views(db, user, views, state)
        st.subheader("Views", anchor=False)
        if views:
            chosen = state.view if state.view is not None else views[0].id
            list_state.bind("f_view", chosen, view_label(chosen))
            st.radio("View", list(by_id), key="f_view", label_visibility="collapsed",
                     format_func=view_label, captions=[view_caption(v) for v in by_id],
                     on_change=list_state.on_change(
                         "view", "f_view", lambda v: None if v == views[0].id else v))

        st.subheader("Filters", anchor=False)
        list_state.bind("f_search", state.search)
        st.text_input("Search", key="f_search", on_change=_search_changed,
                      placeholder="Name, email, registration no. or case ID")
        list_state.bind("f_assignee", state.assignee)
        st.selectbox("Assignee", list(ASSIGNEE_LABELS), key="f_assignee",
                     format_func=ASSIGNEE_LABELS.get,
                     on_change=list_state.on_change("assignee", "f_assignee"))
        list_state.bind("f_workflow", [w for w in state.workflows if w in workflows])
        st.multiselect("Workflow", list(workflows), key="f_workflow",
                       format_func=lambda w: workflows.get(w, w),
                       on_change=list_state.on_change("workflows", "f_workflow", tuple))
        try:
            in_use = _tags_in_use(db.url)
        except DocketError:
            in_use = []
        list_state.bind("f_tags", list(state.tags))
        st.multiselect("Tags", list(dict.fromkeys([*state.tags, *in_use])), key="f_tags",
                       accept_new_options=True, max_selections=MAX_TAGS,
                       placeholder="Choose or type a tag",
                       help="Cases carrying every tag chosen.", on_change=_tags_changed)
        try:  # the list's overdue cases, whether or not it shows only them
            late = _overdue_count(db.url, replace(list_filter(state, views, user),
                                                  overdue=False))
        except DocketError:
            late = 0
        overdue_label = f"Overdue only ({late:,})"
        list_state.bind("f_overdue", state.overdue, overdue_label)
        st.toggle(overdue_label, key="f_overdue",
                  help="Cases past their SLA due time (the workflow's service level).",
                  on_change=list_state.on_change("overdue", "f_overdue", bool))
        list_state.bind("f_hits", state.open_hits)
        st.selectbox("Open hits", list(OPEN_HITS_LABELS), key="f_hits",
                     format_func=OPEN_HITS_LABELS.get,
                     help="Cases with screening hits needing work (not dispositioned, needing "
                          "information, or a true match awaiting a lead's sign-off).",
                     on_change=list_state.on_change("open_hits", "f_hits"))
        list_state.bind("f_risk", list(state.risk_levels))
        st.multiselect("Risk level", list(RISK_LEVELS), key="f_risk", format_func=str.capitalize,
                       help="The case's explained risk level (its workflow's risk model).",
                       on_change=list_state.on_change(
                           "risk_levels", "f_risk",
                           lambda v: tuple(x for x in RISK_LEVELS if x in (v or ()))))
        today = utcnow().date()
        list_state.bind("f_from", state.created_from)
        st.date_input("Created from", key="f_from", min_value=EARLIEST_DATE, max_value=today,
                      format="YYYY-MM-DD",
                      on_change=list_state.on_change("created_from", "f_from"))
        list_state.bind("f_to", state.created_to)
        st.date_input("Created to", key="f_to", min_value=EARLIEST_DATE, max_value=today,
                      format="YYYY-MM-DD", on_change=list_state.on_change("created_to", "f_to"))

        base = replace(list_filter(state, views, user), statuses=())
        try:
            status_counts = _status_counts(db.url, base)
        except DocketError:
            status_counts = {}

        def status_label(value: str) -> str:
            return (f"{CASE_STATUS_LABELS[CaseStatus(value)]} "
                    f"({status_counts.get(value, 0):,})")

        list_state.bind("f_status", list(state.statuses),
                        tuple(status_label(s) for s in state.statuses))
        st.multiselect("Status", [s.value for s in CaseStatus], key="f_status",
                       format_func=status_label,
                       on_change=list_state.on_change("statuses", "f_status", tuple))
    return list_filter(state, views, user), views[0].id if views else None
