"""The risk model simulator (core/workflows/risk_simulation.py): a draft model's levels for
the workflow's cases beside the stored ones, over the newest cases only when there are more
than the sample, nothing written, admins only. Runs on SQLite and on PostgreSQL
(DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.errors import NotAllowed
from core.store.models import Case, utcnow
from core.workflows.risk_simulation import NOT_SCORED, simulate_model
from tests.factories import make_case, row_counts

STRICT = {"bands": {"medium": 10, "high": 30},
          "factors": [{"factor": "country", "points": 40, "list": "our list",
                       "countries": ["IR"]},
                      {"factor": "industry", "points": 15, "industries": ["Software"]}]}


def _cases(db):
    make_case(db, "IR-1", country="IR", user_data={"industry": "Software"})   # medium (40)
    make_case(db, "IR-2", country="IR", user_data={"industry": "Gambling"})   # high (65)
    make_case(db, "GB-1", country="GB", user_data={"industry": "Software"})   # low (0)
    make_case(db, "GB-2", country="GB", user_data={"industry": "Trading"})    # low (0)
    make_case(db, "MON-1", country="IR", workflow="ongoing_monitoring")


def test_counts_per_level_now_and_with_the_draft(db):
    _cases(db)
    before = row_counts(db)
    sim = simulate_model(db, "onboarding", STRICT, actor="admin")
    assert (sim.looked_at, sim.total, sim.sampled) == (4, 4, False)
    assert sim.before == {"low": 2, "medium": 1, "high": 1}
    assert sim.after == {"low": 1, "medium": 1, "high": 2}  # GB-1 +15; IR-1 +55 -> high
    assert sim.moves == {("low", "medium"): 1, ("medium", "high"): 1}
    assert sim.described() == "all 4 cases of the workflow"
    assert row_counts(db) == before   # nothing written


def test_only_the_newest_cases_are_looked_at_past_the_sample(db):
    _cases(db)
    with db.unit_of_work() as s:  # IR-2 and GB-2 the newest
        for i, case_id in enumerate(("IR-1", "GB-1", "IR-2", "GB-2")):
            s.execute(update(Case.__table__).where(Case.id == case_id)
                      .values(created_at=utcnow() + timedelta(minutes=i)))
    sim = simulate_model(db, "onboarding", STRICT, actor="admin", sample=2)
    assert (sim.looked_at, sim.total, sim.sampled) == (2, 4, True)
    assert sim.before == {"low": 1, "medium": 0, "high": 1}
    assert sim.described() == ("the newest 2 of the workflow's 4 cases (a sample: the counts "
                               "of the rest are not shown)")


def test_cases_never_scored_are_counted_apart(db):
    _cases(db)
    with db.unit_of_work() as s:
        s.execute(update(Case.__table__).where(Case.id == "GB-2")
                  .values(risk_points=0, risk_level=None, risk_factors=None))
    sim = simulate_model(db, "onboarding", STRICT, actor="admin")
    assert sim.before[NOT_SCORED] == sim.after[NOT_SCORED] == 1
    assert sim.before["low"] == 1


def test_only_who_manages_workflows_may_simulate(db):
    with pytest.raises(NotAllowed):
        simulate_model(db, "onboarding", STRICT, actor="analyst")
