"""A workflow's cases scored again under its risk model from their stored risk inputs, after
the model is saved; and the simulator's "how would levels move" (core/workflows/
risk_simulation.py reads the same inputs).

Why it exists: a model change touches every case's factors. Each case stores the inputs its
score came from (`cases.risk_factors`, written by `core/cases/risk.py`), so scoring again is
pure Python over one column, no case re-read. It runs after the save commits, BATCH cases per
short transaction (each batch's rows locked on PostgreSQL, SQLite's one writer elsewhere), so
reviewers' commands never wait for the whole workflow; each batch reads the model stored at
that moment (a second save meanwhile wins). A command on a case meanwhile scores it with the
saved model anyway. A case whose risk was never computed (risk_factors null) is left as it
is (`core.cases.risk.recompute_risk` scores those).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core.store.db import Database
from core.store.models import Case
from core.workflows.definitions import definition_of
from core.workflows.risk_model import RiskScore, model_of, scorer

BATCH = 5_000
CASES = Case.__table__
WRITE = (CASES.update().where(CASES.c.id == bindparam("b_id"))
         .values(risk_points=bindparam("b_points"), risk_level=bindparam("b_level"),
                 risk_factors=bindparam("b_factors")))


def stored_risk(result: RiskScore, inputs: dict[str, Any]) -> dict[str, Any]:
    """What `cases.risk_factors` holds: the inputs scored and [factor, points, sentence] of
    each factor that added points (the most first)."""
    return {"inputs": inputs, "factors": [[k, p, text] for k, p, text in result.factors]}


def rescore_batch(session: Session, workflow: str, after: str,
                  model: dict[str, Any] | None = None) -> tuple[int, str | None]:
    """Scores the next BATCH cases of `workflow` after id `after` that have stored inputs,
    under `model` (None: the one stored now), writing the ones that moved; returns (how many
    moved, the last id read, None when there were none)."""
    if model is None:
        model = model_of(definition_of(session, workflow), workflow)
    stmt = (select(CASES.c.id, CASES.c.risk_points, CASES.c.risk_level, CASES.c.risk_factors)
            .where(CASES.c.workflow == workflow, CASES.c.id > after,
                   CASES.c.risk_factors.is_not(None))
            .order_by(CASES.c.id).limit(BATCH))
    if session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    rows = session.execute(stmt).all()
    if not rows:
        return 0, None
    scored, writes = scorer(model), []
    for case_id, points, level, stored in rows:
        inputs = (stored or {}).get("inputs") or {}
        result = scored(inputs)
        new = stored_risk(result, inputs)
        if (result.points, result.level, new) != (points, level, stored):
            writes.append({"b_id": case_id, "b_points": result.points,
                           "b_level": result.level, "b_factors": new})
    if writes:
        session.execute(WRITE, writes)
    return len(writes), rows[-1][0]


def rescore_cases(db: Database, workflow: str) -> int:
    """Scores every case of `workflow` again under its stored model, one short transaction per
    BATCH cases; returns how many moved."""
    changed, after = 0, ""
    while True:
        with db.unit_of_work() as session:
            moved, last = rescore_batch(session, workflow, after)
        if last is None:
            return changed
        changed, after = changed + moved, last
