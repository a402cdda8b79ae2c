"""The sidebar's "My views": the signed-in user's saved filters (core/worklist/saved_filters.py),
above the shared views, each with its live count.

A saved filter is a button: pressing it sets the whole list state to its filters (view,
statuses, assignee, workflows, search, dates, tags, overdue, sort, order; page 1), so every
widget and the URL follow, as with any change of the list (ui/list_state.py). The one the list
shows now is marked with a check. "Save current filters" keeps the list state under a name;
each saved filter's menu renames or deletes it. Core checks everything (names, limits, the
filters); a refusal is shown in the section, nothing is written. Counts are cached for a few
seconds like the views' and cleared after every action.
"""
from __future__ import annotations

from datetime import date

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database, get_database
from core.worklist.saved_filters import (
    MAX_NAME,
    MAX_SAVED,
    SavedFilter,
    delete_saved_filter,
    list_saved_filters,
    rename_saved_filter,
    save_filter,
    saved_filter_counts,
)
from core.worklist.views import ViewInfo
from ui import list_state
from ui.limits import up_to
from ui.list_params import ListParams
from ui.text import error_text, esc

COUNTS_TTL_SECONDS = 5
OUTCOME_KEY = "docket_my_views_outcome"   # (kind, Markdown) of the last save/rename/delete
# A refused save or rename: (the menu it came from, Markdown), said in that menu, which stays
# open over the section (the section's own message would be hidden under it)
REFUSED_KEY = "docket_my_views_refused"
NAME_KEY = "my_views_new_name"


@st.cache_data(ttl=COUNTS_TTL_SECONDS, show_spinner=False)
def _counts(url: str, owner: str) -> dict[int, int | None]:
    return saved_filter_counts(get_database(url), owner)


def refresh() -> None:
    _counts.clear()


def filters_of(state: ListParams) -> dict:
    """The list state as a saved filter's filters (the page is not kept)."""
    return {"view": state.view, "statuses": list(state.statuses), "assignee": state.assignee,
            "workflows": list(state.workflows), "search": state.search,
            "created_from": state.created_from.isoformat() if state.created_from else None,
            "created_to": state.created_to.isoformat() if state.created_to else None,
            "tags": list(state.tags), "overdue": state.overdue, "open_hits": state.open_hits,
            "risk_levels": list(state.risk_levels),
            "sort": state.sort, "order": state.order}


def _params_of(saved: SavedFilter, views: list[ViewInfo]) -> ListParams:
    f = saved.filters
    view = f["view"] if f["view"] in {v.id for v in views} else None
    if views and view == views[0].id:
        view = None  # the first view is the list's default: no `view=` in the URL
    return ListParams(
        view=view, statuses=tuple(f["statuses"]), assignee=f["assignee"],
        workflows=tuple(f["workflows"]), tags=tuple(f["tags"]), search=f["search"],
        created_from=date.fromisoformat(f["created_from"]) if f["created_from"] else None,
        created_to=date.fromisoformat(f["created_to"]) if f["created_to"] else None,
        overdue=f["overdue"], open_hits=f.get("open_hits"),
        risk_levels=tuple(f.get("risk_levels") or ()), sort=f["sort"], order=f["order"])


def _choose(saved: SavedFilter, views: list[ViewInfo]) -> None:
    params = _params_of(saved, views)
    list_state.change(**{k: getattr(params, k) for k in params.__dataclass_fields__})
    if saved.view is not None and params.view is None and saved.view not in {v.id for v in views}:
        first = esc(views[0].name) if views else "all cases"
        list_state.add_note(f"The view saved in '{esc(saved.name)}' was deleted; showing "
                            f"{first} with its other filters.")


def _done(kind: str, message: str) -> None:
    st.session_state[OUTCOME_KEY] = (kind, message)
    st.session_state.pop(REFUSED_KEY, None)
    refresh()


def _save(db: Database, owner: str) -> None:
    name = st.session_state.get(NAME_KEY) or ""
    try:
        save_filter(db, owner, name, filters_of(list_state.params()))
    except DocketError as e:
        st.session_state[REFUSED_KEY] = ("save", error_text(e))
        return
    st.session_state[NAME_KEY] = ""
    _done("success", f"Saved as '{esc(' '.join(name.split()))}'.")


def _rename(db: Database, owner: str, saved: SavedFilter) -> None:
    name = st.session_state.get(f"my_view_name_{saved.id}") or ""
    try:
        rename_saved_filter(db, owner, saved.id, name)
    except DocketError as e:
        st.session_state[REFUSED_KEY] = (f"rename_{saved.id}", error_text(e))
        return
    _done("success", f"Renamed to '{esc(' '.join(name.split()))}'.")


def _delete(db: Database, owner: str, saved: SavedFilter) -> None:
    try:
        delete_saved_filter(db, owner, saved.id)
    except DocketError as e:
        _done("error", error_text(e))
        return
    _done("success", f"Deleted '{esc(saved.name)}'.")


def _refusal(menu: str) -> None:
    """The refusal of this menu's last save or rename, under its button."""
    refused = st.session_state.get(REFUSED_KEY)
    if refused and refused[0] == menu:
        st.error(refused[1], icon=":material/error:")


def _count_text(n: int | None) -> str:
    return "?" if n is None else f"{n:,}"


def my_views(db: Database, user: UserInfo, views: list[ViewInfo], state: ListParams) -> None:
    """The "My views" section (draw it in the sidebar, above the shared views)."""
    saved = list_saved_filters(db, user.username)
    counts = _counts(db.url, user.username) if saved else {}
    st.subheader("My views", anchor=False)
    current = filters_of(state)
    first = views[0].id if views else None
    with st.container(key="my_views", gap="small"):
        for item in saved:
            chosen = {**item.filters, "view": item.view if item.view != first else None}
            active = chosen == current
            row = st.container(horizontal=True, vertical_alignment="center", gap="small",
                               key=f"my_view_row_{item.id}")
            row.button(f"{esc(item.name)} ({_count_text(counts.get(item.id))})",
                       key=f"my_view_{item.id}", type="tertiary",
                       icon=":material/check:" if active else ":material/filter_alt:",
                       width="content",
                       on_click=_choose, args=(item, views))
            row.space("stretch")
            with row.popover("", icon=":material/more_vert:", type="tertiary",
                             key=f"my_view_menu_{item.id}", help="Rename or delete"):
                st.text_input("Name", value=item.name, key=f"my_view_name_{item.id}",
                              help=up_to(MAX_NAME))
                with st.container(horizontal=True):
                    st.button("Rename", key=f"my_view_rename_{item.id}",
                              on_click=_rename, args=(db, user.username, item))
                    st.button("Delete", key=f"my_view_delete_{item.id}",
                              icon=":material/delete:", on_click=_delete,
                              args=(db, user.username, item))
                _refusal(f"rename_{item.id}")
        if not saved:
            st.caption("Save the filters you use often: they show here with their count.")
        with st.popover("Save current filters", icon=":material/bookmark_add:",
                        key="my_views_save", width="stretch",
                        disabled=len(saved) >= MAX_SAVED,
                        help=(f"At most {MAX_SAVED} saved filters: delete one first."
                              if len(saved) >= MAX_SAVED else None)):
            st.caption("Keeps the view, filters and sort shown now under a name; only you "
                       "see it.")
            with st.form("my_views_save_form", border=False):
                st.text_input("Name", key=NAME_KEY, placeholder="e.g. My urgent",
                              help=up_to(MAX_NAME))
                st.form_submit_button("Save", type="primary", on_click=_save,
                                      args=(db, user.username))
                _refusal("save")
        outcome = st.session_state.pop(OUTCOME_KEY, None)
        if outcome:
            kind, message = outcome
            if kind == "success":
                st.success(message, icon=":material/check_circle:")
            else:
                st.error(message, icon=":material/error:")
