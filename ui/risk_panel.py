"""The case's explained risk score in the preview: its level as a badge, its points, and the
factors that produced them ("+25 country on high-risk list: IR"), from `CaseDetail`
(core/cases/risk.py). Factor sentences carry case data (a country, an industry): shown as
escaped text, never HTML."""
from __future__ import annotations

import streamlit as st

from core.cases.read import CaseDetail
from ui.text import esc

LEVEL_COLORS = {"low": "green", "medium": "orange", "high": "red"}


def risk_panel(detail: CaseDetail) -> None:
    with st.container(key="case_risk", gap="small"):
        if detail.risk_level is None:
            st.caption("Risk: not scored yet (scored at the case's next change)")
            return
        row = st.container(horizontal=True, vertical_alignment="center", gap="small")
        with row:
            st.badge(f"{detail.risk_level.capitalize()} risk",
                     color=LEVEL_COLORS.get(detail.risk_level, "gray"),
                     icon=":material/shield:")
            points = detail.risk_points or 0
            st.caption(f"{points} point{'' if points == 1 else 's'}"
                       + ("" if detail.risk_factors else " — no risk factor applies"))
        if detail.risk_factors:
            st.caption("  \n".join(esc(line) for line in detail.risk_factors))
