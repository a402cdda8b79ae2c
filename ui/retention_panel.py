"""The Retention page's widgets (admins): what falls due, what is held and why, the erasure
requests waiting for retention to end; place or release a legal hold, record an erasure
request, erase the due cases now. Every rule and refusal is in `core.records.retention*`;
case data is shown as table cells (plain text), never as Markdown."""
from __future__ import annotations

from datetime import date, datetime

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.records.retention import (
    MAX_REASON,
    RetentionPlan,
    RetentionRow,
    place_hold,
    release_hold,
    request_erasure,
)
from core.records.retention_daily import RetentionReview
from core.records.retention_erase import run_retention
from core.store.db import Database
from ui.admin import flash, show_error
from ui.limits import up_to
from ui.text import count_of, plain

ACTIONS = {"hold": "Place a legal hold", "release": "Release its legal holds",
           "erasure": "Record an erasure request (GDPR Art. 17)"}


def summary(plan: RetentionPlan, last: RetentionReview | None = None) -> None:
    """The counts now; under them the worker's last daily dry run (`last`), if any."""
    cols = st.columns(5)
    cols[0].metric("Due for erasure", f"{len(plan.due):,}")
    cols[1].metric("Due but held", f"{len(plan.held):,}")
    cols[2].metric("Erasure requests waiting", f"{len(plan.not_over):,}")
    cols[3].metric("Within retention", f"{plan.kept:,}")
    cols[4].metric("Erased", f"{plan.erased:,}")
    if last is not None:
        st.caption(f"Last daily dry run: {last.at:%Y-%m-%d %H:%M} UTC, "
                   f"{count_of(last.due, 'case')} due, {last.held:,} held, "
                   f"{last.deferred:,} deferred (the worker runs it; it erases nothing).")
    else:
        st.caption("No daily dry run yet: the worker runs one a day.")


def _rows(rows: list[RetentionRow], holds: bool = False) -> list[dict[str, str]]:
    out = []
    for r in rows:
        row = {"Case": r.case_id, "Workflow": r.workflow, "Status": r.status,
               "Relationship ended": plain(r.relationship_ended_at),
               "Kept until": plain(r.retention_until),
               "Erasure requested": plain(r.erasure_requested_at)}
        if holds:
            for h in r.holds:
                out.append({**row, "Hold": str(h.id), "Held by": h.placed_by,
                            "Since": plain(h.placed_at), "Until": plain(h.until) or "released",
                            "Why": h.reason})
        else:
            out.append({**row, "Why": r.why})
    return out


def _table(title: str, rows: list[dict[str, str]], empty: str, key: str) -> None:
    st.subheader(title, anchor=False)
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch", key=key)
    else:
        st.caption(empty)


def lists(plan: RetentionPlan) -> None:
    _table("Falls due", _rows(plan.due), "No case is due for erasure.", "ret_due")
    _table("Held", _rows(plan.holds, holds=True), "No legal hold is in force.", "ret_holds")
    _table("Erasure requests waiting for retention to end", _rows(plan.not_over),
           "No erasure request is waiting.", "ret_requests")


def erase_due(db: Database, user: UserInfo, plan: RetentionPlan) -> None:
    if not plan.due:
        return
    with st.expander(f"Erase the {count_of(len(plan.due), 'due case')} now"):
        st.caption("Their personal data, documents and files are deleted, their audit values "
                   "cleared, their subject keys destroyed; the cases stay as tombstones. "
                   "This cannot be undone (docs/RECORDS.md).")
        sure = st.checkbox("I have checked the list above", key="ret_erase_sure")
        if st.button("Erase now", type="primary", icon=":material/delete_forever:",
                     key="ret_erase_go", disabled=not sure):
            try:
                report = run_retention(db, apply=True, actor=user.username)
            except DocketError as e:
                show_error(e)
            else:
                skipped = f"; {len(report.refused)} refused" if report.refused else ""
                flash(f"Erased {count_of(len(report.erased), 'case')}{skipped}.")
                st.rerun()


def _until(value: date | None) -> datetime | None:
    return datetime.combine(value, datetime.min.time()) if value else None


def actions(db: Database, user: UserInfo) -> None:
    st.subheader("Hold, release, erasure request", anchor=False)
    with st.form("ret_action", border=True):
        case_id = st.text_input("Case id", key="ret_case")
        action = st.radio("Action", list(ACTIONS), format_func=ACTIONS.get, key="ret_action",
                          horizontal=True)
        reason = st.text_area("Reason (a matter, an authority, how the request came)",
                              key="ret_reason", help=up_to(MAX_REASON))
        until = st.date_input("Hold until (empty: until released)", value=None,
                              key="ret_until")
        if not st.form_submit_button("Apply", type="primary"):
            return
    case_id = case_id.strip()
    try:
        if action == "hold":
            place_hold(db, case_id, actor=user.username, reason=reason, until=_until(until))
            message = f"Legal hold placed on {case_id}."
        elif action == "release":
            released = release_hold(db, case_id, actor=user.username, reason=reason)
            message = f"Released {count_of(len(released), 'legal hold')} of {case_id}."
        else:
            outcome = request_erasure(db, case_id, actor=user.username, reason=reason)
            message = (f"Erasure request for {case_id} recorded: "
                       + ("deferred until its retention ends; the case is restricted to admins."
                          if outcome == "deferred" else "the next retention run erases it."))
    except DocketError as e:
        show_error(e)
    else:
        flash(message)
        st.rerun()
