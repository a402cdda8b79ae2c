"""Confirmation dialogs of the case actions: Approve, Reject, Ask for all re-uploads.

The open dialog is kept in the session (which action, which case, the version seen) so it
survives reruns; closing it (Cancel, the X, a success) clears that.
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.cases import actions as case_actions
from core.cases.read import CaseDetail
from core.cases.status import CaseAction
from core.errors import CaseChanged, DocketError
from core.store.db import Database
from ui.actions import OUTCOME_KEY, error_text, log, show_case_changed
from ui.case_list import refresh_counts
from ui.text import count_of, esc, when

DIALOG_KEY = "docket_dialog"
DIALOG_ERROR_KEY = "docket_dialog_error"
REASON_KEY = "dialog_reason"
REASON_HELP = (f"Up to {case_actions.MAX_REASON:,} characters; a longer one is refused with a "
               "message, never cut.")

TITLES = {
    CaseAction.APPROVE: "Approve case",
    CaseAction.REJECT: "Reject case",
    CaseAction.ASK_FOR_REUPLOADS: "Ask for all re-uploads",
}
DONE = {
    CaseAction.APPROVE: "Case approved.",
    CaseAction.REJECT: "Case rejected.",
    CaseAction.ASK_FOR_REUPLOADS: "Re-upload request sent.",
}


def open_dialog(action: str, case_id: str, version: int, count: int = 0) -> None:
    st.session_state[DIALOG_KEY] = {"action": action, "case_id": case_id, "version": version,
                                    "count": count}
    st.session_state.pop(DIALOG_ERROR_KEY, None)
    st.session_state.pop(REASON_KEY, None)


def close_dialog() -> None:
    st.session_state.pop(DIALOG_KEY, None)
    st.session_state.pop(DIALOG_ERROR_KEY, None)


def _confirm(db: Database, username: str) -> None:
    state = st.session_state.get(DIALOG_KEY)
    if not state:
        return
    action, case_id, version = CaseAction(state["action"]), state["case_id"], state["version"]
    reason = st.session_state.get(REASON_KEY, "")
    done = DONE[action]
    try:
        if action is CaseAction.APPROVE:
            step = case_actions.approve_case(db, case_id, actor=username,
                                             expected_version=version, reason=reason)
            if not step.final:
                done = (f"Approval {step.step} of {step.of} recorded. The case stays in Manual "
                        "review until a second approver gives the final approval.")
            elif step.of > 1:
                done = f"Case approved (approval {step.step} of {step.of})."
        elif action is CaseAction.REJECT:
            case_actions.reject_case(db, case_id, actor=username, expected_version=version,
                                     reason=reason)
        else:
            case_actions.ask_for_reuploads(db, case_id, actor=username, expected_version=version)
    except CaseChanged as e:
        log.info("stale action refused: %s", e.detail)
        st.session_state[DIALOG_ERROR_KEY] = ("changed", esc(str(e)))
        return
    except DocketError as e:
        st.session_state[DIALOG_ERROR_KEY] = ("error", error_text(e))
        return
    close_dialog()
    refresh_counts()
    st.session_state[OUTCOME_KEY] = {"kind": "success", "message": done, "where": None}


def _unreviewed(detail: CaseDetail) -> None:
    """The blocks nobody has reviewed yet: approving decides on them unseen."""
    if detail.unreviewed_blocks:
        st.warning(f"{count_of(len(detail.unreviewed_blocks), 'block')} not reviewed yet — approving "
                   "decides on them too:\n" + "\n".join(f"- {esc(b)}"
                                                       for b in detail.unreviewed_blocks),
                   icon=":material/rule:")


def _approve_text(detail: CaseDetail) -> None:
    """What this Approve does: the decision, or (four-eyes) the first or the final approval."""
    final = ("This decision is final; the applicant and the configured integrations are "
             "notified.")
    if detail.approvals_needed < 2:
        st.write(f"Approve this case? {final}")
    elif detail.next_approval == 1:
        st.write("This case needs two approvers (four-eyes rule: "
                 f"{esc(detail.four_eyes_rule)}). **This is approval 1 of 2**: the case stays "
                 "in Manual review and nobody is notified until a different reviewer, lead or "
                 "admin gives the final approval.")
    else:
        first = detail.approvals[0] if detail.approvals else {}
        st.write(f"**This is the final approval (2 of 2)**; approval 1 was given by "
                 f"{esc(first.get('approver'))} on {when(first.get('at'))}. {final}")


def _body(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    state = st.session_state.get(DIALOG_KEY)
    if state is None:  # confirmed or cancelled: redraw the whole page, dialog closed
        st.rerun()
    action = CaseAction(state["action"])
    if action is CaseAction.APPROVE:
        _approve_text(detail)
        _unreviewed(detail)
        st.text_area("Reason (optional)", key=REASON_KEY, help=REASON_HELP)
    elif action is CaseAction.REJECT:
        st.write("Reject this case? This decision is final; the reason is sent with the "
                 "notification.")
        st.text_area("Reason (required)", key=REASON_KEY, help=REASON_HELP)
    else:
        count = state.get("count", 0)
        st.write(f"Send the applicant one email asking to re-upload the "
                 f"{count_of(count, 'block')} marked \"Re-upload needed\"?")
    kind, message = st.session_state.get(DIALOG_ERROR_KEY, (None, None))
    if kind == "changed":
        if show_case_changed(message, key="dialog_reload"):
            close_dialog()
            st.rerun()
    elif kind == "error":
        st.error(message, icon=":material/error:")
    left, right = st.columns(2)
    left.button(TITLES[action].split(" case")[0], type="primary", key="dialog_confirm",
                on_click=_confirm, args=(db, user.username), width="stretch")
    right.button("Cancel", key="dialog_cancel", on_click=close_dialog, width="stretch")


def show_open_dialog(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """Draws the open dialog if it belongs to this case."""
    state = st.session_state.get(DIALOG_KEY)
    if not state or state["case_id"] != detail.id:
        return
    title = TITLES[CaseAction(state["action"])]
    st.dialog(title, on_dismiss=close_dialog)(_body)(db, user, detail)
