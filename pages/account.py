"""My account, for every signed-in user: name and role, the second factor (set it up, new
recovery codes), and where they are signed in, with "Sign out everywhere else"."""
import streamlit as st

from ui.account_panel import second_factor_section, sessions_section, who
from ui.admin import show_flash
from ui.context import current_user, database

db = database()
user = current_user()

st.title("My account", anchor=False)
show_flash()
who(user)
second_factor_section(db, user)
sessions_section(db, user)
