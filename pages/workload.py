"""Workload: the team's open cases per reviewer by status, how many are overdue, and
reassigning a case from there (team leads and admins). Everything is in `core.worklist.workload`
and `core.cases.actions`; the widgets are in `ui.workload_panel`."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for
from ui.context import current_user, database
from ui.workload_panel import workload_page

db = database()
user = current_user()
only_for(user, Permission.VIEW_WORKLOAD)

st.title("Workload", anchor=False)
st.caption("Open cases per reviewer, by status; overdue: past the due time of their "
           "workflow's service level. Reassign a case below.")
workload_page(db, user)
