"""The case preview's "Case file for an examiner": a team lead or an admin picks the profile,
names the recipient, and gets the signed ZIP (core/records/case_file.py builds it, checks the
role again and records the export in the access log with the recipient).

The export is recorded when the file is made ("Prepare case file"), not when the browser saves
it: what left the database is what the log says. The ZIP is kept in this session for this case
only, until another case file is made or the profile or recipient changes. Nothing from the
case is shown as HTML: messages go through `ui.text.esc`.
"""
from __future__ import annotations

import streamlit as st

from core.access.roles import Permission, can
from core.access.users import UserInfo
from core.cases.read import CaseDetail
from core.errors import DocketError
from core.records.access_log import MAX_RECIPIENT
from core.records.case_file import export_case_file
from core.store.db import Database
from ui.limits import refuse_too_long, up_to
from ui.text import error_text, esc

READY_KEY = "docket_case_file"  # {"case", "profile", "recipient", "name", "data", "pages"}
PROFILES = {"examiner": "Examiner (complete)",
            "subject-access": "Subject access (the applicant's copy: no internal notes, no "
                              "'suspicious' tag, no true-match reasons)"}


def may_export_case_file(user: UserInfo | None) -> bool:
    return user is not None and can(user.role, Permission.EXPORT_CASE_FILE)


def show_case_file_export(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """The export section of the preview (nothing at all for other roles)."""
    if not may_export_case_file(user):
        return
    with st.expander("Case file for an examiner", icon=":material/folder_zip:"):
        st.caption("A signed ZIP: the case as PDF, HTML and JSON, every document version, the "
                   "audit events with proofs, the access log and a manifest that "
                   "verify_bundle.py inside it checks. Making it is recorded in the access log.")
        profile = st.radio("Profile", list(PROFILES), format_func=PROFILES.get,
                           key=f"case_file_profile_{detail.id}")
        recipient = st.text_input("Recipient", key=f"case_file_recipient_{detail.id}",
                                  placeholder="e.g. FCA supervision team, visit 2024-07",
                                  help=f"To whom the file goes. {up_to(MAX_RECIPIENT)}")
        ready = st.session_state.get(READY_KEY)
        if ready and (ready["case"], ready["profile"], ready["recipient"]) != \
                (detail.id, profile, recipient.strip()):
            ready = None
        if st.button("Prepare case file", key=f"case_file_prepare_{detail.id}",
                     icon=":material/inventory_2:"):
            ready = _prepare(db, user, detail.id, profile, recipient)
        if ready:
            st.download_button(f"Download {ready['name']}", ready["data"],
                               file_name=ready["name"], mime="application/zip",
                               key=f"case_file_download_{detail.id}", type="primary",
                               icon=":material/download:", on_click="ignore")
            st.caption(esc(f"case.pdf has {ready['pages']} pages; manifest SHA-256 "
                           f"{ready['manifest']}"))


def _prepare(db: Database, user: UserInfo, case_id: str, profile: str,
             recipient: str) -> dict | None:
    st.session_state.pop(READY_KEY, None)
    if refuse_too_long({"Recipient": (recipient, MAX_RECIPIENT)}):
        return None
    if not recipient.strip():
        st.error("Name the recipient: the access log records to whom the file goes.",
                 icon=":material/error:")
        return None
    try:
        with st.spinner("Making the case file…"):
            result = export_case_file(db, case_id, profile=profile, actor=user.username,
                                      recipient=recipient)
    except DocketError as e:
        st.error(error_text(e), icon=":material/error:")
        return None
    ready = {"case": case_id, "profile": profile, "recipient": recipient.strip(),
             "name": result.filename, "data": result.data, "pages": result.pages,
             "manifest": result.manifest_sha256}
    st.session_state[READY_KEY] = ready
    return ready
