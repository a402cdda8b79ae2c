"""The public re-upload page's widgets (no sign-in): what the link asks for and why, one file
field per requested document (or the identity document of a UBO's new KYC flow), and the
answer. Every check is in `core.intake.reupload`; a refused link gets a clear page and nothing else.
Case data is shown as escaped text only."""
from __future__ import annotations

import streamlit as st

from core.errors import DocketError, InvalidInput
from core.intake.documents import ALLOWED_CONTENT_TYPES
from core.intake.reupload import ReuploadRequest, reupload_request, submit_reupload
from core.notifications.reupload_tokens import InvalidReuploadToken
from core.store.db import Database
from ui.text import esc

REUPLOAD_PARAM = "reupload"            # the emailed link: {public_url}/?reupload=TOKEN
REUPLOAD_PAGE = "pages/reupload.py"
FILE_TYPES = ["pdf", "png", "jpg", "jpeg", "webp"]
_DONE_KEY = "ru_done"                  # token -> the success message of this session
_ERROR_KEY = "ru_error"
_TYPES_TEXT = ", ".join(ALLOWED_CONTENT_TYPES.values())

REFUSAL_TITLES = {
    "forged": "This link is not valid",
    "expired": "This link has expired",
    "used": "This link was already used",
    "scope": "This link does not cover this",
    "closed": "Nothing to upload any more",
}


def _field_key(block: str) -> str:
    return "ru_file_" + block.replace(":", "_")


def _type_key(block: str) -> str:
    return "ru_type_" + block.replace(":", "_")


def _refusal(error: InvalidReuploadToken) -> None:
    st.title(REFUSAL_TITLES.get(error.reason, "This link cannot be used"), anchor=False)
    st.error(esc(str(error)), icon=":material/link_off:")
    st.caption("Nothing was uploaded or changed. If you still need to send us documents, "
               "reply to our email and we will send you a new link.")


def _submit(db: Database, token: str, request: ReuploadRequest) -> None:
    """The form's callback: hands the chosen files to core.intake.reupload."""
    st.session_state.pop(_ERROR_KEY, None)
    files, identity_type = {}, None
    for item in request.items:
        uploaded = st.session_state.get(_field_key(item.block))
        if uploaded is not None:
            files[item.block] = (uploaded.name, uploaded.getvalue())
        if item.kind == "kyc":
            identity_type = st.session_state.get(_type_key(item.block))
    try:
        submit_reupload(db, token, files, identity_document_type=identity_type)
    except InvalidReuploadToken as e:
        st.session_state[_ERROR_KEY] = (e.reason, str(e), [])
    except InvalidInput as e:
        st.session_state[_ERROR_KEY] = ("input", str(e).split("\n", 1)[0], e.problems)
    except DocketError as e:
        st.session_state[_ERROR_KEY] = ("input", str(e), [])
    else:
        kyc = any(i.kind == "kyc" for i in request.items)
        st.session_state[_DONE_KEY] = {token: (
            "Thank you: we received your identity document. We will check it and come back "
            "to you if we need anything else." if kyc else
            "Thank you: we received your documents. Our team will review them and come back to "
            "you if we need anything else.")}


def _intro(request: ReuploadRequest) -> None:
    kyc = next((i for i in request.items if i.kind == "kyc"), None)
    if kyc is not None:
        st.title("Verify your identity", anchor=False)
        st.markdown(f"Hello {esc(kyc.person)}: as an owner of **{esc(request.applicant)}** "
                    f"(application {esc(request.case_id)}), please send a photo or scan of your "
                    "passport or identity card.")
    else:
        st.title("Upload new documents", anchor=False)
        st.markdown(f"Application **{esc(request.case_id)}** · {esc(request.applicant)}: we "
                    f"need a new version of {'this document' if len(request.items) == 1 else 'these documents'}.")
    st.caption(f"Accepted: {esc(_TYPES_TEXT)}; the type is read from the file itself. The link "
               f"works once, until {request.expires_at:%d %B %Y}.")


def reupload_page(db: Database) -> None:
    token = st.query_params.get(REUPLOAD_PARAM, "")
    done = (st.session_state.get(_DONE_KEY) or {}).get(token)
    if done:
        st.title("Thank you", anchor=False)
        st.success(esc(done), icon=":material/check_circle:")
        st.caption("You can close this page.")
        return
    try:
        request = reupload_request(db, token)
    except InvalidReuploadToken as e:
        _refusal(e)
        return
    _intro(request)
    reason, message, problems = st.session_state.pop(_ERROR_KEY, (None, None, []))
    if reason in REFUSAL_TITLES:
        st.error(esc(message), icon=":material/link_off:")
    elif message:
        lines = [esc(message)] + [f"- {esc(p)}" for p in problems]
        st.error("\n".join(lines), icon=":material/error:")
    with st.form("ru_form", border=False):
        for item in request.items:
            with st.container(border=True):
                st.subheader(esc(item.label), anchor=False)
                if item.reason:
                    st.markdown(f"**Why:** {esc(item.reason)}")
                if item.current_filename:
                    st.caption(f"We have: {esc(item.current_filename)}")
                if item.kind == "kyc":
                    choices = dict(item.identity_types)
                    st.selectbox("Kind of document", list(choices), key=_type_key(item.block),
                                 index=list(choices).index(item.default_identity_type),
                                 format_func=lambda t, c=choices: c[t])
                st.file_uploader(f"New file for {esc(item.label)}", type=FILE_TYPES,
                                 key=_field_key(item.block))
        st.form_submit_button("Send", type="primary", icon=":material/send:",
                              on_click=_submit, args=(db, token, request))
