"""The case preview's timeline: each audit event as a sentence, newest first.

The sentences come from `core.cases.history` (the CLI's `show` prints the same ones). They
carry case data (field values, reasons, notes), so each is shown with `st.text`: no Markdown,
no HTML, and no autolinked URL (escaped Markdown would still turn `http://...` into a link).
The raw events (codes, before and after) are behind an expander, as code text, wrapped.
"""
from __future__ import annotations

import json

import streamlit as st

from core.cases.history import HistoryEntry, case_history
from core.cases.read import CaseDetail
from core.store.db import Database
from ui.text import when

SHOWN_FIRST = 15  # the newest events; the older ones are one click away


def _entries(entries: list[HistoryEntry]) -> None:
    for e in entries:
        with st.container(horizontal=True, wrap=False, gap="small"):
            st.caption(when(e.at), width="content")
            st.text(e.sentence, width="stretch")


def _raw(entries: list[HistoryEntry]) -> str:
    return "\n".join(json.dumps({"at": e.at.isoformat(sep=" ", timespec="seconds"),
                                 "actor": e.actor, "kind": e.kind, "before": e.before,
                                 "after": e.after}, ensure_ascii=False, default=str)
                     for e in entries)


def timeline(db: Database, detail: CaseDetail) -> None:
    st.markdown("#### Timeline")
    if not detail.timeline:
        st.caption("No events yet.")
        return
    entries = case_history(db, detail)
    with st.container(key="case_timeline"):
        _entries(entries[:SHOWN_FIRST])
        if len(entries) > SHOWN_FIRST:
            with st.expander(f"{len(entries) - SHOWN_FIRST} earlier events",
                             icon=":material/history:"):
                _entries(entries[SHOWN_FIRST:])
    with st.expander("Raw events (codes, before and after)", icon=":material/data_object:"):
        st.code(_raw(entries), language="json", wrap_lines=True)
