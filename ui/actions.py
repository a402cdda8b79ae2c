"""Calling the core's commands from buttons, with the case version the reviewer saw.

Every action button passes `detail.version` of the run that drew it (callback args are bound
when the button is drawn), so a case that changed since is refused by the core with "case
changed, reload" and nothing is written. The outcome is shown once at the top of the preview.
"""
from __future__ import annotations

from typing import Callable

import streamlit as st

from core.errors import CaseChanged, DocketError
from ui.case_list import refresh_counts

OUTCOME_KEY = "docket_outcome"


def attempt(command: Callable[[], object], success: str) -> bool:
    """Runs one core command; records its outcome (success, error, or case changed)."""
    try:
        command()
    except CaseChanged as e:
        st.session_state[OUTCOME_KEY] = ("changed", str(e))
        return False
    except DocketError as e:
        st.session_state[OUTCOME_KEY] = ("error", str(e))
        return False
    refresh_counts()
    st.session_state[OUTCOME_KEY] = ("success", success)
    return True


def show_outcome() -> None:
    """The last action's outcome; for a stale case, a reload button (which dismisses it)."""
    kind, message = st.session_state.pop(OUTCOME_KEY, (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
    elif kind == "changed":
        show_case_changed(message, key="reload_case")


def show_case_changed(message: str, *, key: str) -> bool:
    st.error(message, icon=":material/sync_problem:")
    return st.button("Reload case", icon=":material/refresh:", key=key)
