"""CSV export of the current view and filters: every matching case, not just the page shown.

"Export CSV" asks core for a download link (`core.worklist.export_links.create_export_link`,
which checks the user's role and the filter first) and offers it as "Download CSV (N cases)".
The browser fetches the file from the server's download route (api/downloads.py), which
streams it from the database in the list's order: the file never sits in this session's
memory, however many cases match. A link works once, for 10 minutes; it belongs to the filter
and sort it was made for: changing the view, a filter or the sort drops it, and the page's next
run after it was used or expired drops it too (asking core, which knows on any server). It is the only export: the tables' own CSV download, which skips the formula protection,
is switched off (dashboard.py).
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.worklist.export_links import (
    EXPIRES_AFTER,
    create_export_link,
    download_url,
    export_link_state,
)
from core.worklist.query import CaseFilter, count_cases
from ui.list_params import cases_count

EXPORT_KEY = "docket_export"   # {"signature", "token", "url", "rows"} of the offered link
DONE_KEY = "docket_export_done"  # the signature of the list whose link was used
PREPARE_KEY = "export_prepare"
DOWNLOAD_KEY = "export_download"
MINUTES = int(EXPIRES_AFTER.total_seconds() // 60)


def export_button(db: Database, user: UserInfo, flt: CaseFilter, *, sort: str = "created_at",
                  descending: bool = True) -> None:
    """The "Export CSV" button and, once a link is made, "Download CSV (N cases)"."""
    signature = repr((flt, sort, descending))
    ready = _current(db, signature)
    row = st.container(horizontal=True, vertical_alignment="center")
    prepare = row.button("Export CSV", key=PREPARE_KEY, icon=":material/table_view:",
                         help="Export every case matching the current view and filters, in the "
                              "list's order (all pages), as CSV.")
    if prepare:
        st.session_state.pop(DONE_KEY, None)
        ready = _make_link(db, user, flt, signature, sort, descending)
    if ready is not None:
        # A plain link to the server's download route (it opens a tab the browser closes as
        # the download starts). No click callback: a rerun at the click cancels the download.
        row.link_button(f"Download CSV ({cases_count(ready['rows'])})", ready["url"],
                        key=DOWNLOAD_KEY, icon=":material/download:", type="primary")
        row.caption(f"The link works once, for {MINUTES} minutes.")
    elif st.session_state.get(DONE_KEY) == signature:
        row.caption("Downloaded. Export again for a fresh file.")


def _current(db: Database, signature: str) -> dict | None:
    """The link on offer, unless it was made for another list, was used, or has expired."""
    if st.session_state.get(DONE_KEY) not in (None, signature):
        st.session_state.pop(DONE_KEY, None)
    ready = st.session_state.get(EXPORT_KEY)
    if ready is None:
        return None
    state = "other list" if ready["signature"] != signature else \
        export_link_state(db, ready["token"])
    if state == "ready":
        return ready
    st.session_state.pop(EXPORT_KEY, None)
    if state == "used":
        st.session_state[DONE_KEY] = signature
    return None


def _make_link(db: Database, user: UserInfo, flt: CaseFilter, signature: str, sort: str,
               descending: bool) -> dict | None:
    try:
        token = create_export_link(db, actor=user.username, flt=flt, sort=sort,
                                   descending=descending)
        rows = count_cases(db, flt)
    except DocketError as e:
        st.session_state.pop(EXPORT_KEY, None)
        st.error(str(e), icon=":material/error:")
        return None
    ready = {"signature": signature, "token": token, "url": download_url(token), "rows": rows}
    st.session_state[EXPORT_KEY] = ready
    return ready
