"""The risk model simulator: before a changed model is saved, how it would move the levels of
the workflow's existing cases (counts per band before and after, and which way cases move).

Why it exists: a new weight or band can quietly turn a third of the book "high" and with it
four-eyes and SLA rules (docs/RISK.md). The draft is scored over the cases' stored risk
inputs (`cases.risk_factors`, the facts their current score came from) in Python: no case is
re-read and nothing is written. At most SAMPLE cases are looked at — the workflow's newest —
and the answer says whether that was all of them.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from core.access.actors import require_permission
from core.access.roles import Permission
from core.store.db import Database
from core.store.models import Case
from core.workflows.risk_model import LEVELS, normalized_risk_model, scorer

SAMPLE = 5_000
NOT_SCORED = "not scored"


@dataclass(frozen=True)
class Simulation:
    workflow: str
    looked_at: int          # cases scored under the draft (the newest, at most `sample`)
    total: int              # the workflow's cases
    sample: int
    before: dict[str, int]  # level -> cases, as stored now (NOT_SCORED: never scored)
    after: dict[str, int]   # level -> cases under the draft
    moves: dict[tuple[str, str], int] = field(default_factory=dict)  # (from, to) -> cases

    @property
    def sampled(self) -> bool:
        return self.looked_at < self.total

    def described(self) -> str:
        """Which cases the counts are of, for the page."""
        if not self.sampled:
            return f"all {self.total:,} case{'' if self.total == 1 else 's'} of the workflow"
        return (f"the newest {self.looked_at:,} of the workflow's {self.total:,} cases (a "
                "sample: the counts of the rest are not shown)")


def simulate_model(db: Database, workflow: str, draft: dict[str, Any], *, actor: str,
                   sample: int = SAMPLE) -> Simulation:
    """How `draft` (a checked model) would move the levels of `workflow`'s newest `sample`
    cases; for those who may manage workflows."""
    scored = scorer(normalized_risk_model(draft))
    with db.read() as s:
        require_permission(s, actor, Permission.MANAGE_WORKFLOWS)
        total = int(s.scalar(select(func.count()).select_from(Case)
                             .where(Case.workflow == workflow)) or 0)
        rows = s.execute(select(Case.risk_level, Case.risk_factors)
                         .where(Case.workflow == workflow)
                         .order_by(Case.created_at.desc(), Case.id.desc()).limit(sample)).all()
    moves: Counter[tuple[str, str]] = Counter()
    for level, stored in rows:
        if level is None or not isinstance(stored, dict):
            moves[(NOT_SCORED, NOT_SCORED)] += 1
            continue
        moves[(level, scored(stored.get("inputs") or {}).level)] += 1
    before, after = Counter(), Counter()
    for (old, new), n in moves.items():
        before[old] += n
        after[new] += n
    order = [*LEVELS, NOT_SCORED]
    return Simulation(workflow, len(rows), total, sample,
                      {k: before.get(k, 0) for k in order if k in LEVELS or before.get(k)},
                      {k: after.get(k, 0) for k in order if k in LEVELS or after.get(k)},
                      {m: n for m, n in sorted(moves.items(), key=lambda x: -x[1])
                       if m[0] != m[1]})
