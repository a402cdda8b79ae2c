"""Where the case list's state lives between runs: one `ListParams` in the session, mirrored
in the URL (ui/list_params.py has the scheme), drawn by widgets that never own it.

Why not let each widget keep its own value: Streamlit remembers a selectbox, radio or
multiselect choice by its *label*, and the sidebar's labels carry live counts ("Manual review
(72)"). When a count changes, the remembered label no longer matches any option and the
widget falls back to its default. So the choice is kept here, by what it means (view id,
status value), and pushed into each widget before it is drawn; a widget's change reaches the
state through its on_change callback, which reads it with the labels the reviewer saw.

Each run starts from the session's state, unless the URL says otherwise: a new session (a
reload, a shared link, an Overview drill-down) or the back button reads the URL, with a note
for each value left out. Arriving from another page of the app with a bare URL keeps the
session's state, so the filters survive a visit to Overview.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import streamlit as st
from streamlit.runtime.state.session_state_proxy import get_session_state

from core.store.models import utcnow
from core.worklist.views import ViewInfo
from ui.list_params import CASE_KEY, LIST_KEYS, ListParams, parse_query, to_query
from ui.text import esc

STATE_KEY = "docket_list"             # the current ListParams
URL_KEY = "docket_list_url"           # the list parameters last written to the URL
NOTES_KEY = "docket_list_notes"       # notes to show above the list until the next change
VIEW_NAME_KEY = "docket_list_view"    # (id, name) of the chosen view, to name it once deleted
PAGE_KEY = "docket_page"              # the page this session ran last (set by the router)
PREVIOUS_PAGE_KEY = "docket_previous_page"
ACTED_KEY = "docket_list_acted"       # set by the list's callbacks for the run they start
DRAWN_KEY = "docket_list_drawn"       # widget key -> (value, label) last told
_MISSING = object()


def remember_page(url_path: str) -> None:
    """Called by the router before each page runs: which page ran before this one."""
    st.session_state[PREVIOUS_PAGE_KEY] = st.session_state.get(PAGE_KEY)
    st.session_state[PAGE_KEY] = url_path


def _came_from_another_page() -> bool:
    previous = st.session_state.get(PREVIOUS_PAGE_KEY)
    return previous is not None and previous != st.session_state.get(PAGE_KEY)


def _url_list_params() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in LIST_KEYS if st.query_params.get_all(k)}


def current(views: list[ViewInfo], workflows: dict[str, str]) -> ListParams:
    """The list to show in this run (see the module docstring), checked against the views
    that exist now: a chosen view deleted meanwhile falls back to the first, with a note."""
    names = {v.id: v.name for v in views}
    url = _url_list_params()
    state: ListParams | None = st.session_state.get(STATE_KEY)
    used = st.session_state.pop(ACTED_KEY, False)
    # A reviewer who just used the list acted on the list as drawn: a URL that differs then is
    # one the browser had not updated yet when it sent the click, not a navigation.
    if state is None or (url != st.session_state.get(URL_KEY) and not used
                         and not (not url and _came_from_another_page())):
        state, notes = parse_query(url, views=names, workflows=workflows,
                                   today=utcnow().date())
        if not _came_from_another_page():  # (that page may have left a note for this one)
            st.session_state.pop(NOTES_KEY, None)
        for note in notes:
            add_note(note)
    if state.view is not None and state.view not in names:
        last_id, last_name = st.session_state.get(VIEW_NAME_KEY) or (None, None)
        first = esc(views[0].name) if views else "all cases"
        if last_id == state.view:
            add_note(f"The view '{esc(last_name)}' was deleted; showing {first}.")
        else:
            add_note(f"That view no longer exists; showing {first}.")
        state = replace(state, view=None, page=1)
    if views:
        view_id = state.view if state.view is not None else views[0].id
        st.session_state[VIEW_NAME_KEY] = (view_id, names[view_id])
    st.session_state[STATE_KEY] = state
    return state


def params() -> ListParams:
    return st.session_state.get(STATE_KEY) or ListParams()


def change(**changes: Any) -> None:
    """A reviewer's change of the list (from a widget's callback): back to page 1 unless the
    page itself changed; the notes about the previous list are dropped."""
    state = params()
    if "page" not in changes:
        changes["page"] = 1
    st.session_state[STATE_KEY] = replace(state, **changes)
    st.session_state.pop(NOTES_KEY, None)
    acted()


def settle_page(page: int) -> None:
    """The page the list could show (a shorter list than the URL's page): no note dropped."""
    st.session_state[STATE_KEY] = replace(params(), page=page)


def acted() -> None:
    """Called by the list's callbacks: this run was asked for by a use of the list."""
    st.session_state[ACTED_KEY] = True


def on_change(field: str, widget_key: str,
              convert: Callable[[Any], Any] = lambda v: v) -> Callable[[], None]:
    """An on_change callback that copies a widget's new value into the list state."""
    def callback() -> None:
        change(**{field: convert(st.session_state.get(widget_key))})
    return callback


def bind(widget_key: str, value: Any, label: Any = None) -> None:
    """Before drawing a widget: make it show `value` when it may not. That is when the value
    or the label changed since it was last told (a widget remembers its label), and when the
    browser did not report the widget in this run's request: then the browser has not drawn
    it (the run that told it was cut short, by the sign-in cookie's rerun, say) and would
    show its default while the list is filtered by `value`. A widget the browser reported
    and nothing changed is left alone, so a pick the browser is sending is not undone."""
    drawn = st.session_state.setdefault(DRAWN_KEY, {})
    if (st.session_state.get(widget_key, _MISSING) != value
            or drawn.get(widget_key) != (value, label)
            or not browser_reported(widget_key)):
        st.session_state[widget_key] = value
    drawn[widget_key] = (value, label)


def browser_reported(widget_key: str) -> bool:
    """Whether the browser's request for this run carried the widget's state. Streamlit has
    no public call for it (pinned in requirements.txt; tests/ui/test_list_state.py checks
    the internals are there); if they move, every widget is told every run."""
    try:
        state = get_session_state()._state
        widget_id = state._key_id_mapper.get_id_from_key(widget_key)
        return widget_id is not None and widget_id in state._new_widget_state.states
    except Exception:  # noqa: BLE001 (internals moved: the safe answer is "not reported")
        return False


def add_note(note: str) -> None:
    notes = st.session_state.setdefault(NOTES_KEY, [])
    if note not in notes:
        notes.append(note)


def show_notes() -> None:
    notes = st.session_state.get(NOTES_KEY) or []
    if notes:
        body = notes[0] if len(notes) == 1 else "\n".join(f"- {n}" for n in notes)
        st.warning(body, icon=":material/info:")


def write_url(state: ListParams, default_view: int | None, case: str | None) -> None:
    """Puts the list (and the open case) in the URL, in one update, if it changed; other
    parameters in the URL are kept."""
    query = to_query(state, default_view=default_view)
    st.session_state[URL_KEY] = query
    wanted = {k: st.query_params.get_all(k) for k in st.query_params
              if k not in LIST_KEYS and k != CASE_KEY}
    wanted.update(query)
    if case:
        wanted[CASE_KEY] = [case]
    now = {k: st.query_params.get_all(k) for k in st.query_params}
    if wanted != now:
        st.query_params.from_dict(wanted)
