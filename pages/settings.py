"""Settings: the integrations notifications use — SMTP email, the SMS gateway, the CRM call,
the address in applicants' links — each with a "Send test" button; secrets are stored but
never shown back. Below, the limits and lifetimes an admin may set (private targets allowed,
re-upload link lifetime, upload limit), sign-in and sessions (idle timeout, lifetime, who
needs a second factor, SSO rules; docs/SECURITY.md), then what only the environment sets."""
import streamlit as st

from core.access.roles import Permission
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.settings_panel import channel_panel, environment_limits

db = database()
user = current_user()
only_for(user, Permission.MANAGE_INTEGRATIONS)

st.title("Settings", anchor=False)
show_flash()
left, right = st.columns(2, gap="medium")
with left:
    channel_panel(db, user, "smtp")
    channel_panel(db, user, "app")
with right:
    channel_panel(db, user, "sms")
    channel_panel(db, user, "crm")
channel_panel(db, user, "limits")
channel_panel(db, user, "signin")
environment_limits()
