"""Outside events (collection, processes, KYC results, document uploads) reported over HTTP."""
from __future__ import annotations

import base64
import binascii
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Db, Events, acting
from api.problems import PROBLEM_RESPONSES
from core.cases.read import case_detail
from core.errors import InvalidInput
from core.intake.events import EVENTS, report_event

router = APIRouter(tags=["events"], responses=PROBLEM_RESPONSES)

EventName = Literal[tuple(EVENTS)]  # type: ignore[valid-type]


class EventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is named, not ignored

    event: EventName
    name: str | None = Field(None, max_length=64, description="process_*: the process")
    detail: str | None = Field(None, max_length=10_000, description="process_*: free text")
    ubo_id: int | None = Field(None, description="kyc_*: the UBO's id")
    result: dict[str, Any] | None = Field(None, description="kyc_completed: the vendor result")
    document_id: int | None = Field(None, description="document_uploaded: the document block")
    filename: str | None = Field(None, max_length=255, description="document_uploaded")
    content_base64: str | None = Field(None, description="document_uploaded: the file")


class EventResult(BaseModel):
    case_id: str
    event: str
    status: str
    version: int


@router.post("/cases/{case_id}/events", response_model=EventResult,
             summary="Report an outside event on a case")
def post_event(case_id: str, body: EventRequest, p: Events, db: Db) -> EventResult:
    params = body.model_dump(exclude_none=True, exclude={"event", "content_base64"})
    if body.content_base64 is not None:
        try:
            params["content"] = base64.b64decode(body.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the request is not valid",
                               ["content_base64: is not valid base64"]) from None
    with acting(p):
        report_event(db, case_id, body.event, reporter=p.username, **params)
    after = case_detail(db, case_id, with_timeline=False)
    return EventResult(case_id=case_id, event=body.event, status=after.status,
                       version=after.version)
