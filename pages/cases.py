"""Cases: views and filters in the sidebar, the worklist controls (Next case, Work the queue,
the list's previous/next case, shortcuts), the case list, and the selected case's preview to
the right. The list's view, filters, sort and page and the open case are in the URL (see
ui/list_params.py), so a reload, a shared link and the back button restore them."""
import streamlit as st

from ui import list_state, shortcuts
from ui.case_list import sidebar_filters
from ui.case_preview import case_preview
from ui.case_table import case_table
from ui.context import current_user, database
from ui.export_button import export_button
from ui.worklist_bar import row_buttons, take_if_asked, worklist_bar

db = database()
user = current_user()
shortcuts.start_page()
case_filter, default_view = sidebar_filters(db, user)
take_if_asked(db, user, case_filter)  # may open a case: before the page is laid out

was_open = bool(st.query_params.get("case"))
if was_open:
    list_column, preview_column = st.columns([5, 4], gap="medium")
else:
    list_column, preview_column = st.container(), None

with list_column:
    with st.container(horizontal=True, vertical_alignment="center"):
        st.title("Cases", anchor=False)
        st.space("stretch")
        help_place = st.container(width="content")
    bar = worklist_bar(user)
    listing = case_table(db, case_filter, default_view, user)
    row_buttons(bar, listing.page, listing.opened)
    listed = list_state.params()
    export_button(db, user, case_filter, sort=listed.sort, descending=listed.descending)

if bool(listing.opened) != was_open:  # a row was selected or cleared: lay the page out again
    st.rerun()
if preview_column is not None and listing.opened:
    with preview_column, st.container(border=True):
        case_preview(db, user, listing.opened)
    shortcuts.bind(*shortcuts.OPEN_CASE)
with help_place:  # last: it lists the shortcuts of every button drawn, the open case's too
    shortcuts.help_popover()
