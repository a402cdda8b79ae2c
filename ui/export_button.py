"""CSV export of the current view and filters: every matching case, not just the page shown.

"Prepare CSV" streams the export from the database through `core.worklist.export.export_file` (which
checks the user's role and the filter before reading a row), in the list's order, with a
progress bar fed by the export's progress callback; the file is then offered by a download
button. The prepared file belongs to the filter and sort it was made for: changing the view, a
filter or the sort drops it. It is the only export: the tables' own CSV download, which skips
the formula protection, is switched off (dashboard.py).
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.worklist.export import export_file, export_filename
from core.worklist.query import CaseFilter
from ui.list_params import cases_count

EXPORT_KEY = "docket_export"   # {"signature", "data", "file_name", "rows"} of the prepared file
PREPARE_KEY = "export_prepare"
DOWNLOAD_KEY = "export_download"


def export_button(db: Database, user: UserInfo, flt: CaseFilter, *, sort: str = "created_at",
                  descending: bool = True) -> None:
    """The "Prepare CSV" button, its progress bar and, once ready, "Download CSV"."""
    signature = repr((flt, sort, descending))
    ready = st.session_state.get(EXPORT_KEY)
    if ready is not None and ready["signature"] != signature:  # another filter: stale file
        st.session_state.pop(EXPORT_KEY, None)
        ready = None

    row = st.container(horizontal=True, vertical_alignment="center")
    prepare = row.button("Prepare CSV", key=PREPARE_KEY, icon=":material/table_view:",
                         help="Export every case matching the current view and filters, in the "
                              "list's order (all pages), as CSV.")
    if prepare:
        ready = _prepare(db, user, flt, signature, sort, descending)
    if ready is not None:
        row.download_button(f"Download CSV ({cases_count(ready['rows'])})", ready["data"],
                            file_name=ready["file_name"], mime="text/csv", key=DOWNLOAD_KEY,
                            icon=":material/download:", type="primary", on_click="ignore")


def _prepare(db: Database, user: UserInfo, flt: CaseFilter, signature: str, sort: str,
             descending: bool) -> dict | None:
    bar = st.progress(0.0, text="Preparing CSV…")
    done_rows = [0]

    def progress(done: int, total: int) -> None:
        done_rows[0] = done
        fraction = min(1.0, done / total) if total else 1.0
        bar.progress(fraction, text=f"Preparing CSV… {done:,} of {cases_count(total)}")

    try:
        with export_file(db, flt, actor=user.username, progress=progress, sort=sort,
                         descending=descending) as out:
            data = out.read()
    except DocketError as e:
        bar.empty()
        st.session_state.pop(EXPORT_KEY, None)
        st.error(str(e), icon=":material/error:")
        return None
    bar.empty()
    ready = {"signature": signature, "data": data, "file_name": export_filename(),
             "rows": done_rows[0]}
    st.session_state[EXPORT_KEY] = ready
    return ready
