"""The Workload page's widgets: open cases per reviewer by status and overdue, and reassigning
a case from there. Numbers come from `core.worklist.workload`; the reassignment is
`core.cases.actions.assign_case`, the same command (checks, version, audit) as the preview's."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.cases import actions as case_actions
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.store.db import Database
from core.worklist.workload import OPEN_STATUSES, WorkloadRow, cases_of, workload
from ui.actions import attempt, show_outcome
from ui.text import esc, when

UNASSIGNED = "(unassigned)"  # the selectbox's value for nobody (a username cannot hold "(")
FROM_KEY, CASE_KEY, TO_KEY = "wl_from", "wl_case", "wl_to"


def _who(row: WorkloadRow) -> str:
    return row.name if row.username is None else f"{row.name} ({row.username})"


def workload_table(rows: list[WorkloadRow]) -> None:
    labels = [CASE_STATUS_LABELS[CaseStatus(s)] for s in OPEN_STATUSES]
    table = pd.DataFrame([{
        "Reviewer": _who(r), "Role": r.role, "Open": r.open, "Overdue": r.overdue,
        **{label: r.by_status.get(s, 0) for s, label in zip(OPEN_STATUSES, labels)},
    } for r in rows], columns=["Reviewer", "Role", "Open", "Overdue", *labels])
    st.dataframe(table, hide_index=True, width="stretch", key="wl_table",
                 column_config={"Overdue": st.column_config.NumberColumn(
                     help="Open cases past their due time (the workflow's SLA)")})


def _reassign(db: Database, actor: str, case_id: str, version: int, to: str | None) -> None:
    who = "no one" if to is None else esc(to)
    attempt(lambda: case_actions.assign_case(db, case_id, to, actor=actor,
                                             expected_version=version),
            f"Case {esc(case_id)} reassigned to {who}.", where="workload")


def reassign_panel(db: Database, user: UserInfo, rows: list[WorkloadRow]) -> None:
    """Pick a person, one of their open cases, and who takes it over."""
    st.markdown("#### Reassign a case")
    show_outcome("workload")
    holders = {r.username or UNASSIGNED: r for r in rows if r.open}
    if not holders:
        st.caption("No open case to reassign.")
        return
    left, middle, right = st.columns([1, 2, 1], vertical_alignment="bottom")
    source = left.selectbox("From", list(holders), key=FROM_KEY,
                            format_func=lambda u: f"{_who(holders[u])} · {holders[u].open} open")
    cases = cases_of(db, None if source == UNASSIGNED else source, actor=user.username)
    by_id = {c.id: c for c in cases}
    if not by_id:
        middle.caption("No open case.")
        return
    case_id = middle.selectbox(
        "Case (most urgent first)", list(by_id), key=CASE_KEY,
        format_func=lambda i: (f"{i} · {by_id[i].name} · "
                               f"{CASE_STATUS_LABELS[CaseStatus(by_id[i].status)]}"
                               + (f" · due {when(by_id[i].due_at)}" if by_id[i].due_at else "")))
    targets = [r.username for r in rows if r.username and r.role not in ("disabled", "analyst")
               and r.username != (None if source == UNASSIGNED else source)]
    names = {r.username: _who(r) for r in rows if r.username}
    to = right.selectbox("To", [*targets, UNASSIGNED], key=TO_KEY,
                         format_func=lambda u: "No one (unassign)" if u == UNASSIGNED
                         else names[u])
    chosen = by_id[case_id]
    st.button("Reassign", key="wl_reassign", type="primary", icon=":material/swap_horiz:",
              on_click=_reassign, args=(db, user.username, chosen.id, chosen.version,
                                        None if to == UNASSIGNED else to))


def workload_page(db: Database, user: UserInfo) -> None:
    rows = workload(db, actor=user.username)
    workload_table(rows)
    reassign_panel(db, user, rows)
