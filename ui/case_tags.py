"""The open case's tags (core/cases/tags.py): chips, and for those who may tag it
(`detail.can_tag`: a lead or admin, or the reviewer it is assigned to) a field to add one and a
remove button on each chip.

Each change is one core command with the version the user saw (`detail.version`, bound when
the button is drawn): a case changed since is refused with what changed (ui/actions.py), an
invalid tag with the core's words. Tags are case data: shown escaped, never as Markdown.
"""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.cases.read import CaseDetail
from core.cases.tags import MAX_TAG_CHARS, add_tag, remove_tag
from core.store.db import Database
from ui.actions import attempt, changes_since, fail, show_outcome
from ui.case_list import refresh_tags
from ui.text import esc

WHERE = "tags"
ADD_WHERE = "tags_add"  # an added tag's outcome: in the "Add tag" menu, which stays open over
# the row's own messages


def _input_key(case_id: str) -> str:
    return f"tag_new_{case_id}"


def _add(db: Database, actor: str, detail: CaseDetail) -> None:
    key = _input_key(detail.id)
    tag = str(st.session_state.get(key) or "")
    case_id, version, changes = detail.id, detail.version, changes_since(db, detail)
    changed: list[bool] = []
    if attempt(lambda: changed.append(add_tag(db, case_id, tag, actor=actor,
                                              expected_version=version)),
               f"Tag {esc(tag.strip())} added.", where=ADD_WHERE, changes=changes):
        st.session_state[key] = ""
        refresh_tags()
        if changed and not changed[0]:
            fail(f"The case already has the tag {tag.strip()}.", where=ADD_WHERE)


def _remove(db: Database, actor: str, detail: CaseDetail, tag: str) -> None:
    case_id, version, changes = detail.id, detail.version, changes_since(db, detail)
    changed: list[bool] = []
    if attempt(lambda: changed.append(remove_tag(db, case_id, tag, actor=actor,
                                                 expected_version=version)),
               f"Tag {esc(tag)} removed.", where=WHERE, changes=changes):
        refresh_tags()
        if changed and not changed[0]:
            fail(f"The case no longer has the tag {tag}.", where=WHERE)


def case_tags(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    """The Tags row of the preview."""
    with st.container(key="case_tags", horizontal=True, vertical_alignment="center",
                      gap="small"):
        st.markdown("**Tags:**", width="content")
        if not detail.tags:
            st.caption("none", width="content")
        for i, tag in enumerate(detail.tags):
            if detail.can_tag:
                st.button(esc(tag), key=f"tag_remove_{i}", icon=":material/close:",
                          icon_position="right", type="secondary", help=f"Remove the tag "
                          f"{esc(tag)}", on_click=_remove,
                          args=(db, user.username, detail, tag))
            else:
                st.badge(esc(tag), color="gray")
        if detail.can_tag:
            with st.popover("Add tag", icon=":material/sell:", type="tertiary",
                            key="tag_add_menu"):
                with st.form(f"tag_form_{detail.id}", border=False):
                    st.text_input("New tag", key=_input_key(detail.id), placeholder="e.g. vip",
                                  help=f"1 to {MAX_TAG_CHARS} characters; Enter adds it.")
                    st.form_submit_button("Add", type="primary", on_click=_add,
                                          args=(db, user.username, detail))
                show_outcome(ADD_WHERE)  # (outside the form: a stale case offers a button)
    show_outcome(WHERE)
