"""Deliveries (admin): every notification with its attempts, filtered by status, endpoint or
case; replay one or every failed one; endpoint health; and the webhook endpoints — add (the
signing secret is shown once), disable/enable, rotate the secret."""
import streamlit as st

from core.access.roles import Permission
from core.notifications.deliveries import endpoint_health
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.deliveries_panel import (
    add_endpoint_form,
    deliveries_section,
    endpoint_health_table,
    manage_endpoint,
    show_new_secret,
    state_counts,
)

db = database()
user = current_user()
only_for(user, Permission.MANAGE_INTEGRATIONS)

st.title("Deliveries", anchor=False)
show_flash()
show_new_secret()
state_counts(db)
health = endpoint_health(db)
endpoints = [h.endpoint for h in health]
deliveries_tab, endpoints_tab = st.tabs(["Deliveries", "Endpoints"])
with deliveries_tab:
    deliveries_section(db, user, endpoints)
with endpoints_tab:
    endpoint_health_table(db, health)
    left, right = st.columns(2, gap="medium")
    with left:
        manage_endpoint(db, user, endpoints)
    with right:
        add_endpoint_form(db, user)
