"""The case preview: title, status, case actions, assignee, blocks, notes and timeline.

Everything shown comes from `core.cases.read.case_detail` for the signed-in viewer; every
button's enabled state and help text is the core's answer (allowed / reason). Case data is
shown as text only (tables, escaped Markdown), never as HTML.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.access.roles import Role
from core.access.users import UserInfo, list_users
from core.cases import actions as case_actions
from core.cases.read import ActionOption, CaseDetail, DocumentBlock, KycBlock, case_detail
from core.cases.status import BlockAction, CaseAction
from core.errors import DocketError, NotFound
from core.store.db import Database, get_database
from ui.actions import attempt, show_outcome
from ui.badges import block_status_badge, case_status_badge
from ui.case_list import close_preview
from ui.dialogs import open_dialog, show_open_dialog
from ui.text import esc, plain, when

OTHER_REASON = "Other (write below)"


def case_preview(db: Database, user: UserInfo, case_id: str) -> None:
    try:
        detail = case_detail(db, case_id, user.username)
    except NotFound as e:
        st.warning(str(e), icon=":material/search_off:")
        st.button("Close", key="preview_close_missing", on_click=close_preview)
        return
    show_outcome()
    _header(detail)
    show_open_dialog(db, user, detail)
    _assignee(db, user, detail)
    _decision_and_processes(detail)
    if detail.shows("user_data"):
        _user_data_block(db, user, detail)
    if detail.shows("registry_data"):
        _data_block("Registry provided data", detail.registry_data, "No registry data.")
    if detail.enriched_data and detail.shows("enriched_data"):
        _data_block("Enriched data", detail.enriched_data, "")
    for doc in detail.documents if detail.shows("documents") else ():
        with st.expander(f"{esc(doc.label)} · {doc.status_label}", icon=":material/description:"):
            _document_body(db, user, detail, doc)
    for kyc in detail.kyc_blocks if detail.shows("kyc") else ():
        with st.expander(f"KYC · {esc(kyc.full_name)} · {kyc.status_label}",
                         icon=":material/person:"):
            _kyc_body(db, user, detail, kyc)
    _notes(db, user, detail)
    _timeline(detail)


# --- header: title, status badge, case actions ---------------------------------------------

def _header(detail: CaseDetail) -> None:
    """The case actions in the top right corner; the title with its status right under it."""
    with st.container(horizontal=True, horizontal_alignment="right"):
        for option in detail.case_actions:
            label = option.label
            if option.action == CaseAction.ASK_FOR_REUPLOADS:
                label = f"{option.label} ({detail.reupload_needed_count})"
            st.button(label, key=f"case_action_{option.action}", disabled=not option.allowed,
                      help=option.reason or None,
                      type="primary" if option.action == CaseAction.APPROVE else "secondary",
                      on_click=open_dialog,
                      args=(option.action, detail.id, detail.version,
                            detail.reupload_needed_count))
    st.subheader(esc(detail.entity.get("name")), anchor=False)
    case_status_badge(detail.status, detail.status_label)
    st.caption(f"{esc(detail.id)} · {esc(detail.workflow)} · "
               f"{esc(detail.entity.get('type'))} · created {when(detail.created_at)}")


# --- assignee ------------------------------------------------------------------------------

def _assign(db: Database, actor: str, case_id: str, assignee: str | None, version: int) -> None:
    who = "you" if assignee == actor else (assignee or "no one")
    attempt(lambda: case_actions.assign_case(db, case_id, assignee, actor=actor,
                                             expected_version=version),
            f"Case assigned to {who}.")


def _reassign(db: Database, actor: str, case_id: str, version: int) -> None:
    chosen = st.session_state.get(f"reassign_{case_id}") or None
    _assign(db, actor, case_id, chosen, version)


def _assignee(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    row = st.container(horizontal=True, vertical_alignment="center")
    row.markdown(f"**Assignee:** {esc(detail.assignee) if detail.assignee else 'Unassigned'}")
    if detail.can_assign_to_self:
        row.button("Assign to me", key="assign_me", icon=":material/person_add:",
                   on_click=_assign, args=(db, user.username, detail.id, user.username,
                                           detail.version))
    if detail.can_reassign:
        candidates = [u for u in list_users(db) if not u.disabled and u.role != Role.ANALYST]
        names = {u.username: u.name for u in candidates}
        options = [""] + list(names)
        row.selectbox("Reassign to", options, key=f"reassign_{detail.id}",
                      index=options.index(detail.assignee) if detail.assignee in names else 0,
                      format_func=lambda u: f"{names[u]} ({u})" if u else "Unassigned",
                      label_visibility="collapsed", width=220)
        row.button("Reassign", key="reassign", icon=":material/swap_horiz:",
                   on_click=_reassign, args=(db, user.username, detail.id, detail.version))


def _decision_and_processes(detail: CaseDetail) -> None:
    if detail.decision:
        reason = f" Reason: {esc(detail.decision_reason)}" if detail.decision_reason else ""
        st.info(f"{esc(detail.decision.capitalize())} by {esc(detail.decided_by)} on "
                f"{when(detail.decided_at)}.{reason}", icon=":material/gavel:")
    if detail.processes:
        st.dataframe(pd.DataFrame([{"Process": p["name"], "State": p["state"],
                                    "Detail": p["detail"], "Updated": plain(p["updated_at"])}
                                   for p in detail.processes]),
                     hide_index=True, width="stretch")


# --- data blocks ---------------------------------------------------------------------------

def _table(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"Field": str(k), "Value": v if isinstance(v, str) else
                          json.dumps(v, ensure_ascii=False, default=str)}
                         for k, v in data.items()], columns=["Field", "Value"])


def _data_block(title: str, data: dict[str, Any], empty: str) -> None:
    with st.expander(title, icon=":material/database:"):
        st.caption("Read only")
        if data:
            st.dataframe(_table(data), hide_index=True, width="stretch")
        else:
            st.caption(empty)


def _typed(old: Any, new: str) -> Any:
    """The edited text, kept as the field's type when it was a number or true/false."""
    if isinstance(old, bool):
        return new.strip().lower() in ("true", "yes", "1")
    if isinstance(old, (int, float)):
        try:
            return type(old)(new.strip())
        except ValueError:
            return new
    return new


def _edit_callback(db: Database, actor: str, detail: CaseDetail, prefix: str,
                   data: dict[str, Any], document_id: int | None = None) -> None:
    changes = {}
    for field, old in data.items():
        new = st.session_state.get(f"{prefix}_{field}")
        if new is not None and new != plain(old):
            changes[field] = _typed(old, new)
    new_field = (st.session_state.get(f"{prefix}__new_field") or "").strip()
    if new_field:
        changes[new_field] = st.session_state.get(f"{prefix}__new_value") or ""
    if not changes:
        st.session_state["docket_outcome"] = ("error", "Nothing was changed.")
        return
    if document_id is None:
        command = lambda: case_actions.edit_user_data(  # noqa: E731
            db, detail.id, changes, actor=actor, expected_version=detail.version)
    else:
        command = lambda: case_actions.edit_document_properties(  # noqa: E731
            db, detail.id, document_id, changes, actor=actor, expected_version=detail.version)
    if attempt(command, f"Saved {len(changes)} change(s)."):
        st.session_state.pop(f"{prefix}__new_field", None)
        st.session_state.pop(f"{prefix}__new_value", None)


def _edit_form(db: Database, user: UserInfo, detail: CaseDetail, prefix: str,
               data: dict[str, Any], document_id: int | None = None) -> None:
    with st.form(f"{prefix}_form", border=False):
        for field, value in data.items():
            st.text_input(str(field), value=plain(value), key=f"{prefix}_{field}",
                          max_chars=10_000)
        new = st.columns(2)
        new[0].text_input("New field", key=f"{prefix}__new_field", max_chars=100)
        new[1].text_input("Value", key=f"{prefix}__new_value", max_chars=10_000)
        st.form_submit_button("Save changes", on_click=_edit_callback,
                              args=(db, user.username, detail, prefix, data, document_id))


def _user_data_block(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    with st.expander("User provided data", expanded=True, icon=":material/badge:"):
        entity = {"Name": detail.entity.get("name"), "Email": detail.entity.get("email"),
                  "Phone": detail.entity.get("phone"), "Country": detail.entity.get("country"),
                  "Registration number": detail.entity.get("registration_number")}
        st.dataframe(_table({k: v for k, v in entity.items() if v}), hide_index=True,
                     width="stretch")
        if detail.can_edit:
            st.caption("Edits are recorded in the timeline (field, old and new value).")
            _edit_form(db, user, detail, f"ud_{detail.id}_{detail.version}", detail.user_data)
        elif detail.user_data:
            st.dataframe(_table(detail.user_data), hide_index=True, width="stretch")


# --- document and KYC blocks ---------------------------------------------------------------

@st.cache_data(max_entries=64, show_spinner=False)
def _file(url: str, file_id: int) -> tuple[str, str, bytes]:
    from core.intake.documents import load_file  # file versions never change: safe to cache
    return load_file(get_database(url), file_id)


def _reviewed(block: DocumentBlock | KycBlock) -> None:
    block_status_badge(block.status, block.status_label)
    if block.reviewed_by:
        st.caption(f"Reviewed by {esc(block.reviewed_by)} on {when(block.reviewed_at)}")
    if block.reupload_reason:
        st.caption(f"Re-upload reason: {esc(block.reupload_reason)}")


def _block_command(db: Database, actor: str, case_id: str, ref: str, action: str,
                   version: int) -> None:
    if action == BlockAction.APPROVE:
        attempt(lambda: case_actions.approve_block(db, case_id, ref, actor=actor,
                                                   expected_version=version), "Block approved.")
    elif action == BlockAction.UNDO_REUPLOAD_REQUEST:
        attempt(lambda: case_actions.undo_reupload_request(
            db, case_id, ref, actor=actor, expected_version=version), "Re-upload request undone.")
    else:
        picked = st.session_state.get(f"reason_{ref}") or ""
        text = (st.session_state.get(f"reason_text_{ref}") or "").strip()
        if picked == OTHER_REASON:
            picked = ""
        reason = f"{picked}: {text}" if picked and text else (picked or text)
        done = ("Marked \"Re-upload needed\"." if ref.startswith("document")
                else "A new KYC flow was sent.")
        attempt(lambda: case_actions.ask_to_reupload_block(
            db, case_id, ref, actor=actor, expected_version=version, reason=reason), done)


def _block_actions(db: Database, user: UserInfo, detail: CaseDetail, ref: str,
                   options: list[ActionOption], reasons: list[str]) -> None:
    by_action = {o.action: o for o in options}
    row = st.container(horizontal=True)
    for action in (BlockAction.APPROVE, BlockAction.UNDO_REUPLOAD_REQUEST):
        option = by_action.get(action)
        if option is None or (action == BlockAction.UNDO_REUPLOAD_REQUEST and not option.allowed):
            continue
        row.button(option.label if action != BlockAction.APPROVE else "Approve",
                   key=f"block_{action}_{ref}", disabled=not option.allowed,
                   help=option.reason or None, on_click=_block_command,
                   args=(db, user.username, detail.id, ref, action, detail.version))
    ask = by_action.get(BlockAction.ASK_TO_REUPLOAD)
    if ask is None:
        return
    if not ask.allowed:
        row.button("Ask to re-upload", key=f"block_ask_{ref}", disabled=True,
                   help=ask.reason or None)
        return
    with st.form(f"ask_form_{ref}", border=True):
        if reasons:
            st.selectbox("Re-upload reason", [*reasons, OTHER_REASON], key=f"reason_{ref}")
        st.text_input("Details" if reasons else "Reason (optional)", key=f"reason_text_{ref}",
                      max_chars=2000)
        st.form_submit_button("Ask to re-upload", on_click=_block_command,
                              args=(db, user.username, detail.id, ref,
                                    BlockAction.ASK_TO_REUPLOAD, detail.version))


def _file_preview(db: Database, doc: DocumentBlock) -> None:
    if not doc.files:
        st.caption("No file uploaded yet.")
        return
    versions = {f.id: f for f in doc.files}
    latest = doc.files[-1].id
    chosen = latest
    if len(doc.files) > 1:
        chosen = st.selectbox(
            "Version", list(reversed(list(versions))), key=f"version_{doc.ref}",
            format_func=lambda i: (f"v{versions[i].version} · {versions[i].filename} · "
                                   f"{when(versions[i].uploaded_at)} by {versions[i].uploaded_by}"
                                   + (" (current)" if i == latest else "")))
    version = versions[chosen]
    try:
        filename, content_type, content = _file(db.url, version.id)
    except (DocketError, ImportError) as e:
        st.warning(f"The file cannot be shown: {e}")
        return
    if content_type.startswith("image/"):
        st.image(content, width="stretch")
    st.download_button(f"Download {filename}", content, file_name=filename, mime=content_type,
                       key=f"download_{doc.ref}_{version.id}", icon=":material/download:",
                       on_click="ignore")
    st.caption(f"Version {version.version} · {version.size:,} bytes · uploaded "
               f"{when(version.uploaded_at)} by {esc(version.uploaded_by)}")


def _document_body(db: Database, user: UserInfo, detail: CaseDetail, doc: DocumentBlock) -> None:
    _reviewed(doc)
    _file_preview(db, doc)
    if detail.can_edit:
        with st.popover("Edit document properties", icon=":material/edit:"):
            _edit_form(db, user, detail, f"doc_{doc.id}_{detail.version}", doc.properties,
                       document_id=doc.id)
    if doc.properties:
        st.dataframe(_table(doc.properties), hide_index=True, width="stretch")
    _block_actions(db, user, detail, doc.ref, doc.actions, detail.reupload_reasons)


def _kyc_body(db: Database, user: UserInfo, detail: CaseDetail, kyc: KycBlock) -> None:
    _reviewed(kyc)
    person = {"Full name": kyc.full_name, "Email": kyc.email, "Date of birth": kyc.date_of_birth,
              "Nationality": kyc.nationality, "Ownership %": kyc.ownership_percent,
              "KYC flow": kyc.kyc_state.replace("_", " ")}
    st.dataframe(_table({k: v for k, v in person.items() if v not in (None, "")}),
                 hide_index=True, width="stretch")
    if kyc.kyc_result:
        st.markdown("**Vendor result**")
        st.dataframe(_table(kyc.kyc_result), hide_index=True, width="stretch")
    else:
        st.caption("No KYC result yet.")
    for doc in kyc.documents:
        with st.container(border=True):
            st.markdown(f"**{esc(doc.label)}**")
            _document_body(db, user, detail, doc)
    _block_actions(db, user, detail, kyc.ref, kyc.actions, [])


# --- notes and timeline --------------------------------------------------------------------

def _add_note(db: Database, actor: str, case_id: str, version: int) -> None:
    body = st.session_state.get(f"note_{case_id}", "")
    if attempt(lambda: case_actions.add_note(db, case_id, body, actor=actor,
                                             expected_version=version), "Note added."):
        st.session_state[f"note_{case_id}"] = ""


def _notes(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    st.markdown("#### Notes")
    if not detail.notes:
        st.caption("No notes yet.")
    for note in detail.notes:
        with st.container(border=True):
            st.caption(f"{esc(note['author'])} · {when(note['at'])}")
            st.text(note["body"])
    if detail.can_add_note:
        with st.form(f"note_form_{detail.id}", border=False):
            st.text_area("Add a note", key=f"note_{detail.id}", max_chars=10_000)
            st.form_submit_button("Add note", on_click=_add_note,
                                  args=(db, user.username, detail.id, detail.version))


def _change(value: dict[str, Any] | None) -> str:
    return "" if not value else json.dumps(value, ensure_ascii=False, default=str)


def _timeline(detail: CaseDetail) -> None:
    st.markdown("#### Timeline")
    if not detail.timeline:
        st.caption("No events yet.")
        return
    st.dataframe(pd.DataFrame([{"When": e["at"], "Who": e["actor"], "What": e["kind"],
                                "Before": _change(e["before"]), "After": _change(e["after"])}
                               for e in detail.timeline]),
                 hide_index=True, width="stretch",
                 column_config={"When": st.column_config.DatetimeColumn(
                     format="YYYY-MM-DD HH:mm:ss")})
