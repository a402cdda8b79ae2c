"""The workflows page's risk model editor: the model as YAML in a text box (one factor per
line), what each factor kind reads, the problems of what was typed, and — before saving — how
the typed model would move the levels of the workflow's cases (the simulator). Every rule is
in `core.workflows.risk_model` and `core.workflows.risk_simulation` (docs/RISK.md)."""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from core.access.users import UserInfo
from core.errors import DocketError
from core.store.db import Database
from core.workflows.risk_model import (
    FACTORS,
    describe_risk_model,
    normalized_risk_model,
    risk_model_from_yaml,
    risk_model_yaml,
    validate_risk_model,
)
from core.workflows.risk_simulation import Simulation, simulate_model
from ui.admin import show_error
from ui.text import esc


def risk_model_input(db: Database, user: UserInfo, name: str, current: dict[str, Any],
                     k: str) -> tuple[Any, list[str]]:
    """(the model as typed, the problems of reading the text); text that is not YAML keeps the
    stored model and says why. The model's own problems come from `validate_definition`."""
    with st.expander(f"Risk model — {describe_risk_model(current)}"):
        st.caption("Each factor adds its points when its condition holds; the total makes the "
                   "case low, medium (from `bands.medium`) or high (from `bands.high`). "
                   "Saving scores every case of the workflow again. See docs/RISK.md.")
        text = st.text_area("Risk model (YAML)", value=risk_model_yaml(current),
                            key=f"wf_e_risk{k}", height=320)
        model, problems = risk_model_from_yaml(text)
        if not problems and not validate_risk_model(model) and \
                normalized_risk_model(model) != current:
            _simulation(db, user, name, model)
        st.dataframe(pd.DataFrame({"factor": list(FACTORS),
                                   "takes": [", ".join(("points", *f.params))
                                             for f in FACTORS.values()],
                                   "adds points when": [f.says for f in FACTORS.values()]}),
                     hide_index=True, key=f"wf_e_risk_kinds{k}")
    return (current, problems) if problems else (model, [])


def _simulation(db: Database, user: UserInfo, name: str, model: dict[str, Any]) -> None:
    """How the typed model would move the levels, before it is saved."""
    try:
        sim = simulate_model(db, name, model, actor=user.username)
    except DocketError as e:
        show_error(e)
        return
    st.markdown("**If saved** — cases per level, now and with this model")
    st.caption(f"Counted over {esc(sim.described())}.")
    st.dataframe(simulation_frame(sim), hide_index=True, key=f"wf_e_risk_sim__{name}")
    if sim.moves:
        st.caption("Moves: " + "; ".join(f"{n:,} {old} → {new}"
                                         for (old, new), n in list(sim.moves.items())[:6]))


def simulation_frame(sim: Simulation) -> pd.DataFrame:
    levels = list(dict.fromkeys([*sim.before, *sim.after]))
    return pd.DataFrame({"level": levels,
                         "now": [sim.before.get(v, 0) for v in levels],
                         "with this model": [sim.after.get(v, 0) for v in levels],
                         "change": [f"{sim.after.get(v, 0) - sim.before.get(v, 0):+,}"
                                    for v in levels]})
