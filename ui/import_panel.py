"""The import page's widgets: the file picker, the validation report (before anything is
written), the summary of a good file, and the import with its progress bar."""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.intake.csv_import import ImportFile, import_upload, read_upload
from core.store.db import Database
from ui.admin import show_error
from ui.case_list import refresh_counts
from ui.text import count_of

UPLOADER_ROUND = "imp_round"   # bumped after an import: a fresh, empty file picker
PREVIEW_ROWS = 200


def _report_frame(problems: list[str]) -> pd.DataFrame:
    rows = []
    for p in problems:
        where, sep, reason = p.partition(": ")
        rows.append({"Where": where if sep else "", "Problem": reason if sep else p})
    return pd.DataFrame(rows, columns=["Where", "Problem"])


def pick_file() -> tuple[str, bytes] | None:
    round_no = st.session_state.setdefault(UPLOADER_ROUND, 0)
    uploaded = st.file_uploader("Import file (JSON in the intake format, or CSV)",
                                type=["json", "csv"], key=f"imp_file_{round_no}")
    if uploaded is None:
        return None
    return uploaded.name, uploaded.getvalue()


def check_file(db: Database, filename: str, content: bytes) -> ImportFile:
    """Reads and checks the file (cached per file content, so reruns don't re-check)."""
    digest = hashlib.sha256(content).hexdigest()
    cached = st.session_state.get("imp_checked")
    if cached and cached[0] == (filename, digest):
        return cached[1]
    found = read_upload(db, filename, content)
    st.session_state["imp_checked"] = ((filename, digest), found)
    return found


def validation_report(found: ImportFile) -> None:
    if found.problems:
        st.error(f"The file was refused: {count_of(len(found.problems), 'problem')}. Nothing was "
                 "imported; fix the file and upload it again.", icon=":material/error:")
        st.dataframe(_report_frame(found.problems), hide_index=True, width="stretch",
                     key="imp_report")
        return
    cases = found.cases
    st.success(f"The file is valid: {count_of(len(cases), 'case')} ready to import. Nothing is written "
               "until you press Import.", icon=":material/task_alt:")
    st.dataframe(pd.DataFrame([{
        "ID": c.get("id") or "(generated)", "Workflow": c.get("workflow"),
        "Entity name": (c.get("entity") or {}).get("name"),
        "Type": (c.get("entity") or {}).get("type"),
        "Country": (c.get("entity") or {}).get("country", ""),
        "Collection completed": bool(c.get("collection_completed")),
        "Documents": len(c.get("documents") or []), "UBOs": len(c.get("ubos") or []),
    } for c in cases[:PREVIEW_ROWS]]), hide_index=True, width="stretch", key="imp_summary")
    if len(cases) > PREVIEW_ROWS:
        st.caption(f"Showing the first {PREVIEW_ROWS} of {len(cases):,} cases.")


def import_button(db: Database, user: UserInfo, found: ImportFile) -> None:
    if found.problems or found.data is None:
        return
    if not st.button(f"Import {count_of(len(found.cases), 'case')}", type="primary",
                     icon=":material/upload:", key="imp_go"):
        return
    bar = st.progress(0.0, text="Importing…")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"Imported {done:,} of {count_of(total, 'case')}")

    try:
        ids = import_upload(db, found, actor=user.username, on_progress=progress)
    except DocketError as e:
        bar.empty()
        show_error(e)
        return
    refresh_counts()
    st.session_state[UPLOADER_ROUND] += 1   # the next run shows an empty file picker
    st.session_state.pop("imp_checked", None)
    st.success(f"Imported {count_of(len(ids), 'case')}. They are in the Cases list now.",
               icon=":material/check_circle:")
    st.dataframe(pd.DataFrame({"Case ID": ids}), hide_index=True, key="imp_done_ids")
    st.page_link("pages/cases.py", label="Open the Cases list", icon=":material/folder_open:")


def format_help() -> None:
    with st.expander("File formats"):
        st.markdown(
            "**JSON**: the intake format of `docs/INTAKE.md` (`{\"cases\": [...]}`), with "
            "documents, UBOs and processes; `examples/cases.json` is a complete example.  \n"
            "**CSV**: one case per row, a header row naming the columns. Required: "
            "`workflow`, `entity_type` (business or person), `name`. Optional: `id`, `email`, "
            "`phone`, `country`, `registration_number`, `collection_completed` (true/false), "
            "`created_at`, `risk_score`, `tags` (separated by `;`), `user.<field>` for user "
            "provided data, `process.<name>` with pending, completed or failed.")
        st.code("id,workflow,entity_type,name,country,collection_completed,risk_score,"
                "tags,user.industry\nACME-1,onboarding,business,Acme Trading Ltd,HK,true,40,"
                "vip;hk,trading", language="text")
