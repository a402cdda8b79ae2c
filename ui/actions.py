"""Calling the core's commands from buttons, with the case version the reviewer saw.

Every action button passes `detail.version` of the run that drew it (callback args are bound
when the button is drawn), so a case that changed since is refused by the core ("This case
changed since you opened it") and nothing is written. The outcome is shown where the reviewer
is looking: next to the button that was pressed (`where` names the place; the place draws
it with `show_outcome(where)`), the case actions' at the top of the preview. A refusal for a
stale case lists what changed since (from the audit log); the versions go to the log only.
"""
from __future__ import annotations

import logging
from typing import Callable, Sequence

import streamlit as st

from core.cases.history import block_names, describe
from core.cases.read import CaseDetail, events_since
from core.errors import CaseChanged, DocketError
from core.store.db import Database
from ui.case_list import refresh_counts
from ui.text import error_text, esc, when

OUTCOME_KEY = "docket_outcome"
EDITED = ("Someone changed this case while you were editing — review their change, then "
          "{again} again.")
log = logging.getLogger("docket.ui")


def changes_since(db: Database, detail: CaseDetail) -> Callable[[], list[tuple]]:
    """What changed since `detail` was read: (when, sentence), for a stale-case refusal."""
    def read() -> list[tuple]:
        names = block_names(detail)
        return [(e["at"], describe(e, names))
                for e in events_since(db, detail.id, detail.last_event_id)]
    return read


def attempt(command: Callable[[], object], success: str, *, where: str | None = None,
            changes: Callable[[], Sequence[str]] | None = None) -> bool:
    """Runs one core command; records its outcome (success, error, or case changed) for the
    place `where` (None: the top of the preview). `success` is the app's own Markdown (escape
    any data in it); a refusal's words are escaped here. On a stale case, `changes()` gives
    what changed since, as (when, sentence)."""
    try:
        command()
    except CaseChanged as e:
        log.info("stale action refused: %s", e.detail)
        lines = list(changes()) if changes else []
        st.session_state[OUTCOME_KEY] = {"kind": "changed", "message": esc(str(e)),
                                         "where": where, "changes": lines}
        return False
    except DocketError as e:
        st.session_state[OUTCOME_KEY] = {"kind": "error", "message": error_text(e),
                                         "where": where}
        return False
    refresh_counts()
    st.session_state[OUTCOME_KEY] = {"kind": "success", "message": success, "where": where}
    return True


def fail(message: str, where: str | None = None) -> None:
    """Records a refusal the page makes itself (nothing was changed, say)."""
    st.session_state[OUTCOME_KEY] = {"kind": "error", "message": esc(message), "where": where}


def show_outcome(where: str | None = None, *, again: str | None = None) -> None:
    """The last action's outcome, if it belongs here. A stale case: the message, what changed
    since, and a reload button (which dismisses it) — or, where the typed values were kept
    (`again`: "save", "add the note"), the words to review and do it again."""
    outcome = st.session_state.get(OUTCOME_KEY)
    if not isinstance(outcome, dict) or outcome.get("where") != where:
        return
    del st.session_state[OUTCOME_KEY]
    if outcome["kind"] == "success":
        st.success(outcome["message"], icon=":material/check_circle:")
    elif outcome["kind"] == "error":
        st.error(outcome["message"], icon=":material/error:")
    elif again:
        show_changes(esc(EDITED.format(again=again)), outcome.get("changes", []))
    else:
        show_case_changed(outcome["message"], key=f"reload_case_{where or 'top'}",
                          changes=outcome.get("changes", []))


def show_changes(message: str, changes: Sequence) -> None:
    """A stale-case message (escaped Markdown), then what changed since, one sentence a line
    as text (sentences carry case data: Markdown would turn a URL in a note into a link)."""
    st.error(message, icon=":material/sync_problem:")
    if changes:
        st.caption("Since you opened it:")
        for at, text in changes:
            st.text(f"{when(at)} · {text}", width="stretch")


def show_case_changed(message: str, *, key: str, changes: Sequence = ()) -> bool:
    show_changes(message, changes)
    return st.button("Reload case", icon=":material/refresh:", key=key)
