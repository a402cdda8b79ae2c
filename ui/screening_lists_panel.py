"""The Screening lists page's widgets: the lists table, the form that loads a list file (a
new list or the next version of one), the result in words or the refused file's problems
line by line, and each list's version history. Every load goes through
`core.screening.lists.load_list`, which checks the admin's role, reads the whole file before
writing and audits the load. List data is shown as tables and escaped text, never HTML."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError, InvalidInput
from core.screening.job_queue import pending
from core.screening.list_files import FORMAT_LABELS, FORMATS, MAX_FILE_BYTES
from core.screening.lists import ListInfo, lists, load_list, versions
from core.store.db import Database
from ui.admin import flash, show_error
from ui.text import count_of, esc, when

NEW_LIST = ""               # the list picker's "a new list" choice
UPLOADER_ROUND = "sl_round"  # bumped after a load: a fresh, empty file picker
PICK_NEXT = "sl_pick_next"  # the list loaded: picked in the next run
LIST_COLUMNS = ["Title", "Name", "Format", "Version", "Entries", "Loaded at", "Loaded by"]
VERSION_COLUMNS = ["Version", "Loaded at", "Loaded by", "File", "Entries", "Added", "Changed",
                   "Removed"]


def current_lists(db: Database) -> list[ListInfo]:
    return lists(db)


def lists_table(found: list[ListInfo]) -> None:
    if not found:
        st.info("No screening list is loaded yet. Load an OpenSanctions or OFAC SDN file "
                "below; its entries are what the built-in screener matches case subjects "
                "against.", icon=":material/info:")
        return
    st.dataframe(pd.DataFrame([{
        "Title": i.title, "Name": i.name, "Format": FORMAT_LABELS.get(i.format, i.format),
        "Version": i.version, "Entries": i.entries, "Loaded at": when(i.loaded_at),
        "Loaded by": i.loaded_by or "",
    } for i in found], columns=LIST_COLUMNS), hide_index=True, width="stretch", key="sl_table")


def _problems_table(problems: list[str]) -> None:
    rows = []
    for p in problems:
        where, sep, reason = p.partition(": ")
        rows.append({"Where": where if sep else "", "Problem": reason if sep else p})
    st.dataframe(pd.DataFrame(rows, columns=["Where", "Problem"]), hide_index=True,
                 width="stretch", key="sl_problems")


@st.fragment(run_every=5)
def screening_queue(db: Database, found: list[ListInfo]) -> None:
    """How far the worker is: the cases still waiting to be screened (refreshed every 5 s)."""
    if not found:
        return
    waiting = pending(db)
    if waiting:
        st.caption(f":material/hourglass_top: {count_of(waiting, 'case')} waiting to be "
                   "screened by the worker against the current versions.")
    else:
        st.caption(":material/done_all: Every case is screened against the current versions.")


def load_form(db: Database, user: UserInfo, found: list[ListInfo]) -> None:
    """File, list (an existing one or a new name), format, title; Load."""
    by_name = {i.name: i for i in found}
    round_no = st.session_state.setdefault(UPLOADER_ROUND, 0)
    if st.session_state.get(PICK_NEXT) in by_name:  # the list just loaded, picked
        st.session_state["sl_list"] = st.session_state.pop(PICK_NEXT)
    with st.container(border=True):
        st.markdown("**Load a list file**")
        uploaded = st.file_uploader(
            "List file (CSV)", type=["csv", "txt"], key=f"sl_file_{round_no}",
            help=f"OpenSanctions targets.simple.csv or OFAC sdn.csv, UTF-8. Here at most "
                 f"{st.get_option('server.maxUploadSize')} MB (the server's upload limit); "
                 f"a bigger file, up to {MAX_FILE_BYTES // 2**20} MB, loads from the shell: "
                 "python -m core screening load. The whole file is checked before anything "
                 "is written.")
        left, right = st.columns(2)
        picked = left.selectbox(
            "List", [NEW_LIST, *by_name], key="sl_list",
            format_func=lambda n: "A new list" if n == NEW_LIST else
            f"{by_name[n].title} ({n})",
            help="Loading into an existing list makes its next version; what changed is "
                 "recorded.")
        existing = by_name.get(picked)
        if existing is None:
            name = right.text_input("New list's name", key="sl_new_name",
                                    placeholder="e.g. ofac-sdn",
                                    help="1 to 40 characters: a-z, 0-9 and '-'")
        else:
            name = existing.name
            right.text_input("New list's name", value="", disabled=True, key="sl_new_name_off",
                             help="Choose \"A new list\" to name one.")
        fmt = left.selectbox(
            "Format", list(FORMATS), key=f"sl_format_{picked or 'new'}",
            index=FORMATS.index(existing.format) if existing else 0,
            format_func=lambda f: FORMAT_LABELS[f], disabled=existing is not None,
            help="A list keeps the format of its first file.")
        title = right.text_input(
            "Title", key=f"sl_title_{picked or 'new'}",
            value=existing.title if existing else "", disabled=existing is not None,
            help="What hits show as the list, e.g. \"OFAC SDN\" (default: the name). Set "
                 "by the first load: decisions on hits are tied to it.")
        if not st.button("Load", type="primary", icon=":material/upload:", key="sl_load",
                         disabled=uploaded is None):
            if uploaded is None:
                st.caption("Pick a file to load.")
            return
        try:
            with st.spinner("Reading and loading the list…"):
                result = load_list(db, name, uploaded.getvalue(), fmt=fmt,
                                   actor=user.username, title=title.strip() or None,
                                   file_name=uploaded.name)
        except InvalidInput as e:
            head = str(e).split("\n", 1)[0]
            st.error(f"{esc(head[:1].upper() + head[1:])}: {count_of(len(e.problems), 'problem')} "
                     "listed below. Nothing was written; fix the file and load it again.",
                     icon=":material/error:")
            _problems_table(e.problems)
            return
        except DocketError as e:
            show_error(e)
            return
    st.session_state[UPLOADER_ROUND] += 1
    st.session_state[PICK_NEXT] = result.name
    flash(result.sentence()[:1].upper() + result.sentence()[1:] + ".")
    st.rerun()


def version_history(db: Database, found: list[ListInfo]) -> None:
    for i, info in enumerate(found):
        with st.expander(f"Versions of {esc(info.title)} ({esc(info.name)})", expanded=i == 0):
            rows = versions(db, info.name)
            st.dataframe(pd.DataFrame([{
                "Version": v.version, "Loaded at": when(v.loaded_at), "Loaded by": v.loaded_by,
                "File": v.file_name, "Entries": v.entries, "Added": v.added,
                "Changed": v.changed, "Removed": v.removed,
            } for v in rows], columns=VERSION_COLUMNS), hide_index=True, width="stretch",
                key=f"sl_versions_{info.name}")
            latest = rows[0] if rows else None
            if latest is not None and any(latest.changes.get(k) for k in latest.changes):
                st.caption("Version " + str(latest.version) + ": " + "; ".join(
                    f"{kind} {esc(', '.join(ids[:10]))}" + (" …" if len(ids) > 10 else "")
                    for kind, ids in latest.changes.items() if ids))


def formats_help() -> None:
    with st.expander("List file formats"):
        st.markdown(
            "**OpenSanctions** `targets.simple.csv`: a header row, then one entity per row; "
            "names in `aliases`, dates in `birth_date` and codes in `countries` are separated "
            "by `;`.  \n**OFAC SDN** `sdn.csv`: no header, 12 columns per row, `-0-` for an "
            "empty value; birth dates, nationalities and other names are read from the "
            "Remarks. docs/SCREENING.md (\"The built-in screener: list files\") says exactly "
            "what is read and what is refused.")
