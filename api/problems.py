"""Errors as RFC 9457 problems (`application/problem+json`): a status, a clear `detail`, and
per-field `errors` where the input was at fault. Every refusal from `core` maps to one; an
unexpected failure is a 500 problem without a traceback (logged on the server)."""
from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import (
    ActionNotAllowed,
    CaseChanged,
    DocketError,
    InvalidInput,
    NotAllowed,
    NotFound,
    Unauthenticated,
)

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("docket.api")

TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          405: "Method not allowed", 409: "Conflict", 413: "Content too large",
          415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal server error"}


class FieldError(BaseModel):
    field: str
    reason: str
    index: int | None = None  # the case's index in a batch, when the field is inside one


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []
    current_version: int | None = None  # 409 on a stale expected_version


# OpenAPI: what every operation may answer besides its success.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": TITLES[status],
             "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for status in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}

_FIELD_PROBLEM = re.compile(r"^(?P<field>[\w.\[\]-]+): (?P<reason>.+)$", re.S)
_INDEX = re.compile(r"^cases\[(\d+)\]")


def field_errors(problems: list[str]) -> list[FieldError]:
    """core's "cases[2].entity.email: not an email address" lines as field errors."""
    out = []
    for text in problems:
        m = _FIELD_PROBLEM.match(text)
        field, reason = (m["field"], m["reason"]) if m else ("", text)
        index = _INDEX.match(field)
        out.append(FieldError(field=field, reason=reason,
                              index=int(index.group(1)) if index else None))
    return out


def problem(status: int, detail: str, *, errors: list[FieldError] | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = Problem(title=TITLES.get(status, "Error"), status=status, detail=detail,
                   errors=errors or [], **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=PROBLEM_JSON, headers=headers)


def from_core(exc: DocketError) -> JSONResponse:
    if isinstance(exc, Unauthenticated):
        return problem(401, str(exc), headers={"WWW-Authenticate": "Bearer"})
    if isinstance(exc, NotAllowed):
        return problem(403, str(exc))
    if isinstance(exc, NotFound):
        return problem(404, str(exc))
    if isinstance(exc, CaseChanged):
        return problem(409, str(exc), current_version=exc.actual)
    if isinstance(exc, ActionNotAllowed):
        return problem(409, str(exc))
    if isinstance(exc, InvalidInput):
        first = str(exc).splitlines()[0]
        return problem(422, first, errors=field_errors(exc.problems))
    return problem(400, str(exc))


def _validation(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        errors.append(FieldError(field=".".join(loc) or e.get("type", ""), reason=e.get("msg", "")))
    return problem(422, "the request is not valid; see errors", errors=errors)


def install(app: FastAPI) -> None:
    @app.exception_handler(DocketError)
    async def _core(request: Request, exc: DocketError):
        return from_core(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return _validation(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("API %s %s failed", request.method, request.url.path)
        return problem(500, "the server failed to answer this request; it has been logged")
