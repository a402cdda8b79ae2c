"""Import cases: pick a JSON file (the intake format) or a CSV file (one case per row); the
whole file is checked and every problem listed before anything is written; a good file is
imported in one go with a progress bar."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for
from ui.context import current_user, database
from ui.import_panel import check_file, format_help, import_button, pick_file, validation_report

db = database()
user = current_user()
only_for(user, Permission.IMPORT_CASES)

st.title("Import cases", anchor=False)
format_help()
picked = pick_file()
if picked is not None:
    found = check_file(db, *picked)
    validation_report(found)
    import_button(db, user, found)
