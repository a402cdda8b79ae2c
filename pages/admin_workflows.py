"""Workflows: what each workflow asks for and does — its document types, re-upload reasons,
whether Approve needs every block approved, and which channels each action notifies. Edit,
create or delete one (never renamed; never deleted while cases use it); export and import
the definitions as YAML."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.workflow_editor import edit_workflow, new_workflow_form, pick_workflow, yaml_exchange

db = database()
user = current_user()
only_for(user, Permission.MANAGE_WORKFLOWS)

st.title("Workflows", anchor=False)
show_flash()
name = pick_workflow(db)
if name:
    edit_workflow(db, user, name)
else:
    new_workflow_form(db, user)
yaml_exchange(db, user, name)
