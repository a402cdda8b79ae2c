"""Views: the saved segments of cases listed in the Cases sidebar. Reorder or delete them,
create or edit one (name, workflows, conditions, default statuses) while a live count shows
how many cases it matches."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.view_builder import view_editor, view_list

db = database()
user = current_user()
only_for(user, Permission.MANAGE_VIEWS)

st.title("Views", anchor=False)
st.caption("The views of the Cases sidebar. Conditions are checked when you save; "
           "the count below follows your edits.")
show_flash()
view_list(db, user)
view_editor(db, user)
