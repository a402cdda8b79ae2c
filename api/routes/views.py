"""The sidebar's views with their case counts (from the same counters)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import Db, Reader
from api.problems import PROBLEM_RESPONSES
from core.worklist.query import counts_by_view
from core.worklist.views import list_views

router = APIRouter(tags=["views"], responses=PROBLEM_RESPONSES)


class ViewOut(BaseModel):
    id: int
    name: str
    position: int
    workflows: list[str]
    predicates: list[dict[str, Any]]
    statuses: list[str]
    cases: int


@router.get("/views", response_model=list[ViewOut], summary="Views with their case counts")
def get_views(p: Reader, db: Db) -> list[ViewOut]:
    views = list_views(db)
    counts = counts_by_view(db, views)
    return [ViewOut(id=v.id, name=v.name, position=v.position, workflows=list(v.workflows),
                    predicates=list(v.predicates), statuses=list(v.statuses),
                    cases=counts.get(v.id, 0)) for v in views]
