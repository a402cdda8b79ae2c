"""The simulator page's widgets: a new case from a template, the case picker, the case's
status with the case actions the rules offer now, its blocks, and one button per thing the
outside world can do next. Every step is a `core.demo.simulator` call (role and switch checked
there), which goes through the intake events."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlalchemy import select

from core.access.users import UserInfo
from core.cases.read import case_detail
from core.demo import simulator
from core.errors import DocketError, NotFound
from core.store.db import Database
from core.store.models import Workflow
from core.workflows.definitions import definition_of
from ui.admin import flash, show_error
from ui.case_list import refresh_counts
from ui.text import esc, when

CASE_KEY = "sim_case"
NEXT_CASE_KEY = "sim_next_case"
# A metric's value is cut with an ellipsis when its column is too narrow: the simulated
# case's status wraps instead (Streamlit's own rules for printing a metric, on screen).
STATUS_WRAPS = """<style>
.st-key-sim_status [data-testid="stMetricValue"],
.st-key-sim_status [data-testid="stMetricValue"] * {
  overflow: visible; text-overflow: clip; white-space: normal; overflow-wrap: break-word;
}
</style>"""


def _workflows(db: Database) -> dict[str, dict]:
    with db.read() as s:
        names = list(s.scalars(select(Workflow.name).order_by(Workflow.name)))
        return {n: definition_of(s, n) for n in names}


def new_case_form(db: Database, user: UserInfo) -> None:
    workflows = _workflows(db)
    with st.container(border=True):
        st.markdown("**New case from a template**")
        kind = st.radio("Template", list(simulator.TEMPLATES), key="sim_kind", horizontal=True,
                        format_func=simulator.TEMPLATES.get)
        workflow = st.selectbox("Workflow", list(workflows), key="sim_workflow")
        types = workflows.get(workflow, {}).get("document_types", {})
        # one widget per template and workflow: switching the template starts from its own
        # documents (a person's passport, never a company's certificate)
        documents = st.multiselect("Documents (each gets a generated PNG file)", list(types),
                                   default=list(simulator.default_documents(kind, types)),
                                   key=f"sim_docs_{kind}_{workflow}",
                                   format_func=lambda t: types.get(t, t))
        ubos = st.number_input("UBOs (each with a KYC block)", 0, simulator.MAX_UBOS, 2,
                               key="sim_ubos", disabled=kind != "business")
        processes = st.multiselect("Processes, pending at the start",
                                   list(simulator.DEFAULT_PROCESSES),
                                   default=list(simulator.DEFAULT_PROCESSES), key="sim_processes",
                                   accept_new_options=True)
        if st.button("Create case", type="primary", icon=":material/add_circle:",
                     key="sim_create"):
            template = simulator.CaseTemplate(
                kind=kind, workflow=workflow, ubos=int(ubos) if kind == "business" else 0,
                documents=tuple(documents), processes=tuple(processes))
            try:
                case_id = simulator.create_case(db, template, actor=user.username)
            except DocketError as e:
                show_error(e)
            else:
                refresh_counts()
                st.session_state[NEXT_CASE_KEY] = case_id
                flash(f"Case {case_id} created: it starts in the Collection flow.")
                st.rerun()


def pick_case(db: Database) -> str | None:
    cases = simulator.simulated_cases(db)
    if NEXT_CASE_KEY in st.session_state:
        st.session_state[CASE_KEY] = st.session_state.pop(NEXT_CASE_KEY)
    names = {c[0]: c[1] for c in cases}
    if st.session_state.get(CASE_KEY) not in names:
        st.session_state.pop(CASE_KEY, None)
    if not cases:
        st.info("No simulated case yet: create one from a template.", icon=":material/science:")
        return None
    return st.selectbox("Simulated case", list(names), key=CASE_KEY,
                        format_func=lambda i: f"{i} · {names[i]}")


def case_state(db: Database, user: UserInfo, case_id: str) -> None:
    """Status, the case actions the rules offer now, the blocks and the processes."""
    try:
        detail = case_detail(db, case_id, user.username)
    except NotFound as e:
        show_error(e)
        return
    # The status has the column's whole width (beside the case actions, in a fifth of the
    # page, "Pending ID verification" was cut to "Pending I…" at 1280 pixels), and wraps
    # rather than end in "…" in a column narrower still; the case actions follow under it.
    st.html(STATUS_WRAPS)
    with st.container(key="sim_status"):
        st.metric("Status", detail.status_label)
    st.markdown("**Case actions now**")
    for a in simulator.case_actions_now(db, case_id):
        mark = ":material/check_circle:" if a.allowed else ":material/block:"
        st.markdown(f"{mark} {esc(a.label)}" + ("" if a.allowed else f" — {esc(a.reason)}"))
    st.page_link("pages/cases.py", label="Open this case in Cases (to decide as a reviewer)",
                 icon=":material/open_in_new:", query_params={"case": case_id})
    blocks = [{"Block": f"{d.label}", "Kind": "Document", "Status": d.status_label,
               "Files": len(d.files)} for d in detail.documents]
    for k in detail.kyc_blocks:
        blocks.append({"Block": k.full_name, "Kind": f"KYC ({k.kyc_state.replace('_', ' ')})",
                       "Status": k.status_label, "Files": 0})
        blocks.extend({"Block": f"{d.label} of {k.full_name}", "Kind": "Document",
                       "Status": d.status_label, "Files": len(d.files)} for d in k.documents)
    if blocks:
        st.dataframe(pd.DataFrame(blocks), hide_index=True, width="stretch", key="sim_blocks")
    if detail.processes:
        st.dataframe(pd.DataFrame([{"Process": p["name"], "State": p["state"],
                                    "Detail": p["detail"]} for p in detail.processes]),
                     hide_index=True, width="stretch", key="sim_processes_table")
    world(db, user, detail)
    with st.expander("What happened"):
        st.dataframe(pd.DataFrame([{"When": when(e["at"]), "Who": e["actor"], "Event": e["kind"]}
                                   for e in detail.timeline[:30]]),
                     hide_index=True, width="stretch", key="sim_timeline")


def world(db: Database, user: UserInfo, detail) -> None:
    steps = simulator.world_steps(detail)
    st.markdown("**The outside world**")
    if not steps:
        st.caption("The case is final: nothing more can happen to it.")
        return
    if any(s.kind == "kyc_completed" for s in steps):
        st.selectbox("KYC vendor result", list(simulator.VENDOR_RESULTS), key="sim_vendor",
                     format_func=lambda r: r.replace("_", " "))
    for step in steps:
        key = f"sim_{step.kind}_{step.target or 'case'}"
        label = step.label + (f" (now {step.extra['status']})" if step.extra.get("status") else "")
        if st.button(esc(label), key=key, width="stretch"):
            try:
                status = simulator.play(db, detail.id, step, actor=user.username,
                                        vendor_result=st.session_state.get("sim_vendor", "clear"))
            except DocketError as e:
                show_error(e)
            else:
                refresh_counts()
                flash(f"{step.label}: the case is now {status.label}.")
                st.rerun()
