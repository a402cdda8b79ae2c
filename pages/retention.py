"""Retention (admins): what falls due for erasure, what is held and why, the erasure requests
waiting for retention to end; place or release a legal hold, record an erasure request, erase
the due cases now (docs/RECORDS.md, "Retention, legal hold and erasure")."""
import streamlit as st

from core.cases.retention_state import sees_restricted
from core.records.retention import LISTED, retention_plan
from core.records.retention_daily import last_review
from ui.admin import show_flash
from ui.context import current_user, database
from ui.retention_panel import actions, erase_due, lists, summary

db = database()
user = current_user()
if not sees_restricted(user.role):
    st.error("Retention is for admins.", icon=":material/block:")
    st.stop()

st.title("Retention", anchor=False)
st.caption("Records are kept the workflow's retention years after the relationship ends "
           "(a rejection or the relationship_ended event), then erased unless a legal hold "
           "is in force.")
show_flash()
plan = retention_plan(db, actor=user.username, limit=LISTED)
summary(plan, last_review(db))
lists(plan)
erase_due(db, user, plan)
actions(db, user)
