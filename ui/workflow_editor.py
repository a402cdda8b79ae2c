"""The workflows page's widgets: pick a workflow, edit its definition (title, document types,
re-upload reasons, approval rule, notification channels per action, retention years), see what a change
means for existing cases, save; create or delete one; export and import YAML. Every rule is
in `core.workflows.admin`."""
from __future__ import annotations

import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.workflows import admin as wa
from core.workflows.definitions import BLOCKS, RETENTION_YEARS_RANGE
from core.workflows.four_eyes import ENTITY_TYPES
from core.workflows.risk_model import LEVELS as RISK_LEVELS
from ui.admin import flash, show_error
from ui.limits import up_to
from ui.risk_model_editor import risk_model_input
from ui.text import count_of, esc

NEW = ""
PICK_KEY = "wf_pick"
NEXT_PICK_KEY = "wf_next_pick"
ACTION_LABELS = {"approve": "Approve", "reject": "Reject",
                 "ask_for_reuploads": "Ask for all re-uploads",
                 "kyc_reupload": "KYC Ask to re-upload"}
CHANNEL_LABELS = {"webhook": "Webhook", "email": "Email", "sms": "SMS", "crm": "CRM call"}


def _forget_widgets(name: str | None = None) -> None:
    """Drops the editor's widget values (of one workflow, or all) so they reload from the
    database."""
    for key in [k for k in st.session_state if str(k).startswith("wf_e_")]:
        if name is None or str(key).endswith(f"__{name}"):
            del st.session_state[key]


def pick_workflow(db: Database) -> str:
    workflows = {w["name"]: w["title"] for w in wa.list_workflows(db)}
    if NEXT_PICK_KEY in st.session_state:
        st.session_state[PICK_KEY] = st.session_state.pop(NEXT_PICK_KEY)
    if st.session_state.get(PICK_KEY) not in (NEW, *workflows):
        st.session_state.pop(PICK_KEY, None)
    return st.selectbox("Workflow", [*workflows, NEW], key=PICK_KEY,
                        format_func=lambda n: f"{workflows[n]} ({n})" if n else "New workflow")


def new_workflow_form(db: Database, user: UserInfo) -> None:
    with st.form("wf_new", border=True):
        st.markdown("**New workflow**")
        title = st.text_input("Title", key="wf_new_title", placeholder="e.g. Onboarding EU",
                              help=up_to(wa.MAX_TITLE))
        name = st.text_input("Name (the key cases use; cannot be changed later)",
                             key="wf_new_name", placeholder="e.g. onboarding_eu",
                             help="1 to 64 characters: a-z, 0-9, '_'. Empty: made from the "
                                  "title.")
        if st.form_submit_button("Create workflow", type="primary", icon=":material/add:"):
            name = name.strip() or wa.slug(title)
            try:
                wa.save_workflow(db, wa.new_definition(name, title), actor=user.username,
                                 create=True)
            except DocketError as e:
                show_error(e)
            else:
                st.session_state[NEXT_PICK_KEY] = name
                flash(f"Workflow {name!r} created; add its document types below.")
                st.rerun()


def edit_workflow(db: Database, user: UserInfo, name: str) -> None:
    current = wa.get_workflow(db, name)
    used = wa.usage(db, name)
    st.caption(f"{count_of(used['cases'], 'case')} {'uses' if used['cases'] == 1 else 'use'} "
               "this workflow"
               + (f" · views: {esc(', '.join(used['views']))}" if used["views"] else ""))
    k = f"__{name}"
    title = st.text_input("Title", value=current["title"], key=f"wf_e_title{k}",
                          help=up_to(wa.MAX_TITLE))
    types_text = st.text_area(
        "Document types — one per line, `type: Label` (a line with only a label makes the "
        "type from it)", value=wa.document_types_text(current["document_types"]),
        key=f"wf_e_types{k}", height=160)
    reasons_text = st.text_area("Re-upload reasons — one per line",
                                value="\n".join(current["reupload_reasons"]),
                                key=f"wf_e_reasons{k}", height=130)
    blocks = st.multiselect("Blocks shown in a case", list(BLOCKS), default=current["blocks"],
                            format_func=BLOCKS.get, key=f"wf_e_blocks{k}")
    needs_all = st.checkbox("Approve needs every document and KYC block reviewed (approved) "
                            "first", value=current["approve_needs_all_blocks_approved"],
                            key=f"wf_e_needs_all{k}",
                            help="Until then Approve is off and says which blocks are still "
                                 "awaiting review.")
    screening = st.checkbox("Approve is refused while a screening hit is open or a true match "
                            "awaits a lead's sign-off",
                            value=current["screening_blocks_approval"],
                            key=f"wf_e_screening{k}",
                            help="Until then Approve is off and says how many hits are open "
                                 "(docs/SCREENING.md).")
    threshold = _threshold_input(current["screening_threshold"], k)
    low, high = RETENTION_YEARS_RANGE
    retention = st.number_input(
        "Retention: years the records are kept after the relationship ends, then erased",
        min_value=low, max_value=high, step=1, value=current["retention_years"],
        key=f"wf_e_retention{k}", help="EU AMLR Art. 77: five years (docs/RECORDS.md). A "
        "change applies to relationships that end from now on.")
    four_eyes = _four_eyes_inputs(current["four_eyes"], k)
    risk_model = risk_model_input(db, user, name, current["risk_model"], k)
    st.markdown("**Notifications** — channels used when a reviewer takes each action")
    columns = st.columns(len(wa.NOTIFICATION_ACTIONS))
    notifications = {}
    for column, action in zip(columns, wa.NOTIFICATION_ACTIONS):
        notifications[action] = column.multiselect(
            ACTION_LABELS[action], list(wa.CHANNELS), default=current["notifications"][action],
            key=f"wf_e_notify_{action}{k}", format_func=CHANNEL_LABELS.get)

    types, problems = wa.document_types_from_text(types_text)
    draft = {"name": name, "title": title, "document_types": types,
             "reupload_reasons": [r.strip() for r in reasons_text.splitlines() if r.strip()],
             "blocks": blocks, "approve_needs_all_blocks_approved": needs_all,
             "screening_blocks_approval": screening, "screening_threshold": threshold,
             "notifications": notifications, "four_eyes": four_eyes[0],
             "sla": current["sla"],  # no fields here: kept as stored (docs/WORKLIST.md)
             "risk_model": risk_model[0], "retention_years": int(retention)}
    problems += four_eyes[1] + risk_model[1] + wa.validate_definition(draft)
    if problems:
        st.warning("Not saved yet:\n" + "\n".join(f"- {esc(p)}" for p in problems),
                   icon=":material/rule:")
    for note in wa.change_notes(db, draft):
        st.info(esc(note), icon=":material/info:")
    save, delete = st.columns(2)
    if save.button("Save workflow", type="primary", icon=":material/save:", key="wf_save",
                   disabled=bool(problems)):
        try:
            wa.save_workflow(db, draft, actor=user.username, create=False)
        except DocketError as e:
            show_error(e)
        else:
            st.cache_data.clear()  # the Cases sidebar lists workflows from a cache
            flash(f"Workflow {name!r} saved.")
            st.rerun()
    blocked = (f"{count_of(used['cases'], 'case')} {'uses' if used['cases'] == 1 else 'use'} it"
               if used["cases"] else
               f"views name it: {', '.join(used['views'])}" if used["views"] else "")
    if delete.button("Delete workflow", icon=":material/delete:", key="wf_delete",
                     disabled=bool(blocked),
                     help=f"Cannot be deleted: {blocked}" if blocked else None):
        try:
            wa.delete_workflow(db, name, actor=user.username)
        except DocketError as e:
            show_error(e)
        else:
            st.cache_data.clear()
            _forget_widgets(name)
            st.session_state[NEXT_PICK_KEY] = NEW
            flash(f"Workflow {name!r} deleted.")
            st.rerun()


def _threshold_input(threshold: int | None, k: str) -> int | None:
    """The built-in screener's threshold: empty keeps the screener's default."""
    low, high = wa.THRESHOLD_RANGE
    value = st.number_input(
        "Built-in screening: score a list entry needs to be a hit (empty: the default, "
        f"{wa.DEFAULT_SCREENING_THRESHOLD})",
        min_value=low, max_value=high, value=threshold, step=1, key=f"wf_e_threshold{k}",
        placeholder=f"default: {wa.DEFAULT_SCREENING_THRESHOLD}", help="Higher finds fewer false positives and risks missing a "
        "spelling; docs/SCREENING.md gives the measured recall and precision.")
    return None if value is None else int(value)


def _four_eyes_inputs(rule: dict, k: str) -> tuple[dict, list[str]]:
    """The four-eyes rule's inputs: (the rule as typed, problems of the typed text)."""
    st.markdown("**Four-eyes approval** — a case matching any condition needs a second "
                "approver (another reviewer, a lead or an admin) after the first Approve")
    score_col, countries_col, types_col = st.columns(3)
    use_score = score_col.checkbox("Risk score at least…", key=f"wf_e_4e_use_score{k}",
                                   value=rule["risk_score_at_least"] is not None)
    score = score_col.number_input(
        "Risk score threshold (0–100)", min_value=0, max_value=100, step=1,
        value=rule["risk_score_at_least"] if rule["risk_score_at_least"] is not None else 70,
        key=f"wf_e_4e_score{k}", disabled=not use_score)
    countries_text = countries_col.text_input(
        "Countries (two-letter codes, comma separated)", value=", ".join(rule["countries"]),
        key=f"wf_e_4e_countries{k}", placeholder="e.g. IR, RU, KP")
    types = types_col.multiselect("Entity types", list(ENTITY_TYPES),
                                  default=rule["entity_types"], key=f"wf_e_4e_types{k}")
    true_match = st.checkbox("A screening hit of the case is a true match",
                             value=rule.get("true_match", False), key=f"wf_e_4e_true_match{k}")
    levels = st.multiselect("Risk levels (the case's explained risk level)", list(RISK_LEVELS),
                            default=rule.get("risk_levels") or [], key=f"wf_e_4e_risk{k}")
    countries = [c.strip().upper() for c in countries_text.replace(";", ",").split(",")
                 if c.strip()]
    problems = []
    typed = {"risk_score_at_least": int(score) if use_score else None,
             "countries": countries, "entity_types": types, "true_match": true_match,
             "risk_levels": levels}
    if countries_text.strip() and not countries:
        problems.append("four-eyes countries: write two-letter codes separated by commas")
    return typed, problems


def yaml_exchange(db: Database, user: UserInfo, name: str) -> None:
    with st.expander("Export and import (YAML, to keep workflows in git)"):
        left, right = st.columns(2)
        left.download_button("Download all workflows", wa.export_yaml(db),
                             file_name="workflows.yaml", mime="application/x-yaml",
                             icon=":material/download:", key="wf_export_all")
        if name:
            right.download_button(f"Download {name}", wa.export_yaml(db, [name]),
                                  file_name=f"workflow-{name}.yaml", mime="application/x-yaml",
                                  icon=":material/download:", key="wf_export_one")
        round_no = st.session_state.setdefault("wf_import_round", 0)
        uploaded = st.file_uploader("Import a YAML file (creates new workflows, replaces "
                                    "existing ones of the same name)", type=["yaml", "yml"],
                                    key=f"wf_import_{round_no}")
        if uploaded is not None and st.button("Import workflows", key="wf_import_go",
                                              icon=":material/upload:"):
            try:
                names = wa.import_yaml(db, uploaded.getvalue(), actor=user.username)
            except DocketError as e:
                show_error(e)
            else:
                st.cache_data.clear()
                _forget_widgets()
                st.session_state["wf_import_round"] = round_no + 1
                flash(f"Imported {'workflow' if len(names) == 1 else 'workflows'}: "
                      f"{', '.join(names)}.")
                st.rerun()
