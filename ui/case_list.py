"""The case list: sidebar views and filters, and one server-sorted, server-paged table.

Only one page of cases (50 rows) is ever loaded; counts are cached for a few seconds and
cleared after every action.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd
import streamlit as st
from sqlalchemy import select

from core.access.users import UserInfo
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.errors import DocketError
from core.store.db import Database, get_database
from core.store.models import Workflow, utcnow
from core.worklist.query import CaseFilter, CasePage, counts_by_status, counts_by_view, list_cases
from core.worklist.views import ViewInfo, list_views
from ui.text import esc

PAGE_SIZE = 50
COUNTS_TTL_SECONDS = 5
TABLE_KEY_PREFIX = "case_table"
TABLE_KEY_STATE = "case_table_key"   # the current table's widget key (tests read it)
SEEN_KEY = "case_table_seen"
CASE_PARAM = "case"

SORTS = {  # label -> (core sort column, descending)
    "Newest first": ("created_at", True),
    "Oldest first": ("created_at", False),
    "Recently updated": ("updated_at", True),
    "Least recently updated": ("updated_at", False),
    "Entity name A–Z": ("name", False),
    "Entity name Z–A": ("name", True),
    "Status": ("status", False),
    "Case ID": ("id", False),
}
ASSIGNEE_LABELS = {"anyone": "Anyone", "me": "Me", "unassigned": "Unassigned",
                   "someone": "Assigned to someone"}


# --- cached counts (keyed on the database URL and the filter) ------------------------------

@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _view_counts(url: str) -> dict[int, int]:
    return counts_by_view(get_database(url))


@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _status_counts(url: str, flt: CaseFilter) -> dict[str, int]:
    return counts_by_status(get_database(url), flt)


@st.cache_data(ttl=60, show_spinner=False)
def _workflows(url: str) -> dict[str, str]:
    with get_database(url).read() as s:
        return dict(s.execute(select(Workflow.name, Workflow.title).order_by(Workflow.name)).all())


def refresh_counts() -> None:
    """After an action: the next run recounts."""
    _view_counts.clear()
    _status_counts.clear()


# --- sidebar -------------------------------------------------------------------------------

def sidebar_filters(db: Database, user: UserInfo) -> CaseFilter:
    """Views with their counts, then the filters; returns what the reviewer asked for."""
    views = list_views(db)
    by_id = {v.id: v for v in views}
    view_counts = _view_counts(db.url)
    with st.sidebar:
        st.subheader("Views")
        if st.session_state.get("f_view") not in by_id:
            st.session_state["f_view"] = views[0].id if views else None
        view_id = st.radio("View", list(by_id), key="f_view", label_visibility="collapsed",
                           format_func=lambda i: f"{esc(by_id[i].name)} ({view_counts.get(i, 0):,})")
        view: ViewInfo | None = by_id.get(view_id)

        st.subheader("Filters")
        search = st.text_input("Search", key="f_search", max_chars=200,
                               placeholder="Name, email, registration no. or case ID")
        assignee = st.selectbox("Assignee", list(ASSIGNEE_LABELS), key="f_assignee",
                                format_func=ASSIGNEE_LABELS.get)
        workflows = _workflows(db.url)
        chosen_workflows = st.multiselect("Workflow", list(workflows), key="f_workflow",
                                          format_func=lambda w: workflows.get(w, w))
        st.session_state.setdefault("f_created", ())
        created = st.date_input("Created between", key="f_created", max_value=utcnow().date())
        base = CaseFilter(view=view, assignee=assignee, me=user.username, search=search or "",
                          created_from=_range(created)[0], created_to=_range(created)[1],
                          workflows=tuple(chosen_workflows))
        try:
            status_counts = _status_counts(db.url, base)
        except DocketError:
            status_counts = {}
        statuses = st.multiselect(
            "Status", [s.value for s in CaseStatus], key="f_status",
            format_func=lambda s: f"{CASE_STATUS_LABELS[CaseStatus(s)]} ({status_counts.get(s, 0):,})")
    return replace(base, statuses=tuple(statuses))


def _range(value) -> tuple[date | None, date | None]:
    if isinstance(value, (list, tuple)):
        if len(value) == 2:
            return value[0], value[1]
        if len(value) == 1:
            return value[0], None
        return None, None
    return (value, value) if isinstance(value, date) else (None, None)


# --- the table -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ListState:
    page: CasePage | None
    opened: str | None   # the case to preview (from the selection or ?case=ID)


def _clamp_page(pages: int) -> None:
    current = st.session_state.get("page_no", 1)
    st.session_state["page_no"] = min(max(1, int(current or 1)), pages)


def _step_page(delta: int) -> None:
    st.session_state["page_no"] = max(1, int(st.session_state.get("page_no", 1)) + delta)


def case_table(db: Database, flt: CaseFilter) -> ListState:
    """Sort selector, the page of cases as a selectable table, page controls."""
    top = st.columns([3, 2], vertical_alignment="bottom")
    sort_label = top[1].selectbox("Sort", list(SORTS), key="sort", label_visibility="collapsed")
    sort, descending = SORTS[sort_label]

    signature = repr((flt, sort_label))
    if st.session_state.get("list_signature") != signature:  # new filter or sort: page 1
        st.session_state["list_signature"] = signature
        st.session_state["page_no"] = 1
    try:
        page = list_cases(db, flt, sort=sort, descending=descending,
                          page=st.session_state.get("page_no", 1), page_size=PAGE_SIZE)
    except DocketError as e:
        st.error(str(e), icon=":material/error:")
        return ListState(None, st.query_params.get(CASE_PARAM))
    _clamp_page(page.pages)
    first = (page.page - 1) * page.page_size + 1 if page.total else 0
    last = min(page.total, page.page * page.page_size)
    top[0].markdown(f"**{page.total:,} cases** · showing {first:,}–{last:,}")

    key = f"{TABLE_KEY_PREFIX}_{hashlib.sha1(f'{signature}|{page.page}'.encode()).hexdigest()[:12]}"
    st.session_state[TABLE_KEY_STATE] = key
    now = utcnow()
    frame = pd.DataFrame([{
        "ID": r.id, "Entity name": r.entity_name, "Type": r.entity_type, "Country": r.country,
        "Workflow": r.workflow, "Status": r.status_label, "Assignee": r.assignee or "",
        "Created": r.created_at, "Last update": r.updated_at, "Age (days)": r.age_days(now),
    } for r in page.rows], columns=["ID", "Entity name", "Type", "Country", "Workflow", "Status",
                                    "Assignee", "Created", "Last update", "Age (days)"])
    event = st.dataframe(
        frame, key=key, on_select="rerun", selection_mode="single-row", hide_index=True,
        width="stretch", height=min(38 + 35 * max(len(frame), 1), 600),
        column_config={
            "Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Last update": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Age (days)": st.column_config.NumberColumn(format="%d"),
        })
    if page.total == 0:
        st.caption("No case matches these filters.")

    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", icon=":material/chevron_left:", key="page_prev",
                  disabled=page.page <= 1, on_click=_step_page, args=(-1,))
        st.number_input("Page", min_value=1, max_value=page.pages, step=1, key="page_no",
                        label_visibility="collapsed", width=130)
        st.button("Next", icon=":material/chevron_right:", icon_position="right",
                  key="page_next", disabled=page.page >= page.pages, on_click=_step_page,
                  args=(1,))
        st.caption(f"Page {page.page:,} of {page.pages:,}")

    rows = tuple(event.selection.rows) if event is not None else ()
    return ListState(page, _opened_case(key, rows, page))


def _opened_case(key: str, rows: tuple[int, ...], page: CasePage) -> str | None:
    """A new row selection opens that case (and writes ?case=ID); clearing it closes the
    preview; otherwise the URL's case stays open (a shared link, a reload)."""
    seen = st.session_state.get(SEEN_KEY)
    if seen != (key, rows):
        st.session_state[SEEN_KEY] = (key, rows)
        if rows and rows[0] < len(page.rows):
            st.query_params[CASE_PARAM] = page.rows[rows[0]].id
        elif seen is not None and seen[0] == key and seen[1]:
            st.query_params.pop(CASE_PARAM, None)
    return st.query_params.get(CASE_PARAM) or None


def close_preview() -> None:
    st.query_params.pop(CASE_PARAM, None)
