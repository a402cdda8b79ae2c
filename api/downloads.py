"""The Cases page's CSV download, streamed: `GET /downloads/cases.csv?t=TOKEN`.

A plain Starlette route beside the API (no key, no sign-in cookie: the link's single-use,
10-minute token is the permission; core/worklist/export_links.py). It redeems the token — a
bad, unknown, expired or used one gets a short plain-text answer (400, 404, 410; 403 for a
user who may no longer export) and no file — then streams `export_cases` as it reads the
database: each chunk is encoded and sent as it comes, none kept, so the server's memory stays
flat however many cases the list has. The export is a synchronous iterator; StreamingResponse
runs each step of it in the threadpool, so the event loop keeps serving everyone else.
A reverse proxy in front must not buffer the route (docs/DEPLOY.md).
"""
from __future__ import annotations

from typing import Iterator

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from core import config
from core.errors import DocketError, NotAllowed
from core.store.db import get_database
from core.worklist.export import export_cases, export_filename
from core.worklist.export_links import (
    DOWNLOAD_PATH,
    TOKEN_PARAM,
    InvalidExportLink,
    redeem_export_link,
)

STATUS = {"malformed": 400, "unknown": 404, "expired": 410, "used": 410}
NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"}


def _open_export(token: str) -> Iterator[str]:
    """Redeems the token and starts the export (its checks run now, before any byte is sent;
    the rows are read as the response consumes the chunks)."""
    db = get_database(config.database_url())
    asked = redeem_export_link(db, token)
    return export_cases(db, asked.flt, actor=asked.actor, sort=asked.sort,
                        descending=asked.descending)


def _encoded(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


def _refusal(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status, headers=NO_STORE)


async def cases_csv(request: Request) -> Response:
    if request.method != "GET":  # a HEAD (a link preview, a prefetch) must not use the link
        return Response(status_code=405, headers={"Allow": "GET", **NO_STORE})
    try:
        chunks = await run_in_threadpool(_open_export, request.query_params.get(TOKEN_PARAM, ""))
    except InvalidExportLink as e:
        return _refusal(STATUS[e.reason], str(e))
    except NotAllowed as e:
        return _refusal(403, f"{e}. Ask an admin, then export again.")
    except DocketError as e:  # e.g. a view's rule the list can no longer run
        return _refusal(422, str(e))
    name = export_filename()
    return StreamingResponse(_encoded(chunks), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="{name}"',
                                      **NO_STORE})


ROUTES = [Route(DOWNLOAD_PATH, cases_csv, methods=["GET"])]
