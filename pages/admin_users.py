"""Users: every account with its role and status; add a user; change a role, disable or
enable an account, reset a password or a second factor. The last active admin cannot be
disabled or demoted; every change is audited. Tab "Sessions": the open sign-in sessions; end
one, or sign a user out everywhere. Tab "Sign-ins": the sign-in history with filters. Tab
"API keys": the keys other systems call the API with; add one (shown once), revoke one."""
import streamlit as st

from core.access.roles import Permission
from core.access.users import list_users
from ui.admin import only_for, show_flash
from ui.api_keys_panel import api_keys_section
from ui.context import current_user, database
from ui.sessions_panel import sessions_section
from ui.sign_ins_panel import sign_ins_section
from ui.user_admin import add_user_form, manage_user, users_table

db = database()
user = current_user()
only_for(user, Permission.MANAGE_USERS)

st.title("Users", anchor=False)
show_flash()
users = list_users(db)
accounts_tab, sessions_tab, sign_ins_tab, keys_tab = st.tabs(
    ["Accounts", "Sessions", "Sign-ins", "API keys"], key="ua_tab", on_change="rerun")
if accounts_tab.open:  # only the open tab runs
    with accounts_tab:
        users_table(users)
        left, right = st.columns(2, gap="medium")
        with left:
            manage_user(db, user, users)
        with right:
            add_user_form(db, user)
if sessions_tab.open:
    with sessions_tab:
        sessions_section(db, user, users)
if sign_ins_tab.open:
    with sign_ins_tab:
        sign_ins_section(db, user)
if keys_tab.open:
    with keys_tab:
        api_keys_section(db, user, users)
