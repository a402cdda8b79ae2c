"""The preview's "Related cases (N)": the other cases that share an email, phone, registration
number, person, address or document file with the open case, each with what it shares, its
status and decision, and a button that opens it in the preview (the Cases page keeps the
open case in the URL, `?case=`).

Everything shown comes from `core.cases.related.related_cases` for the signed-in viewer.
Shared values are applicants' data: shown as text and escaped Markdown, never as HTML.
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.cases.read import CaseDetail
from core.cases.related import COMMON_AFTER, CommonValue, RelatedCase, related_cases
from core.errors import DocketError
from core.store.db import Database
from ui import list_state
from ui.badges import case_status_badge
from ui.case_list import CASE_PARAM
from ui.text import esc


def _open(case_id: str) -> None:
    """Opens the related case in the preview (as the list's own row buttons do)."""
    st.query_params[CASE_PARAM] = case_id
    list_state.acted()


def _shares(case: RelatedCase) -> str:
    return "; ".join(f"{s.label}: {s.shown}" for s in case.shared)


def _related(case: RelatedCase) -> None:
    with st.container(border=True, key=f"related_{case.case_id}", gap="small"):
        row = st.container(horizontal=True, vertical_alignment="center", gap="small")
        with row:
            st.button(esc(case.case_id), key=f"related_open_{case.case_id}", type="tertiary",
                      icon=":material/open_in_new:", on_click=_open, args=(case.case_id,),
                      help="Open this case here")
            case_status_badge(case.status, case.status_label)
            if case.true_match:
                st.badge("True screening match", color="red", icon=":material/policy:")
        decided = f" · decision: {esc(case.decision)}" if case.decision else ""
        st.markdown(f"**{esc(case.entity_name)}** · {esc(case.workflow)} · created "
                    f"{case.created_at:%Y-%m-%d}{decided}")
        st.caption(f"Shares {esc(_shares(case))}")


def _common(value: CommonValue) -> None:
    count = f"{value.others:,}{'+' if value.capped else ''}"
    st.caption(f"{esc(value.label)} {esc(value.shown)} is shared with {count} other cases: a "
               f"common value (more than {COMMON_AFTER}), its cases are not listed or counted.")


def related_cases_block(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """The expander, below the screening blocks; most telling cases first."""
    try:
        found = related_cases(db, detail.id, user.username)
    except DocketError as e:
        st.caption(esc(str(e)))
        return
    with st.expander(f"Related cases ({found.total:,})", icon=":material/hub:",
                     key=f"related_cases_{detail.id}"):
        if not found.total and not found.common:
            st.caption("No other case shares an email, phone, registration number, person, "
                       "address or document file with this one.")
        for case in found.cases:
            _related(case)
        if found.more:
            st.caption(f"And {found.more:,} more related cases, not listed.")
        for value in found.common:
            _common(value)
