"""The preview's data blocks: read-only tables, and the edit form of user provided data and of
document properties.

A refused save keeps what was typed: the changed values are kept in the session and fill the
form again when it is drawn for the case's new version; the refusal shows under the Save
button, with what changed since (who did what) when someone else acted meanwhile.
"""
from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.cases import actions as case_actions
from core.cases.read import CaseDetail
from core.store.db import Database
from ui.actions import attempt, changes_since, fail, show_outcome
from ui.text import count_of, plain

NEW_FIELD, NEW_VALUE = "__new_field", "__new_value"
LIMIT_NOTE = (f"A value holds up to {case_actions.MAX_FIELD_VALUE:,} characters; a longer one "
              "is refused with a message, never cut.")


def table(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"Field": str(k), "Value": v if isinstance(v, str) else
                          json.dumps(v, ensure_ascii=False, default=str)}
                         for k, v in data.items()], columns=["Field", "Value"])


def data_block(title: str, data: dict[str, Any], empty: str) -> None:
    with st.expander(title, icon=":material/database:"):
        st.caption("Read only")
        if data:
            st.dataframe(table(data), hide_index=True, width="stretch")
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


def _kept_key(base: str) -> str:
    return f"edit_kept_{base}"


def _save(db: Database, actor: str, detail: CaseDetail, base: str, data: dict[str, Any],
          document_id: int | None) -> None:
    prefix = f"{base}_{detail.version}"
    changed: dict[str, str] = {}   # what the reviewer typed, as text, for the fields they changed
    changes = {}
    for field, old in data.items():
        new = st.session_state.get(f"{prefix}_{field}")
        if new is not None and new != plain(old):
            changed[str(field)] = new
            changes[field] = _typed(old, new)
    new_field = st.session_state.get(f"{prefix}_{NEW_FIELD}") or ""
    new_value = st.session_state.get(f"{prefix}_{NEW_VALUE}") or ""
    if new_field.strip():
        changes[new_field.strip()] = new_value
    if new_field or new_value:
        changed.update({NEW_FIELD: new_field, NEW_VALUE: new_value})
    if not changes:
        fail("Nothing was changed.", where=base)
        return
    if document_id is None:
        command = lambda: case_actions.edit_user_data(  # noqa: E731
            db, detail.id, changes, actor=actor, expected_version=detail.version)
    else:
        command = lambda: case_actions.edit_document_properties(  # noqa: E731
            db, detail.id, document_id, changes, actor=actor, expected_version=detail.version)
    if attempt(command, f"Saved {count_of(len(changes), 'change')}.", where=base,
               changes=changes_since(db, detail)):
        st.session_state.pop(_kept_key(base), None)
    else:
        st.session_state[_kept_key(base)] = changed


def edit_form(db: Database, user: UserInfo, detail: CaseDetail, base: str,
              data: dict[str, Any], document_id: int | None = None) -> None:
    """The fields as text inputs (keyed by the case version, so another's change shows),
    filled with what the reviewer typed and has not saved yet, if any."""
    prefix = f"{base}_{detail.version}"
    kept = st.session_state.get(_kept_key(base)) or {}
    with st.form(f"{prefix}_form", border=False):
        if kept:
            st.caption("Filled in with what you typed and have not saved yet.")
        for field, value in data.items():
            st.text_input(str(field), value=kept.get(str(field), plain(value)),
                          key=f"{prefix}_{field}")
        new = st.columns(2)
        new[0].text_input("New field", value=kept.get(NEW_FIELD, ""), key=f"{prefix}_{NEW_FIELD}")
        new[1].text_input("Value", value=kept.get(NEW_VALUE, ""), key=f"{prefix}_{NEW_VALUE}")
        st.form_submit_button("Save changes", on_click=_save,
                              args=(db, user.username, detail, base, data, document_id))
        show_outcome(base, again="save")


def user_data_block(db: Database, user: UserInfo, detail: CaseDetail) -> None:
    with st.expander("User provided data", expanded=True, icon=":material/badge:"):
        entity = {"Name": detail.entity.get("name"), "Email": detail.entity.get("email"),
                  "Phone": detail.entity.get("phone"), "Country": detail.entity.get("country"),
                  "Registration number": detail.entity.get("registration_number")}
        st.dataframe(table({k: v for k, v in entity.items() if v}), hide_index=True,
                     width="stretch")
        if detail.can_edit:
            st.caption("Edits are recorded in the timeline (field, old and new value). "
                       + LIMIT_NOTE)
            edit_form(db, user, detail, f"ud_{detail.id}", detail.user_data)
        elif detail.user_data:
            st.dataframe(table(detail.user_data), hide_index=True, width="stretch")
