"""Signed callbacks from KYC and registry vendors. No API key: the Standard Webhooks
signature is the authentication (`core.intake.hooks`; docs/API.md, "Vendor callbacks")."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import Db
from api.problems import PROBLEM_RESPONSES, problem
from core.errors import NotFound, Unauthenticated
from core.intake.hooks import MAX_BODY_BYTES, receive
from core.screening.hits import record_hooked_screening

router = APIRouter(tags=["hooks"], responses=PROBLEM_RESPONSES)

SIGNED_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "description": "the vendor's payload, as it signed it"}}}}
HEADERS = [{"name": name, "in": "header", "required": True, "schema": {"type": "string"},
            "description": text} for name, text in (
    ("webhook-id", "the message's id: a replay of a recorded one changes nothing"),
    ("webhook-timestamp", "Unix seconds; refused more than 5 minutes from now"),
    ("webhook-signature", "v1,BASE64(HMAC-SHA256(secret, id.timestamp.body)), "
                          "space-separated if several"))]


class HookResult(BaseModel):
    outcome: Literal["applied", "ignored", "refused"]
    case_id: str | None
    event: str | None
    duplicate: bool
    detail: str


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


async def _body(request: Request) -> bytes | None:
    """The raw body as signed, or None past MAX_BODY_BYTES (at once if Content-Length says)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


@router.post("/hooks/{source}", response_model=HookResult,
             openapi_extra={"requestBody": BODY, "parameters": HEADERS},
             summary="A vendor's signed callback (Standard Webhooks), mapped to a case event "
                     "or to screening hits")
async def post_hook(source: str, request: Request, db: Db):
    if not _is_json(request.headers.get("content-type", "")):
        return problem(415, "a callback's body is JSON (Content-Type: application/json)")
    body = await _body(request)
    if body is None:
        return problem(413, f"a callback's body is at most {MAX_BODY_BYTES:,} bytes")
    headers = {name: request.headers[name] for name in SIGNED_HEADERS if name in request.headers}
    try:
        result = await run_in_threadpool(receive, db, source, headers, body,
                                         screening=record_hooked_screening)
    except Unauthenticated as e:
        return problem(401, str(e))
    except NotFound as e:  # a case or UBO the payload names: the callback is unprocessable
        return problem(422, str(e))
    return HookResult(**result.__dict__)

