"""Status badges: colours per case status and block status (labels come from core)."""
from __future__ import annotations

import streamlit as st

from core.cases.status import BlockStatus, CaseStatus

CASE_COLORS = {
    CaseStatus.COLLECTION_FLOW: "gray",
    CaseStatus.PENDING_PROCESS: "violet",
    CaseStatus.PENDING_ID_VERIFICATION: "blue",
    CaseStatus.MANUAL_REVIEW: "orange",
    CaseStatus.REVISIONS: "yellow",
    CaseStatus.APPROVED: "green",
    CaseStatus.REJECTED: "red",
}
BLOCK_COLORS = {
    BlockStatus.AWAITING_REVIEW: "gray",
    BlockStatus.APPROVED: "green",
    BlockStatus.REUPLOAD_NEEDED: "orange",
    BlockStatus.PENDING_ID_VERIFICATION: "blue",
    BlockStatus.PENDING_REUPLOAD: "violet",
}


def case_status_badge(status: str, label: str) -> None:
    st.badge(label, color=CASE_COLORS.get(CaseStatus(status), "gray"))


def block_status_badge(status: str, label: str) -> None:
    st.badge(label, color=BLOCK_COLORS.get(BlockStatus(status), "gray"))
