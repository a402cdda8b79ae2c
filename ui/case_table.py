"""The case list's table: one server-sorted, server-paged page of cases (50 rows), the Sort box
above it and the page controls below.

Sorting happens in the database only. A click on a column header is a column selection
(which turns the grid's own page-only sort off) and sets the list's sort, as the Sort box
does; the grid's column menu offers no sort (ui/table_keys.py).

The table's row selection follows the open case (`?case=ID`): a click, or Enter/Space on a
focused row, opens a case; when the open case moves on the page or leaves it (it was
assigned or decided and no longer matches the filters), the selection is moved or cleared, so
the highlighted row and the preview never disagree. Clicks are read against the rows the
reviewer saw (kept from the run that drew them), not against a page reloaded since.

With "Select cases" on (ui/bulk_bar.py; not for analysts) the table selects several rows
instead: a click ticks or unticks a case for the bulk bar above the table, and opens nothing
(Enter/Space on a row still opens it). Its widget key differs from the single-row table's,
so neither table reads the other's selection; the ticked cases are kept by id across pages.

"Due" is the SLA's time left ("5 h left", "overdue 2 d", core's `time_left`), overdue ones in
red; its header sorts by the due time, soonest first (cases without one last).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.store.models import utcnow
from core.worklist.overdue import time_left
from core.worklist.query import COUNT_CAP, SORT_COLUMNS, CaseFilter, CasePage, list_cases
from ui import bulk_bar, list_state
from ui.case_list import CASE_PARAM
from ui.list_params import ListParams, cases_count, sort_label, sort_options
from ui.table_keys import reveal_row, table_keys

PAGE_SIZE = 50
TABLE_KEY_PREFIX = "case_table_"
TABLE_KEY_STATE = "case_table_key"   # the current table's widget key (tests read it)
SEEN_KEY = "case_table_seen"         # what the last drawn table showed: key, selection, ids
EXACT_KEY = "case_count_exact"       # the filter whose total the reviewer asked to count exactly
COLUMNS = ["ID", "Entity name", "Type", "Country", "Workflow", "Status", "Due", "Open hits",
           "Risk", "Assignee", "Created", "Last update", "Age (days)"]
# A header click sorts by: column -> (core sort column, first order); a second click reverses.
HEADER_SORTS = {
    "ID": ("id", "asc"), "Entity name": ("name", "asc"), "Status": ("status", "asc"),
    "Created": ("created_at", "desc"), "Last update": ("updated_at", "desc"),
    "Age (days)": ("created_at", "desc"), "Due": ("due_at", "asc"), "Risk": ("risk", "desc"),
}
ID_WIDTH = 150  # px; fixed, so the header row's layout does not move with the page's ids
ROW_HEIGHT, HEADER_HEIGHT = 35, 38  # px: the grid's rows, its header (and borders)
DUE_WIDTH = 105  # px: "overdue 12 d" whole
SORTED_HEADER = {"id": "ID", "name": "Entity name", "status": "Status", "created_at": "Created",
                 "updated_at": "Last update", "due_at": "Due", "risk": "Risk"}
OVERDUE_STYLE = "color: #d62728; font-weight: 600"  # red, bold
# px of room above the table for its hover toolbar (44 px tall, drawn over the 16 px gap and
# the element above): without it the toolbar covered "Select cases", the bulk bar's Reject…
# and, in a narrow list, the count line. With the gaps either side this leaves 12 + 2 x 16.
TOOLBAR_ROOM = 12


@dataclass(frozen=True)
class ListState:
    page: CasePage | None
    opened: str | None   # the case to preview (from the selection or ?case=ID)


def _sort_by_header(column: str, state: ListParams) -> None:
    target = HEADER_SORTS.get(column)
    if target is None or target[0] not in SORT_COLUMNS:
        sortable = ", ".join(c for c, (s, _) in HEADER_SORTS.items() if s in SORT_COLUMNS)
        st.toast(f"The list cannot be sorted by {column}; it sorts by {sortable}.",
                 icon=":material/swap_vert:")
        return
    sort, order = target
    if sort == state.sort:
        order = "asc" if state.order == "desc" else "desc"
    list_state.change(sort=sort, order=order)


def _sort_changed() -> None:
    sort, order = st.session_state["sort"]
    list_state.change(sort=sort, order=order)


def _page_changed() -> None:
    list_state.change(page=int(st.session_state.get("page_no") or 1))


def _step_page(delta: int) -> None:
    list_state.change(page=max(1, list_state.params().page + delta))


def _count_exactly(flt: CaseFilter) -> None:
    st.session_state[EXACT_KEY] = repr(flt)


def _last_events(opened_by_key: int | None) -> tuple[bool, str | None]:
    """What the reviewer did to the table drawn last run: a header click (sorts), a row
    selected or cleared, Enter/Space on a row. Returns (decided, case): decided is False
    when the open case is the URL's. Rows ticked in the bulk table go to the selection."""
    seen = st.session_state.get(SEEN_KEY)
    if not seen or seen["key"] not in st.session_state:  # not drawn last run (another page)
        return False, None
    ids = seen["ids"]
    if opened_by_key is not None and opened_by_key < len(ids):
        return True, ids[opened_by_key]
    value = st.session_state.get(seen["key"]) or {}
    selection = value.get("selection") or {}
    rows, columns = tuple(selection.get("rows") or ()), tuple(selection.get("columns") or ())
    if columns and columns != seen["columns"]:
        _sort_by_header(columns[0], list_state.params())
    if seen.get("bulk") is not None:  # the filter the bulk table was drawn for
        if rows != seen["rows"]:
            bulk_bar.take_page_selection(seen["bulk"], ids, rows)
        return False, None
    if rows != seen["rows"]:
        if rows and rows[0] < len(ids):
            return True, ids[rows[0]]
        if not rows:
            return True, None
    return False, None


def _frame(page: CasePage) -> pd.DataFrame:
    now = utcnow()
    return pd.DataFrame([{
        "ID": r.id, "Entity name": r.entity_name, "Type": r.entity_type, "Country": r.country,
        "Workflow": r.workflow, "Status": r.status_label, "Due": time_left(r.due_at, now),
        "Open hits": r.open_hits, "Risk": risk_cell(r.risk_level, r.risk_points),
        "Assignee": r.assignee or "",
        "Created": r.created_at, "Last update": r.updated_at, "Age (days)": r.age_days(now),
    } for r in page.rows], columns=COLUMNS)


def risk_cell(level: str | None, points: int) -> str:
    """The Risk column: "High · 75"; empty while the case is not scored."""
    return f"{level.capitalize()} · {points}" if level else ""


def _styled(frame: pd.DataFrame):
    """The overdue ones' "Due" in red."""
    return frame.style.map(lambda v: OVERDUE_STYLE if str(v).startswith("overdue") else "",
                           subset=["Due"])


def _column_config(state: ListParams) -> dict:
    config = {
        "ID": st.column_config.TextColumn(width=ID_WIDTH),
        "Due": st.column_config.TextColumn(help="Time left under the SLA of the case's status",
                                           width=DUE_WIDTH),
        "Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Last update": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        "Age (days)": st.column_config.NumberColumn(format="%d"),
        "Open hits": st.column_config.NumberColumn(
            format="%d", width=80, help="Screening hits needing work (not dispositioned, "
                                        "needing information, or a true match awaiting a "
                                        "lead's sign-off)"),
    }
    sorted_column = SORTED_HEADER.get(state.sort)
    if sorted_column:
        arrow = "↓" if state.descending else "↑"
        existing = config.get(sorted_column)
        label = f"{sorted_column} {arrow}"
        if existing is None:
            config[sorted_column] = st.column_config.Column(label)
        else:
            existing["label"] = label
    return config


def case_table(db: Database, flt: CaseFilter, default_view: int | None,
               user: UserInfo | None = None) -> ListState:
    """Notes, the Sort box and count, the page of cases as a selectable table, page controls;
    puts the list and the open case in the URL. With `user` (who may act in bulk), the
    "Select cases" toggle and, while it is on, the bulk bar above the table."""
    notes = st.container()
    top = st.container(horizontal=True, vertical_alignment="center")
    sort_box = top.container(width=240)
    count_line = top.container(horizontal=True, vertical_alignment="center", width="content",
                               gap="small")
    with top:
        st.space("stretch")
        bulk = user is not None and bulk_bar.mode_toggle(user)
        opened_by_key = table_keys(TABLE_KEY_PREFIX)  # an element of no size, last in the row
    decided, case = _last_events(opened_by_key)
    opened = case if decided else (st.query_params.get(CASE_PARAM) or None)
    state = list_state.params()

    list_state.bind("sort", (state.sort, state.order))
    sort_box.selectbox("Sort", sort_options(), key="sort", format_func=sort_label,
                       label_visibility="collapsed", on_change=_sort_changed)
    try:
        exact = st.session_state.get(EXACT_KEY) == repr(flt)
        page = list_cases(db, flt, sort=state.sort, descending=state.descending,
                          page=state.page, page_size=PAGE_SIZE,
                          count_cap=None if exact else COUNT_CAP)
    except DocketError as e:
        st.error(str(e), icon=":material/error:")
        list_state.write_url(state, default_view, opened)
        with notes:
            list_state.show_notes()
        return ListState(None, opened)
    if page.page != state.page:
        if state.page > page.pages:
            list_state.add_note(f"Page {state.page:,} does not exist; showing page "
                                f"{page.page:,} of {page.pages:,}.")
        list_state.settle_page(page.page)
        state = list_state.params()
    first = (page.page - 1) * page.page_size + 1 if page.total else 0
    last = min(page.total, page.page * page.page_size)
    count_line.markdown(f"**{cases_count(page.total, page.total_capped)}** · showing "
                        f"{first:,}–{last:,}", width="content")
    if page.total_capped:
        count_line.button("Count all", key="count_exact", type="tertiary",
                          on_click=_count_exactly, args=(flt,),
                          help=f"The list counts up to {COUNT_CAP:,} cases for this filter; "
                               "count every matching case (may take a few seconds).")

    if bulk:
        bulk_bar.bulk_bar(db, user, bulk_bar.Listing(flt, state.sort, state.descending,
                                                     page.total, page.total_capped))
    key = TABLE_KEY_PREFIX + hashlib.sha1(
        repr((flt, state.sort, state.order, page.page, bulk)).encode()).hexdigest()[:12]
    st.session_state[TABLE_KEY_STATE] = key
    ids = tuple(r.id for r in page.rows)
    if bulk:
        rows = bulk_bar.rows_on_page(flt, ids)
    else:
        rows = (ids.index(opened),) if opened in ids else ()
    drawn = (st.session_state.get(key) or {}).get("selection") or {}
    if tuple(drawn.get("rows") or ()) != rows or tuple(drawn.get("columns") or ()):
        st.session_state[key] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    st.space(TOOLBAR_ROOM)
    st.dataframe(
        _styled(_frame(page)), key=key, on_select=list_state.acted,
        selection_mode=["multi-row" if bulk else "single-row", "single-column"],
        hide_index=True, width="stretch", height=min(HEADER_HEIGHT + ROW_HEIGHT * max(len(page.rows), 1), 600),
        column_config=_column_config(state))
    st.session_state[SEEN_KEY] = {"key": key, "rows": rows, "columns": (), "ids": ids,
                                  "bulk": flt if bulk else None}
    if page.total == 0:
        st.caption("No case matches these filters.")

    with st.container(horizontal=True, vertical_alignment="center"):
        st.button("Previous", icon=":material/chevron_left:", key="page_prev",
                  disabled=page.page <= 1, on_click=_step_page, args=(-1,))
        list_state.bind("page_no", page.page)
        st.number_input("Page", min_value=1, max_value=None if page.total_capped else page.pages,
                        step=1, key="page_no",
                        label_visibility="collapsed", width=130, on_change=_page_changed)
        st.button("Next", icon=":material/chevron_right:", icon_position="right",
                  key="page_next", disabled=page.page >= page.pages and not page.total_capped,
                  on_click=_step_page,
                  args=(1,))
        st.caption(f"Page {page.page:,} of {page.pages:,}{'+' if page.total_capped else ''}")
        reveal_row(key, None if bulk or not rows else rows[0], opened, row_height=ROW_HEIGHT,
                   header=HEADER_HEIGHT)  # of no size, last in the row

    list_state.write_url(state, default_view, opened)
    with notes:
        list_state.show_notes()
    return ListState(page, opened)
