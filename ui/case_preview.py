"""The case preview: title, status, case actions, assignee, tags, blocks, screening hits
(ui/screening_block.py), notes, timeline and, for leads and admins, who looked at the case
(ui/access_log_panel.py; opening the preview is recorded there).

Everything shown comes from `core.cases.read.case_detail` for the signed-in viewer; every
button's enabled state and help text is the core's answer (allowed / reason). Case data is
shown as text only (tables, escaped Markdown), never as HTML.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.roles import Role
from core.access.users import UserInfo, list_users
from core.cases import actions as case_actions
from core.cases.read import CaseDetail, case_detail
from core.cases.status import CaseAction
from core.errors import NotFound
from core.store.db import Database
from ui import shortcuts
from ui.access_log_panel import access_log_section, note_case_viewed
from ui.actions import attempt, changes_since, show_outcome
from ui.badges import case_status_badge
from ui.case_blocks import blocks
from ui.case_edit import data_block, user_data_block
from ui.case_file_panel import show_case_file_export
from ui.case_list import close_preview
from ui.case_tags import case_tags
from ui.dialogs import open_dialog, show_open_dialog
from ui.related_cases import related_cases_block
from ui.risk_panel import risk_panel
from ui.screening_block import screening_block
from ui.text import esc, plain, when
from ui.timeline import timeline


def case_preview(db: Database, user: UserInfo, case_id: str) -> None:
    try:
        detail = case_detail(db, case_id, user.username)
    except NotFound as e:
        st.warning(str(e), icon=":material/search_off:")
        st.button("Close", key="preview_close_missing", on_click=close_preview)
        return
    note_case_viewed(db, user, case_id)
    show_outcome()
    _header(detail)
    risk_panel(detail)
    show_open_dialog(db, user, detail)
    _assignee(db, user, detail)
    case_tags(db, user, detail)
    _decision_and_processes(detail)
    if detail.shows("user_data"):
        user_data_block(db, user, detail)
    if detail.shows("registry_data"):
        data_block("Registry provided data", detail.registry_data, "No registry data.")
    if detail.enriched_data and detail.shows("enriched_data"):
        data_block("Enriched data", detail.enriched_data, "")
    blocks(db, user, detail)
    screening_block(db, user, detail)
    related_cases_block(db, user, detail)
    _notes(db, user, detail)
    timeline(db, detail)
    access_log_section(db, user, detail)
    show_case_file_export(db, user, detail)


# --- header: title, status badge, case actions ---------------------------------------------

SHORTCUTS = {CaseAction.APPROVE: shortcuts.APPROVE, CaseAction.REJECT: shortcuts.REJECT,
             CaseAction.ASK_FOR_REUPLOADS: shortcuts.ASK_FOR_REUPLOADS}


def _action_label(detail: CaseDetail, action: str, label: str) -> str:
    if action == CaseAction.ASK_FOR_REUPLOADS:
        return f"{label} ({detail.reupload_needed_count})"
    if action == CaseAction.APPROVE and detail.approvals_needed > 1 and not detail.decision:
        return f"{label} ({detail.next_approval} of {detail.approvals_needed})"
    return label


def _header(detail: CaseDetail) -> None:
    """The case actions in the top right corner; the title with its status right under it."""
    with st.container(horizontal=True, horizontal_alignment="right"):
        for option in detail.case_actions:
            shortcut = SHORTCUTS[CaseAction(option.action)]
            st.button(_action_label(detail, option.action, option.label),
                      key=f"case_action_{option.action}", disabled=not option.allowed,
                      help=option.reason or None,
                      type="primary" if option.action == CaseAction.APPROVE else "secondary",
                      shortcut=shortcut.key, on_click=open_dialog,
                      args=(option.action, detail.id, detail.version,
                            detail.reupload_needed_count))
    if detail.action_notes:  # why an action is off, in words (the tooltip says it too)
        with st.container(key="case_action_reasons", gap="small"):
            for line in detail.action_notes:
                st.caption(esc(line))
    st.subheader(esc(detail.entity.get("name")), anchor=False)
    case_status_badge(detail.status, detail.status_label)
    _approvals(detail)
    st.caption(f"{esc(detail.id)} · {esc(detail.workflow)} · "
               f"{esc(detail.entity.get('type'))} · created {when(detail.created_at)}")


def _approvals(detail: CaseDetail) -> None:
    """Four-eyes approval: the approvals given ("Approval 1 of 2 by X on T") and, while the
    case waits, for whom."""
    if detail.approvals_needed < 2 and not detail.approvals:
        return
    lines = [f"**Approval {a['step']} of {a['of']}** by {esc(a['approver'])} on {when(a['at'])}"
             + (f" — {esc(a['reason'])}" if a.get("reason") else "")
             for a in detail.approvals]
    rule = f"Four-eyes rule: {esc(detail.four_eyes_rule)}." if detail.four_eyes_rule else ""
    with st.container(key="case_approvals"):
        if detail.awaiting_second_approver:
            st.info("  \n".join([*lines, "Waiting for a second approver: another reviewer, a "
                                 "lead or an admin gives the final approval (the first "
                                 "approver cannot).", rule]),
                    icon=":material/group:")
        elif lines:
            st.caption("  \n".join([*lines, rule]))
        elif detail.decision is None:
            st.caption(f"Needs two approvers. {rule}")


# --- assignee ------------------------------------------------------------------------------

def _assign(db: Database, actor: str, detail: CaseDetail, assignee: str | None) -> None:
    who = "you" if assignee == actor else (esc(assignee) if assignee else "no one")
    case_id, version, changes = detail.id, detail.version, changes_since(db, detail)
    attempt(lambda: case_actions.assign_case(db, case_id, assignee, actor=actor,
                                             expected_version=version),
            f"Case assigned to {who}.", where="assignee", changes=changes)


def _reassign(db: Database, actor: str, detail: CaseDetail) -> None:
    chosen = st.session_state.get(f"reassign_{detail.id}") or None
    _assign(db, actor, detail, chosen)


def _assignee(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(f"**Assignee:** {esc(detail.assignee) if detail.assignee else 'Unassigned'}")
    if detail.can_assign_to_self:
        row.button("Assign to me", key="assign_me", icon=":material/person_add:",
                   shortcut=shortcuts.ASSIGN_TO_ME.key,
                   on_click=_assign, args=(db, user.username, detail, user.username))
    if detail.can_reassign:
        candidates = [u for u in list_users(db) if not u.disabled and u.role != Role.ANALYST]
        names = {u.username: u.name for u in candidates}
        options = [""] + list(names)
        row.selectbox("Reassign to", options, key=f"reassign_{detail.id}",
                      index=options.index(detail.assignee) if detail.assignee in names else 0,
                      format_func=lambda u: f"{names[u]} ({u})" if u else "Unassigned",
                      label_visibility="collapsed", width=220)
        row.button("Reassign", key="reassign", icon=":material/swap_horiz:",
                   on_click=_reassign, args=(db, user.username, detail))
    show_outcome("assignee")


def _decision_and_processes(detail: CaseDetail) -> None:
    if detail.decision:
        st.info(f"{esc(detail.decision.capitalize())} by {esc(detail.decided_by)} on "
                f"{when(detail.decided_at)}.", icon=":material/gavel:")
        if detail.decision_reason:  # as typed, as text: Markdown would link a URL in it
            st.text(f"Reason: {detail.decision_reason}", width="stretch")
    if detail.processes:
        st.dataframe(pd.DataFrame([{"Process": p["name"], "State": p["state"],
                                    "Detail": p["detail"], "Updated": plain(p["updated_at"])}
                                   for p in detail.processes]),
                     hide_index=True, width="stretch")


# --- notes and timeline --------------------------------------------------------------------

def _add_note(db: Database, actor: str, case_id: str, version: int) -> None:
    body = st.session_state.get(f"note_{case_id}", "")
    if attempt(lambda: case_actions.add_note(db, case_id, body, actor=actor,
                                             expected_version=version), "Note added.",
               where="notes"):
        st.session_state[f"note_{case_id}"] = ""


def _notes(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    st.markdown("#### Notes")
    if not detail.notes:
        st.caption("No notes yet.")
    with st.container(key="case_notes"):
        for note in detail.notes:
            with st.container(border=True):
                st.caption(f"{esc(note['author'])} · {when(note['at'])}")
                st.text(note["body"])
    if detail.can_add_note:
        with st.form(f"note_form_{detail.id}", border=False):
            st.text_area("Add a note", key=f"note_{detail.id}",
                         help=f"Up to {case_actions.MAX_NOTE:,} characters; Ctrl+Enter adds it.")
            st.form_submit_button("Add note", on_click=_add_note,
                                  args=(db, user.username, detail.id, detail.version))
            show_outcome("notes", again="add the note")
