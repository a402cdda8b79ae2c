"""Length limits of text fields, said in words instead of enforced by Streamlit's `max_chars`.

`max_chars` drops a paste longer than the limit whole: the field stays empty ("0/2000") and
the form then says the field is required, or saves nothing the user can see (issue #18.6). So
no field in ui/ sets it. A field whose text is saved keeps everything typed or pasted, and a
text over the limit is refused next to the button pressed, naming the field, the limit and the
length (`refuse_too_long`); the core refuses it too where it has a limit of its own. A filter
keeps its first `limit` characters and says so (`cut_to_limit`), as the case list's Search.
"""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

_CUT_NOTES_KEY = "docket_cut_notes"   # widget key -> the note about its text being cut


def up_to(limit: int) -> str:
    """A field's help text naming its limit."""
    return f"Up to {limit:,} characters."


def too_long(fields: dict[str, tuple[str | None, int]]) -> list[str]:
    """Each field (label -> (text, limit)) whose text is over its limit, said in words."""
    return [f"{label} takes at most {limit:,} characters; this text has {len(text):,}. "
            "Shorten it and try again (nothing was cut)."
            for label, (text, limit) in fields.items() if text and len(text) > limit]


def refuse_too_long(fields: dict[str, tuple[str | None, int]], where: Any = None) -> bool:
    """Says which fields are over their limit (in `where`, else here); True if any, and the
    caller then saves nothing: the text stays in its field to be shortened."""
    problems = too_long(fields)
    for problem in problems:
        (where or st).error(problem, icon=":material/error:")
    return bool(problems)


def cut_to_limit(key: str, limit: int, label: str,
                 then: Callable[[], None] | None = None) -> Callable[[], None]:
    """An on_change callback for a filter field: its text cut to its first `limit` characters
    with a note (`show_cut_note`), then `then` (the field's own callback, if any)."""
    def callback() -> None:
        text = str(st.session_state.get(key) or "")
        notes = st.session_state.setdefault(_CUT_NOTES_KEY, {})
        notes.pop(key, None)
        if len(text) > limit:
            st.session_state[key] = text[:limit]
            notes[key] = (f"{label} takes at most {limit:,} characters; the text had "
                          f"{len(text):,} and was cut to its first {limit:,}.")
        if then is not None:
            then()
    return callback


def show_cut_note(key: str, where: Any = None) -> None:
    """The note of `cut_to_limit` for this field, while its text is the cut one."""
    note = (st.session_state.get(_CUT_NOTES_KEY) or {}).get(key)
    if note:
        (where or st).caption(f":material/content_cut: {note}")
