"""Cases: the list with the sidebar's filters, one case as a viewer sees it, and intake."""
from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, Field

from api.deps import Db, Intake, Reader, acting, utc
from api.problems import PROBLEM_RESPONSES
from core.cases.read import CaseDetail, case_detail
from core.errors import InvalidInput, NotFound
from core.intake.importer import MAX_PUSH_CASES, push_cases
from core.records.access_log import case_viewed, search_key, search_performed
from core.worklist.cursors import encode_cursor, list_cases_after
from core.worklist.query import SORT_COLUMNS, CaseFilter, CaseRow, list_cases
from core.worklist.views import find_view

router = APIRouter(tags=["cases"], responses=PROBLEM_RESPONSES)


class CaseList(BaseModel):
    cases: list[CaseRow]
    total: int
    page: int | None = Field(description="the page number; null when the request gave a cursor")
    page_size: int
    pages: int
    next_cursor: str | None = Field(
        description="pass as `cursor` (same filters, sort and order) for the rows after this "
                    "page; null after the last row")


class PushedCases(BaseModel):
    created: list[str]
    existing: list[str]


@router.get("/cases", response_model=CaseList, summary="The case list, filtered and paged")
def get_cases(p: Reader, db: Db,
              view: str | None = Query(None, description="a view's id or name"),
              status: list[str] = Query([], description="case statuses (repeatable)"),
              workflow: list[str] = Query([], description="workflows (repeatable)"),
              tag: list[str] = Query([], description="tags (repeatable): cases carrying "
                                                     "every one of them"),
              search: str = Query("", max_length=200, description="full-text search"),
              assignee: Literal["anyone", "me", "unassigned", "someone"] = "anyone",
              created_from: date | None = None, created_to: date | None = None,
              overdue: bool = Query(False, description="only cases past their due time "
                                                       "(the workflow's SLA)"),
              open_hits: Literal["open", "none"] | None = Query(
                  None, description="open: only cases with screening hits needing work; "
                                    "none: only cases without"),
              risk_level: list[Literal["low", "medium", "high"]] = Query(
                  [], description="risk levels (repeatable): cases at any of them (the "
                                  "explained risk score, docs/RISK.md)"),
              sort: Literal[tuple(SORT_COLUMNS)] = "created_at",  # type: ignore[valid-type]
              order: Literal["asc", "desc"] = "desc",
              page: int = Query(1, ge=1, le=1_000_000),
              page_size: int = Query(50, ge=1, le=500),
              cursor: str | None = Query(None, max_length=1000,
                                         description="`next_cursor` of the previous answer: "
                                                     "the rows after it (then `page` is "
                                                     "ignored)")) -> CaseList:
    try:
        chosen = find_view(db, view) if view else None
    except NotFound as e:
        raise InvalidInput("the request is not valid", [f"view: {e}"]) from None
    flt = CaseFilter(view=chosen, statuses=tuple(status), workflows=tuple(workflow),
                     tags=tuple(tag), search=search, assignee=assignee, me=p.username,
                     created_from=created_from, created_to=created_to, overdue=overdue,
                     open_hits=open_hits, risk_levels=tuple(risk_level))
    descending = order == "desc"
    with acting(p):  # the access log: the query as a keyed hash, once per query and 15 minutes
        search_performed(db, search, actor=p.username, key=search_key(), where="api")
    if cursor is not None:
        after = list_cases_after(db, flt, sort=sort, descending=descending, cursor=cursor,
                                 page_size=page_size)
        return CaseList(cases=utc(after.rows), total=after.total, page=None,
                        page_size=page_size, pages=max(1, -(-after.total // page_size)),
                        next_cursor=after.next_cursor)
    result = list_cases(db, flt, sort=sort, descending=descending, page=page,
                        page_size=page_size)
    more = result.page < result.pages and result.rows
    return CaseList(cases=utc(result.rows), total=result.total, page=result.page,
                    page_size=result.page_size, pages=result.pages,
                    next_cursor=encode_cursor(sort, descending, result.rows[-1]) if more else None)


@router.get("/cases/{case_id}", response_model=CaseDetail,
            summary="One case: status, blocks, and which actions the key's user may take")
def get_case(case_id: str, p: Reader, db: Db) -> dict[str, Any]:
    detail = case_detail(db, case_id, viewer=p.username)
    with acting(p):  # the access log: once per key's user, case and 15 minutes
        case_viewed(db, case_id, actor=p.username)
    return utc(detail)


@router.post("/cases", response_model=PushedCases, status_code=200,
             summary=f"Push one case or a batch of up to {MAX_PUSH_CASES:,}")
def post_cases(p: Intake, db: Db, body: dict[str, Any] = Body(
        ..., description="One case object, or {\"cases\": [...]} — the JSON import format "
                         "of docs/INTAKE.md. A case whose id exists already is not written "
                         "again (listed under `existing`), so a retry is safe.")) -> PushedCases:
    with acting(p):
        result = push_cases(db, body, actor=p.username)
    return PushedCases(created=result.created, existing=result.existing)
