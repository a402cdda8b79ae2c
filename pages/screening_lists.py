"""Screening lists: the sanctions lists the built-in screener matches case subjects against.
Load an OpenSanctions or OFAC SDN file as a new list or as the next version of one (the whole
file checked first; a refused file's problems listed by line), see each list's versions and
what each changed. A load that changes entries queues every case not rejected for
rescreening."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.screening_lists_panel import (
    current_lists,
    formats_help,
    lists_table,
    load_form,
    screening_queue,
    version_history,
)

db = database()
user = current_user()
only_for(user, Permission.MANAGE_SCREENING_LISTS)

st.title("Screening lists", anchor=False)
show_flash()
found = current_lists(db)
lists_table(found)
screening_queue(db, found)
load_form(db, user, found)
version_history(db, found)
formats_help()
