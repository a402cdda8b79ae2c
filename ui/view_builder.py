"""The views builder: the sidebar's views in order (move, delete) and the editor of one view
(name, workflows, conditions, default statuses) with a live count of the cases it matches.

Every rule lives in `core.worklist.views`: predicates are built from the typed text by
`predicate_from_text`, judged by `validate_predicates` / `save_view`, and counted in SQL by
`core.worklist.query.count_cases` on an unsaved `draft_view`.
"""
from __future__ import annotations

import streamlit as st
from sqlalchemy import select

from core.access.users import UserInfo
from core.cases.status import CASE_STATUS_LABELS, CaseStatus
from core.errors import DocketError
from core.store.db import Database
from core.store.models import Workflow
from core.worklist.query import CaseFilter, count_cases, counts_by_view
from core.worklist.views import (
    FIELDS,
    OPERATORS,
    ViewInfo,
    delete_view,
    describe_predicate,
    draft_view,
    list_views,
    move_view,
    predicate_from_text,
    save_view,
    validate_predicates,
)
from ui.admin import flash, show_error
from ui.case_list import refresh_counts
from ui.limits import refuse_too_long, too_long, up_to
from ui.text import esc

NEW = 0                      # the editor's choice for "a new view"
PICK_KEY = "vb_pick"
NEXT_PICK_KEY = "vb_next_pick"
LOADED_KEY = "vb_loaded"
ROWS_KEY = "vb_rows"
CONFIRM_DELETE_KEY = "vb_confirm_delete"
USER_DATA = "user_data"      # the field choice "a user provided field" (name typed next to it)
FIELD_CHOICES = [*FIELDS, USER_DATA]
FIELD_LABELS = {"country": "Country (ISO code)", "entity_type": "Entity type",
                "name": "Entity name", "email": "Email",
                "registration_number": "Registration number", "risk_score": "Risk score",
                "tags": "Tags", "open_hits": "Open screening hits", "risk_level": "Risk level",
                "risk_points": "Risk points", USER_DATA: "User provided field…"}
LIST_FIELDS = {name for name, (_, kind) in FIELDS.items() if kind == "list"}
LIST_OPERATORS = ("contains",)
OPERATOR_LABELS = {"equals": "equals", "in": "is one of", "contains": "contains",
                   "range": "between"}
MAX_VIEW_NAME, MAX_FIELD_NAME, MAX_VALUE = 100, 100, 200  # characters (the first two: core's)


def _workflows(db: Database) -> dict[str, str]:
    with db.read() as s:
        return dict(s.execute(select(Workflow.name, Workflow.title).order_by(Workflow.name)).all())


# --- the list ------------------------------------------------------------------------------

def view_list(db: Database, user: UserInfo) -> None:
    """The views in sidebar order, each with its count, Up / Down / Edit / Delete."""
    views = list_views(db)
    counts = counts_by_view(db, views)
    st.subheader("Sidebar views", anchor=False)
    if not views:
        st.caption("No views yet: create one below.")
        return
    for i, view in enumerate(views):
        with st.container(border=True):
            text, up, down, edit, remove = st.columns([8, 1, 1, 1, 1],
                                                      vertical_alignment="center")
            text.markdown(f"**{esc(view.name)}** · {counts.get(view.id, 0):,} cases  \n"
                          f"{esc(_summary(view))}")
            up.button("", icon=":material/arrow_upward:", key=f"vb_up_{view.id}",
                      help="Move up", disabled=i == 0, on_click=_move,
                      args=(db, user, view.id, -1))
            down.button("", icon=":material/arrow_downward:", key=f"vb_down_{view.id}",
                        help="Move down", disabled=i == len(views) - 1, on_click=_move,
                        args=(db, user, view.id, 1))
            edit.button("", icon=":material/edit:", key=f"vb_edit_{view.id}", help="Edit",
                        on_click=_pick, args=(view.id,))
            remove.button("", icon=":material/delete:", key=f"vb_delete_{view.id}",
                          help="Delete", on_click=_ask_delete, args=(view.id,))
            if st.session_state.get(CONFIRM_DELETE_KEY) == view.id:
                _confirm_delete(db, user, view)


def _summary(view: ViewInfo) -> str:
    parts = []
    if view.workflows:
        parts.append("workflows: " + ", ".join(view.workflows))
    parts.extend(describe_predicate(p) for p in view.predicates)
    if view.statuses:
        parts.append("statuses: " + ", ".join(CASE_STATUS_LABELS[CaseStatus(s)]
                                               for s in view.statuses))
    return " · ".join(parts) or "every case"


def _move(db: Database, user: UserInfo, view_id: int, steps: int) -> None:
    try:
        move_view(db, view_id, steps, actor=user.username)
    except DocketError as e:
        flash(str(e), "error")


def _pick(view_id: int) -> None:
    st.session_state[PICK_KEY] = view_id


def _ask_delete(view_id: int) -> None:
    st.session_state[CONFIRM_DELETE_KEY] = view_id


def _confirm_delete(db: Database, user: UserInfo, view: ViewInfo) -> None:
    st.warning(f"Delete the view **{esc(view.name)}**? Its cases are not touched.",
               icon=":material/warning:")
    yes, no = st.columns(2)
    if yes.button("Delete view", type="primary", key="vb_delete_confirm"):
        st.session_state.pop(CONFIRM_DELETE_KEY, None)
        try:
            delete_view(db, view.id, actor=user.username)
        except DocketError as e:
            flash(str(e), "error")
        else:
            if st.session_state.get(PICK_KEY) == view.id:
                st.session_state[NEXT_PICK_KEY] = NEW
            refresh_counts()
            flash(f"View {view.name!r} deleted.")
        st.rerun()
    if no.button("Cancel", key="vb_delete_cancel"):
        st.session_state.pop(CONFIRM_DELETE_KEY, None)
        st.rerun()


# --- the editor ----------------------------------------------------------------------------

def view_editor(db: Database, user: UserInfo) -> None:
    """Pick a view (or New view), edit it, watch the count, save."""
    views = {v.id: v for v in list_views(db)}
    if NEXT_PICK_KEY in st.session_state:
        st.session_state[PICK_KEY] = st.session_state.pop(NEXT_PICK_KEY)
    if st.session_state.get(PICK_KEY) not in (NEW, *views):
        st.session_state[PICK_KEY] = NEW
    st.subheader("Create or edit a view", anchor=False)
    picked = st.selectbox("View to edit", [NEW, *views], key=PICK_KEY,
                          format_func=lambda i: "New view" if i == NEW else views[i].name)
    if (st.session_state.get(LOADED_KEY) != picked or "vb_name" not in st.session_state
            or ROWS_KEY not in st.session_state):  # another view, or back from a page
        _load(views.get(picked))
        st.session_state[LOADED_KEY] = picked

    workflows = _workflows(db)
    name = st.text_input("Name", key="vb_name", placeholder="e.g. Hong Kong companies",
                         help=up_to(MAX_VIEW_NAME))
    chosen_workflows = st.multiselect("Workflows (none: every workflow)", list(workflows),
                                      key="vb_workflows", format_func=lambda w: workflows.get(w, w))
    st.markdown("**Conditions** (a case must meet every one)")
    predicates = [_condition_row(row) for row in list(st.session_state[ROWS_KEY])]
    st.button("Add condition", icon=":material/add:", key="vb_add", on_click=_add_row)
    statuses = st.multiselect(
        "Default statuses (optional: the view shows only these)", [s.value for s in CaseStatus],
        key="vb_statuses", format_func=lambda s: CASE_STATUS_LABELS[CaseStatus(s)])

    problems = validate_predicates(predicates) + too_long(_condition_texts())
    preview = st.container(border=True)
    if problems:
        preview.warning("These conditions cannot be used yet:\n"
                        + "\n".join(f"- {esc(p)}" for p in problems), icon=":material/rule:")
    else:
        draft = draft_view(name, chosen_workflows, predicates, statuses)
        try:
            matching = count_cases(db, CaseFilter(view=draft))
        except DocketError as e:
            show_error(e)
        else:
            preview.metric("Matching cases", f"{matching:,}")

    if st.button("Save view", type="primary", icon=":material/save:", key="vb_save") \
            and not refuse_too_long(_condition_texts()):
        try:
            saved = save_view(db, name, chosen_workflows, predicates, statuses,
                              view_id=None if picked == NEW else picked, actor=user.username)
        except DocketError as e:
            show_error(e)
        else:
            refresh_counts()
            st.session_state[NEXT_PICK_KEY] = saved.id
            st.session_state[LOADED_KEY] = saved.id
            flash(f"View {saved.name!r} saved; it is in the Cases sidebar.")
            st.rerun()


def _load(view: ViewInfo | None) -> None:
    """Puts a view's values (or a blank view's) into the editor's widgets."""
    for key in [k for k in st.session_state if str(k).startswith("vb_p_")]:
        del st.session_state[key]
    st.session_state["vb_name"] = view.name if view else ""
    st.session_state["vb_workflows"] = list(view.workflows) if view else []
    st.session_state["vb_statuses"] = list(view.statuses) if view else []
    rows = []
    for i, p in enumerate(view.predicates if view else ()):
        rows.append(i)
        name = p["field"]
        user_field = name.startswith("user_data.")
        st.session_state[f"vb_p_field_{i}"] = USER_DATA if user_field else name
        st.session_state[f"vb_p_user_{i}"] = name.split(".", 1)[1] if user_field else ""
        st.session_state[f"vb_p_op_{i}"] = p["op"]
        value = p["value"]
        if p["op"] == "range":
            low, high = value
            st.session_state[f"vb_p_low_{i}"] = "" if low is None else str(low)
            st.session_state[f"vb_p_high_{i}"] = "" if high is None else str(high)
        elif p["op"] == "in":
            st.session_state[f"vb_p_value_{i}"] = ", ".join(str(v) for v in value)
        else:
            st.session_state[f"vb_p_value_{i}"] = str(value)
    st.session_state[ROWS_KEY] = rows


def _condition_texts() -> dict[str, tuple[str | None, int]]:
    """The conditions' typed texts with their limits (checked here: core has none for a
    value), for `ui.limits`."""
    texts = {}
    for i, row in enumerate(st.session_state.get(ROWS_KEY) or ()):
        if st.session_state.get(f"vb_p_field_{row}") == USER_DATA:
            texts[f"Condition {i + 1}, user field name"] = (
                st.session_state.get(f"vb_p_user_{row}"), MAX_FIELD_NAME)
        texts[f"Condition {i + 1}, value"] = (st.session_state.get(f"vb_p_value_{row}"),
                                              MAX_VALUE)
    return texts


def _add_row() -> None:
    rows = st.session_state[ROWS_KEY]
    rows.append(max(rows, default=-1) + 1)


def _remove_row(row: int) -> None:
    st.session_state[ROWS_KEY] = [r for r in st.session_state[ROWS_KEY] if r != row]


def _condition_row(row: int) -> dict:
    field_col, op_col, value_col, remove_col = st.columns([3, 2, 4, 1],
                                                          vertical_alignment="bottom")
    field = field_col.selectbox("Field", FIELD_CHOICES, key=f"vb_p_field_{row}",
                                format_func=lambda f: FIELD_LABELS.get(f, f))  # (a new field)
    if field == USER_DATA:
        user_field = field_col.text_input("User field name", key=f"vb_p_user_{row}",
                                          placeholder="e.g. industry",
                                          help=up_to(MAX_FIELD_NAME))
        field = f"user_data.{user_field.strip()}"
    operators = [o for o in OPERATORS if o in LIST_OPERATORS] if field in LIST_FIELDS \
        else OPERATORS  # tags: only "contains" (the case carries the tag)
    if st.session_state.get(f"vb_p_op_{row}") not in operators:
        st.session_state[f"vb_p_op_{row}"] = operators[0]
    op = op_col.selectbox("Operator", operators, key=f"vb_p_op_{row}",
                          format_func=OPERATOR_LABELS.get)
    if op == "range":
        low, high = value_col.columns(2)
        predicate = predicate_from_text(
            field, op, low=low.text_input("From", key=f"vb_p_low_{row}", placeholder="min"),
            high=high.text_input("To", key=f"vb_p_high_{row}", placeholder="max"))
    else:
        hint = "comma-separated, e.g. HK, SG" if op == "in" else ""
        predicate = predicate_from_text(
            field, op, value_col.text_input("Value", key=f"vb_p_value_{row}",
                                            placeholder=hint, help=up_to(MAX_VALUE)))
    remove_col.button("", icon=":material/close:", key=f"vb_p_remove_{row}",
                      help="Remove this condition", on_click=_remove_row, args=(row,))
    return predicate
