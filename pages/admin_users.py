"""Users: every account with its role and status; add a user; change a role, disable or
enable an account, reset a password. The last active admin cannot be disabled or demoted;
every change is audited."""
import streamlit as st

from core.access.roles import Permission
from core.access.users import list_users
from ui.admin import only_for, show_flash
from ui.context import current_user, database
from ui.user_admin import add_user_form, manage_user, users_table

db = database()
user = current_user()
only_for(user, Permission.MANAGE_USERS)

st.title("Users", anchor=False)
show_flash()
users = list_users(db)
users_table(users)
left, right = st.columns(2, gap="medium")
with left:
    manage_user(db, user, users)
with right:
    add_user_form(db, user)
