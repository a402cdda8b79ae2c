"""What every admin page shares: the role gate, one-shot messages, errors shown as text.

The router already leaves these pages out of a role's navigation; `only_for` checks again on
the page itself (and `core/` checks a third time on every write).
"""
from __future__ import annotations

import streamlit as st

from core.access.roles import Permission, can
from core.access.users import UserInfo
from core.errors import DocketError, InvalidInput
from ui.text import esc

FLASH_KEY = "docket_admin_flash"


def only_for(user: UserInfo, permission: Permission) -> None:
    """Stops the page for a user whose role lacks `permission`."""
    if not can(user.role, permission):
        st.error(f"Your role ({esc(user.role)}) may not open this page.", icon=":material/block:")
        st.stop()


def flash(message: str, kind: str = "success") -> None:
    """A message shown once, at the next run (after st.rerun)."""
    st.session_state[FLASH_KEY] = (kind, message)


def show_flash() -> None:
    kind, message = st.session_state.pop(FLASH_KEY, (None, None))
    if kind == "success":
        st.success(esc(message), icon=":material/check_circle:")
    elif kind == "error":
        st.error(esc(message), icon=":material/error:")


def show_error(error: DocketError | str, problems: list[str] | None = None) -> None:
    """A refusal: its sentence, then every problem, each as plain text (never Markdown)."""
    if isinstance(error, InvalidInput):
        problems = error.problems if problems is None else problems
        message = str(error).split("\n", 1)[0]
    else:
        message = str(error)
    lines = [esc(message)] + [f"- {esc(p)}" for p in (problems or [])]
    st.error("\n".join(lines), icon=":material/error:")


def problems_text(problems: list[str]) -> str:
    return "\n".join(f"- {esc(p)}" for p in problems)
