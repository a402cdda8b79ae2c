"""`Idempotency-Key` on every POST, for every route, current and future, without the route
knowing: a pure ASGI middleware around the API.

A POST with the header and a valid API key is claimed in `core.access.idempotency` before
the route runs; its answer is held until it is stored (so a client that saw an answer will
get the same one on a retry), then sent. A retry with the same key and body gets the stored
answer with `Idempotent-Replayed: true` and runs nothing; the same key with another body is a
422; a retry while the first is still running is a 409 with `Retry-After: 1`. A request
without the header, or without a valid API key (the route answers 401), passes through
untouched. See docs/API.md, "Retries and limits".
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import anyio
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import deps
from api.problems import from_core, problem
from core import config
from core.access import idempotency
from core.access.api_keys import ApiPrincipal, authenticate
from core.errors import DocketError, Unauthenticated
from core.store.db import Database

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# Not kept with an answer: the server sets them again on each response.
NOT_STORED = {"content-length", "date", "server", "connection", "transfer-encoding",
              "keep-alive"}
HEADER_PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": "Makes a retry safe: the same key with the same body within 24 h gets the "
                   "first answer back (`Idempotent-Replayed: true`) and changes nothing; with "
                   "another body it is refused (422); while the first is still running, 409."}
log = logging.getLogger("docket.api")


def _header(scope: Scope, name: bytes) -> list[bytes]:
    return [value for key, value in scope["headers"] if key == name]


def _principal(db: Database, scope: Scope) -> ApiPrincipal | None:
    """The key's principal, or None: the route itself then answers 401 as usual."""
    auth = _header(scope, b"authorization")
    scheme, _, token = (auth[0].decode("latin-1") if len(auth) == 1 else "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    try:
        return authenticate(db, token.strip())
    except Unauthenticated:
        return None


def _key(values: list[bytes]) -> str | None:
    if len(values) != 1:
        return None
    try:
        key = values[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    return key if idempotency.is_valid_key(key) else None


def most_bytes() -> int:
    """The largest body held to hash: above anything a route accepts (a JSON import, a
    50 MB upload), so only a body every route would refuse anyway is refused here."""
    return max(64 * 1024 * 1024, config.max_import_bytes() + 1024 * 1024)


class _TooLarge(Exception):
    pass


async def _body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole request body, or None if the client left before sending it. _TooLarge past
    `most_bytes()` (at once when Content-Length says so)."""
    most = most_bytes()
    declared = _header(scope, b"content-length")
    if declared and declared[0].isdigit() and int(declared[0]) > most:
        raise _TooLarge
    chunks, seen = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        seen += len(chunks[-1])
        if seen > most:
            raise _TooLarge
        if not message.get("more_body", False):
            return b"".join(chunks)


def fingerprint(scope: Scope, body: bytes) -> str:
    """The request's hash: its body and query string. A multipart body is hashed without its
    boundary (random per request in most clients), so a rebuilt retry still matches."""
    content_type = b"".join(_header(scope, b"content-type")).decode("latin-1")
    media, _, params = content_type.partition(";")
    if media.strip().lower().startswith("multipart/"):
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.lower() == "boundary" and value.strip('"'):
                body = body.replace(b"--" + value.strip('"').encode("latin-1"), b"--")
    return idempotency.request_hash(body, scope.get("query_string", b""))


def _answer(messages: list[Message]) -> idempotency.Answer | None:
    """The held response as an Answer to store, or None when it cannot be (no complete
    response, or a body that is not UTF-8 text)."""
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None or messages[-1].get("more_body", False):
        return None
    try:
        body = b"".join(m.get("body", b"") for m in messages
                        if m["type"] == "http.response.body").decode("utf-8")
    except UnicodeDecodeError:
        return None
    headers: dict[str, str] = {}
    for name, value in start.get("headers", []):
        name = name.decode("latin-1").lower()
        if name not in NOT_STORED:
            value = value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return idempotency.Answer(start["status"], body, headers)


def replay(answer: idempotency.Answer) -> Response:
    return Response(answer.body.encode("utf-8"), status_code=answer.status,
                    headers={**answer.headers, REPLAYED: "true"})


class IdempotencyMiddleware:
    """Wraps the API app; `database` gives the Database (the server's, by default)."""

    def __init__(self, app: ASGIApp, database: Callable[[], Database] = deps.database):
        self.app, self.database = app, database

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        values = _header(scope, HEADER.lower().encode()) if scope["type"] == "http" else []
        if not values or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        db = await run_in_threadpool(self.database)
        who = await run_in_threadpool(_principal, db, scope)
        if who is None:
            return await self.app(scope, receive, send)
        key = _key(values)
        if key is None:
            answer = problem(400, f"send one {HEADER} header of 1 to "
                                  f"{idempotency.MAX_KEY_LENGTH} printable ASCII characters")
            return await answer(scope, receive, send)
        try:
            body = await _body(scope, receive)
        except _TooLarge:
            answer = problem(413, f"a request with an {HEADER} is at most {most_bytes():,} "
                                  "bytes; nothing was done")
            return await answer(scope, receive, send)
        if body is None:
            return None
        digest = fingerprint(scope, body)
        try:
            begun = await run_in_threadpool(
                lambda: idempotency.begin(db, api_key_id=who.key_id, key=key, method="POST",
                                          path=scope["path"], body_hash=digest))
        except idempotency.StillInProgress as e:
            return await problem(409, str(e), headers={"Retry-After": "1"})(scope, receive, send)
        except DocketError as e:
            return await from_core(e)(scope, receive, send)
        if isinstance(begun, idempotency.Answer):
            return await replay(begun)(scope, receive, send)
        await self._answer(scope, _replaying(body, receive), send, db, begun)

    async def _answer(self, scope: Scope, receive: Receive, send: Send, db: Database,
                      claim: idempotency.Claim) -> None:
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        try:
            await self.app(scope, receive, hold)
        except BaseException:
            with anyio.CancelScope(shield=True):  # forget the claim even when cancelled
                await run_in_threadpool(idempotency.settle, db, claim, None)
            raise
        try:
            await run_in_threadpool(idempotency.settle, db, claim, _answer(held))
        except Exception:  # noqa: BLE001 - the answer still goes out; the claim goes stale
            log.exception("could not store the answer for an Idempotency-Key")
        for message in held:
            await send(message)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """The body read already, then the client's own messages (a disconnect)."""
    given = [False]

    async def again() -> Message:
        if not given[0]:
            given[0] = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()
    return again


def install(app: FastAPI) -> None:
    """The middleware, and the header on every POST operation of the OpenAPI document."""
    app.add_middleware(IdempotencyMiddleware)
    build = app.openapi

    def openapi() -> dict[str, Any]:
        fresh = app.openapi_schema is None
        schema = build()
        if fresh:
            for operations in schema.get("paths", {}).values():
                if "post" in operations:
                    operations["post"].setdefault("parameters", []).append(dict(HEADER_PARAMETER))
        return schema
    app.openapi = openapi  # type: ignore[method-assign]
