"""An approved customer's new screening hits open a review: a case in the
`ongoing_monitoring` workflow with the customer's entity and UBOs copied, linked to the
original by `origin_case_id`, tagged `screening-alert`, in Manual review with the hits
recorded on it. The approved case itself is final and is not changed (its timeline says a
review was opened). While a review of that customer is still open, later hits go to it
instead of opening another. One unit of work: the review, its hits and the events, or none.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.actions import load_case
from core.cases.status import FINAL_STATUSES
from core.intake.importer import import_cases_in
from core.screening.hits import record_in, refuse_erased
from core.screening.inputs import ENTITY, HitInput
from core.store import audit
from core.store.db import Database
from core.store.models import Case

MONITORING_WORKFLOW = "ongoing_monitoring"
REVIEW_TAG = "screening-alert"


def open_review_of(session: Session, case_id: str) -> Case | None:
    """The newest review opened from `case_id` that is not decided yet."""
    return session.scalars(
        select(Case).where(Case.origin_case_id == case_id,
                           Case.case_status.not_in([s.value for s in FINAL_STATUSES]))
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(1)).first()


def _review_data(case: Case) -> dict[str, Any]:
    """The import (docs/INTAKE.md) of a review of `case`: its entity and UBOs as they are."""
    e = case.entity
    entity = {"type": e.kind, "name": e.name, "country": e.country}
    entity.update({k: v for k, v in (("email", e.email), ("phone", e.phone),
                                     ("registration_number", e.registration_number)) if v})
    ubos = []
    for u in sorted(case.ubos, key=lambda u: u.id):
        ubo = {"full_name": u.full_name}
        ubo.update({k: v for k, v in (("date_of_birth", u.date_of_birth),
                                      ("nationality", u.nationality),
                                      ("ownership_percent", u.ownership_percent))
                    if v not in (None, "")})
        ubos.append(ubo)
    return {"cases": [{"workflow": MONITORING_WORKFLOW, "entity": entity,
                       "collection_completed": True, "tags": [REVIEW_TAG],
                       "user_data": {"Opened by": "built-in screening: new hits after the "
                                                  "customer was approved",
                                     "Original case": case.id},
                       "ubos": ubos}]}


def _subject_map(case: Case, review: Case) -> dict[str, str]:
    """The original's subject keys to the review's: the entity, and each UBO by name and
    birth date (the review copied them)."""
    mapping = {ENTITY: ENTITY}
    theirs: dict[tuple[str, str], list[int]] = {}
    for u in sorted(review.ubos, key=lambda u: u.id):
        theirs.setdefault((u.full_name, u.date_of_birth or ""), []).append(u.id)
    for u in sorted(case.ubos, key=lambda u: u.id):
        ids = theirs.get((u.full_name, u.date_of_birth or ""))
        if ids:
            mapping[f"ubo:{u.id}"] = f"ubo:{ids.pop(0)}"
    return mapping


def record_on_review(db: Database, case_id: str,
                     found: dict[tuple[str, str], dict[str, HitInput]], *,
                     actor: str) -> tuple[str, bool]:
    """Records `found` (the approved case's hits per (subject, source)) on its open review,
    opening one first if there is none; returns the review's id and whether it is new."""
    with db.unit_of_work() as session:
        require_permission(session, actor, Permission.IMPORT_CASES)
        case = load_case(session, case_id, for_update=True)  # one review at a time per customer
        refuse_erased(case)  # erased since the screener read it: no review, nothing written
        review = open_review_of(session, case_id)
        opened = review is None
        if opened:
            [review_id] = import_cases_in(session, _review_data(case), actor=actor)
            review = load_case(session, review_id, for_update=True)
            review.origin_case_id = case.id
            audit.record(session, case_id=case.id, actor=actor,
                         kind="screening.review_opened", after={"review_case": review_id})
        mapping = _subject_map(case, review)
        for (key, source), hits in found.items():
            if key in mapping:
                record_in(session, review, mapping[key], source, list(hits.values()), actor)
        return review.id, opened
