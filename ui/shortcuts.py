"""The reviewer's keyboard shortcuts: one table, used by the buttons and by the help popover.

Streamlit binds a shortcut to a button (`st.button(shortcut=...)`); "C" and "R" are reserved
by Streamlit (clear cache, rerun), so Reject is X. A shortcut does nothing while the focus is
in a text field, and nothing when its button is disabled or not on the page.

A button takes its shortcut with `st.button(..., shortcut=bind(APPROVE))`: the popover lists
the shortcuts bound on the page as it is now, so it never lists a key that has no button. The
Cases page calls `start_page()` first, binds OPEN_CASE once the preview is drawn (its buttons
take `.key` directly), and draws the popover last, into a place it kept for it.
"""
from __future__ import annotations

from typing import NamedTuple

import streamlit as st

BOUND_KEY = "docket_shortcuts_bound"  # the shortcuts bound in this run, in order


class Shortcut(NamedTuple):
    key: str
    does: str


NEXT_CASE = Shortcut("N", "Next case: take the most urgent case of this list and open it")
NEXT_ROW = Shortcut("J", "Open the next case of the list")
PREVIOUS_ROW = Shortcut("K", "Open the previous case of the list")
ASSIGN_TO_ME = Shortcut("M", "Assign the open case to me")
APPROVE = Shortcut("A", "Approve the open case (opens the confirmation)")
REJECT = Shortcut("X", "Reject the open case (opens the confirmation)")
ASK_FOR_REUPLOADS = Shortcut("U", "Ask for all re-uploads (opens the confirmation)")

ALL = (NEXT_CASE, NEXT_ROW, PREVIOUS_ROW, ASSIGN_TO_ME, APPROVE, REJECT, ASK_FOR_REUPLOADS)
OPEN_CASE = (ASSIGN_TO_ME, APPROVE, REJECT, ASK_FOR_REUPLOADS)  # the case preview's buttons


def start_page() -> None:
    """At the start of a page's run: no shortcut bound yet."""
    st.session_state[BOUND_KEY] = []


def bind(*shortcuts: Shortcut) -> str:
    """The key for `st.button(shortcut=...)` (of the first); the help popover lists them."""
    bound = st.session_state.setdefault(BOUND_KEY, [])
    for shortcut in shortcuts:
        if shortcut not in bound:
            bound.append(shortcut)
    return shortcuts[0].key


def bound() -> list[Shortcut]:
    """The shortcuts bound in this run, in the order of ALL."""
    found = st.session_state.get(BOUND_KEY) or []
    return [s for s in ALL if s in found]


def help_popover() -> None:
    """A "Shortcuts" popover listing the shortcuts the buttons on the page have now."""
    with st.popover("Shortcuts", icon=":material/keyboard:"):
        listed = bound()
        if listed:
            st.markdown("\n".join(f"- **{s.key}** — {s.does}" for s in listed))
        else:
            st.caption("No shortcut on this page now.")
        st.caption("Press the key with the focus on the page (click an empty spot first). "
                   "A shortcut does nothing while you type in a field, or while its button "
                   "is greyed out.")
