"""The preview's document and KYC blocks: status, file versions, properties and the block
actions (Approve, Ask to re-upload, Undo re-upload request).

Each block's expander is keyed, so it stays open when its label (which carries the status)
changes; a block action's outcome shows next to the block's buttons.
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.cases import actions as case_actions
from core.cases.read import ActionOption, CaseDetail, DocumentBlock, KycBlock
from core.cases.status import BlockAction
from core.errors import DocketError
from core.store.db import Database, get_database
from ui.access_log_panel import recorded_download
from ui.actions import attempt, changes_since, show_outcome
from ui.badges import block_status_badge
from ui.case_edit import edit_form, table
from ui.text import esc, when

OTHER_REASON = "Other (write below)"


@st.cache_data(max_entries=64, show_spinner=False)
def _file(url: str, file_id: int) -> tuple[str, str, bytes]:
    from core.intake.documents import load_file  # file versions never change: safe to cache
    return load_file(get_database(url), file_id)


def _where(ref: str) -> str:
    return f"block_{ref}"


def _reviewed(block: DocumentBlock | KycBlock) -> None:
    block_status_badge(block.status, block.status_label)
    if block.reviewed_by:
        st.caption(f"Reviewed by {esc(block.reviewed_by)} on {when(block.reviewed_at)}")
    if block.reupload_reason:  # as typed, as text: Markdown would link a URL in it
        st.text(f"Re-upload reason: {block.reupload_reason}", width="stretch")


def _block_command(db: Database, actor: str, detail: CaseDetail, ref: str, action: str) -> None:
    case_id, version = detail.id, detail.version
    where, since = _where(ref), changes_since(db, detail)
    if action == BlockAction.APPROVE:
        attempt(lambda: case_actions.approve_block(db, case_id, ref, actor=actor,
                                                   expected_version=version),
                "Block approved.", where=where, changes=since)
    elif action == BlockAction.UNDO_REUPLOAD_REQUEST:
        attempt(lambda: case_actions.undo_reupload_request(
            db, case_id, ref, actor=actor, expected_version=version),
            "Re-upload request undone.", where=where, changes=since)
    else:
        picked = st.session_state.get(f"reason_{ref}") or ""
        text = (st.session_state.get(f"reason_text_{ref}") or "").strip()
        if picked == OTHER_REASON:
            picked = ""
        reason = f"{picked}: {text}" if picked and text else (picked or text)
        done = ("Marked \"Re-upload needed\"." if ref.startswith("document")
                else "A new KYC flow was sent.")
        attempt(lambda: case_actions.ask_to_reupload_block(
            db, case_id, ref, actor=actor, expected_version=version, reason=reason), done,
            where=where, changes=since)


def block_actions(db: Database, user: UserInfo, detail: CaseDetail, ref: str,
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
                   args=(db, user.username, detail, ref, action))
    ask = by_action.get(BlockAction.ASK_TO_REUPLOAD)
    if ask is not None and not ask.allowed:
        row.button("Ask to re-upload", key=f"block_ask_{ref}", disabled=True,
                   help=ask.reason or None)
    elif ask is not None:
        with st.form(f"ask_form_{ref}", border=True):
            if reasons:
                st.selectbox("Re-upload reason", [*reasons, OTHER_REASON], key=f"reason_{ref}")
            st.text_input("Details" if reasons else "Reason (optional)",
                          key=f"reason_text_{ref}",
                          help=f"Up to {case_actions.MAX_REASON:,} characters with the reason.")
            st.form_submit_button("Ask to re-upload", on_click=_block_command,
                                  args=(db, user.username, detail, ref,
                                        BlockAction.ASK_TO_REUPLOAD))
    show_outcome(_where(ref))


def _file_preview(db: Database, user: UserInfo, doc: DocumentBlock) -> None:
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
        st.warning(f"The file cannot be shown: {esc(e)}")
        return
    if content_type.startswith("image/"):
        st.image(content, width="stretch")
    st.download_button(f"Download {filename}", recorded_download(db, user, version.id, content),
                       file_name=filename, mime=content_type,
                       key=f"download_{doc.ref}_{version.id}", icon=":material/download:",
                       on_click="ignore")
    st.caption(f"Version {version.version} · {version.size:,} bytes · uploaded "
               f"{when(version.uploaded_at)} by {esc(version.uploaded_by)}")


def document_body(db: Database, user: UserInfo, detail: CaseDetail, doc: DocumentBlock) -> None:
    _reviewed(doc)
    _file_preview(db, user, doc)
    if detail.can_edit:
        with st.popover("Edit document properties", icon=":material/edit:"):
            edit_form(db, user, detail, f"doc_{doc.id}", doc.properties, document_id=doc.id)
    if doc.properties:
        st.dataframe(table(doc.properties), hide_index=True, width="stretch")
    block_actions(db, user, detail, doc.ref, doc.actions, detail.reupload_reasons)


def kyc_body(db: Database, user: UserInfo, detail: CaseDetail, kyc: KycBlock) -> None:
    _reviewed(kyc)
    person = {"Full name": kyc.full_name, "Email": kyc.email, "Date of birth": kyc.date_of_birth,
              "Nationality": kyc.nationality, "Ownership %": kyc.ownership_percent,
              "KYC flow": kyc.kyc_state.replace("_", " ")}
    st.dataframe(table({k: v for k, v in person.items() if v not in (None, "")}),
                 hide_index=True, width="stretch")
    if kyc.kyc_result:
        st.markdown("**Vendor result**")
        st.dataframe(table(kyc.kyc_result), hide_index=True, width="stretch")
    else:
        st.caption("No KYC result yet.")
    for doc in kyc.documents:
        with st.container(border=True):
            st.markdown(f"**{esc(doc.label)}**")
            document_body(db, user, detail, doc)
    block_actions(db, user, detail, kyc.ref, kyc.actions, [])


def blocks(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """Every document block, then every UBO's KYC block (as the workflow shows them)."""
    for doc in detail.documents if detail.shows("documents") else ():
        with st.expander(f"{esc(doc.label)} · {doc.status_label}", icon=":material/description:",
                         key=f"blk_document_{doc.id}"):
            document_body(db, user, detail, doc)
    for kyc in detail.kyc_blocks if detail.shows("kyc") else ():
        with st.expander(f"KYC · {esc(kyc.full_name)} · {kyc.status_label}",
                         icon=":material/person:", key=f"blk_kyc_{kyc.id}"):
            kyc_body(db, user, detail, kyc)
