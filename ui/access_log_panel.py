"""The access log in the dashboard: the hooks that record a case opened, a file downloaded and a
search typed (core/records/access_log.py decides and records), and the preview's "Who looked
at this case" for team leads and admins.

Streamlit re-runs the whole script on every click: the hooks remember in the session what
they recorded lately, so a rerun costs no database round trip; the core's throttle (once per
user, case or query and 15 minutes) holds whatever the session remembers. A download is
recorded when the browser fetches the file (the button's data is a callable Streamlit runs on
that click), not when the button is drawn. Everything shown is plain text in tables.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

import pandas as pd
import streamlit as st

from core.access.roles import can
from core.access.users import UserInfo
from core.cases.history import block_names, describe
from core.cases.read import CaseDetail
from core.errors import DocketError
from core.records.access_log import (
    READ_PERMISSION,
    THROTTLE,
    case_access_log,
    case_viewed,
    document_downloaded,
    normal_query,
    search_key,
    search_performed,
)
from core.store.db import Database
from core.store.models import utcnow
from ui.text import esc, plain

LATELY_KEY = "docket_access_lately"  # {(username, what, id): when it was last sent to core}


def _due(user: UserInfo, what: str, ident: str, now: datetime) -> bool:
    """Whether core should hear of this again (not sent by this session in THROTTLE)."""
    lately = st.session_state.setdefault(LATELY_KEY, {})
    key = (user.username, what, ident)
    if key in lately and now - lately[key] < THROTTLE:
        return False
    lately[key] = now
    return True


def note_case_viewed(db: Database, user: UserInfo, case_id: str) -> None:
    """Records the case opened (once per user, case and 15 minutes)."""
    if _due(user, "case", case_id, utcnow()):
        try:
            case_viewed(db, case_id, actor=user.username)
        except DocketError:  # a case gone or a user disabled meanwhile: the preview says so
            st.session_state[LATELY_KEY].pop((user.username, "case", case_id), None)


def note_search(db: Database, user: UserInfo, query: str) -> None:
    """Records the case list's search (its query as a keyed hash), once per query and 15
    minutes."""
    normal = normal_query(query)
    if normal and _due(user, "search", normal, utcnow()):
        try:
            search_performed(db, query, actor=user.username, key=search_key())
        except DocketError:
            st.session_state[LATELY_KEY].pop((user.username, "search", normal), None)


def recorded_download(db: Database, user: UserInfo, file_id: int,
                      content: bytes) -> Callable[[], bytes]:
    """The download button's data: records the download, then hands over the bytes (no
    record, no file). Streamlit calls it on the click, on a thread of its own."""
    actor = user.username

    def fetch() -> bytes:
        document_downloaded(db, file_id, actor=actor)
        return content
    return fetch


def access_log_section(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """"Who looked at this case": for team leads and admins only (core refuses others)."""
    if not can(user.role, READ_PERMISSION):
        return
    st.markdown("#### Who looked at this case")
    try:
        log = case_access_log(db, detail.id, viewer=user.username)
    except DocketError as e:
        st.caption(f"The access log cannot be shown: {esc(e)}")
        return
    if not log.viewers and not log.entries:
        st.caption("No one has opened, downloaded or exported this case yet.")
        return
    with st.container(key="case_access_log"):
        if log.viewers:
            st.dataframe(pd.DataFrame(
                [{"Name": v.name, "Username": v.username, "Last viewed": plain(v.last_viewed),
                  "Times": v.times} for v in log.viewers]),
                hide_index=True, width="stretch", key="access_viewers")
        if log.entries:
            names = block_names(detail)
            st.dataframe(pd.DataFrame(
                [{"When": plain(e.at), "Who": e.name,
                  "What": describe({"actor": e.username, "kind": e.kind, "after": e.after},
                                   names),
                  "Through": e.via or ""} for e in log.entries]),
                hide_index=True, width="stretch", key="access_entries")
        st.caption("Views count once per person per 15 minutes; downloads and case-file "
                   "exports each time. Newest first.")
