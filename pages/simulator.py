"""Simulator: create a test case from a template, then play the outside world — the
applicant finishes the collection flow, processes complete or fail, UBOs do their KYC, files
are re-uploaded — and watch the status and the case actions change. For admins and reviewers,
in demo mode or with DOCKET_SIMULATOR=on."""
import streamlit as st

from core import config
from core.demo.simulator import SIMULATOR_ROLES
from core.errors import NotAllowed
from ui.admin import show_error, show_flash
from ui.context import current_user, database
from ui.simulator_panel import case_state, new_case_form, pick_case

db = database()
user = current_user()
if user.role not in SIMULATOR_ROLES or not config.simulator_enabled(db.url):
    show_error(NotAllowed("the simulator is not available to you here"))
    st.stop()

st.title("Simulator", anchor=False)
st.caption("Simulated cases are real cases tagged 'simulator'. Decide on them in Cases.")
show_flash()
left, right = st.columns([2, 3], gap="medium")
with left:
    new_case_form(db, user)
with right:
    case_id = pick_case(db)
    if case_id:
        case_state(db, user, case_id)
