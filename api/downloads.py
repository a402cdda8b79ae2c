"""The Cases page's CSV download, streamed: `GET /downloads/cases.csv?t=TOKEN`.

A plain Starlette route beside the API (no key, no sign-in cookie: the link's single-use,
10-minute token is the permission; core/worklist/export_links.py). It redeems the token — a
bad, unknown, expired or used one gets a short plain-text answer (400, 404, 410; 403 for a
user who may no longer export) and no file — then streams `export_cases` as it reads the
database: each chunk is encoded and sent as it comes, none kept, so the server's memory stays
flat however many cases the list has. The export is a synchronous iterator; StreamingResponse
runs each step of it in the threadpool, so the event loop keeps serving everyone else.
A reverse proxy in front must not buffer the route (docs/DEPLOY.md).

Compression: when the request accepts gzip (every browser does), the route compresses the
stream itself, in the same threadpool step, and says so in `Content-Encoding`. The deflate is
ISA-L's (the `isal` package, `isal_zlib` at its level 1) when installed — a standard gzip
stream, made in about a third of the CPU of zlib's fastest level and a little smaller
(docs/PERFORMANCE.md, "Export streamed") — else the standard library's zlib at level 1.
The server's gzip middleware (Streamlit's, Starlette's GZipMiddleware at level 5) passes a
response that already has a `Content-Encoding` through untouched. Left to the middleware,
each 64 KB chunk was compressed at level 5 on the event loop itself (it moves only chunks
of 128 KiB or more to a thread): at 1M cases about 8 s more CPU than zlib's level 1, for a
file of 48 MB instead of 60 MB (docs/PERFORMANCE.md, "Export streamed").
"""
from __future__ import annotations

import zlib
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


def _fast_deflate():
    """ISA-L's zlib-compatible module when the `isal` package is installed, else zlib."""
    try:
        from isal import isal_zlib
    except ImportError:
        return zlib
    return isal_zlib


DEFLATE = _fast_deflate()
# ISA-L's level 1 (of 0–3), zlib's fastest (1): the CSV shrinks about 3.5-fold either way.
GZIP_LEVEL = 1
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


def _gzipped(chunks: Iterator[str], deflate=None) -> Iterator[bytes]:
    """The chunks encoded and gzip-compressed as they come (a gzip member, RFC 1952), by
    `deflate` (a zlib-like module; DEFLATE by default)."""
    deflate = deflate or DEFLATE
    compressor = deflate.compressobj(GZIP_LEVEL, deflate.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        data = compressor.compress(chunk.encode("utf-8"))
        if data:
            yield data
    yield compressor.flush()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an `Accept-Encoding` header allows gzip (RFC 9110 12.5.3: `gzip`, `x-gzip` or
    `*` with a q-value above 0; an explicit gzip entry wins over `*`)."""
    quality = {}
    for part in accept_encoding.lower().split(","):
        name, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        quality[name] = q
    for name in ("gzip", "x-gzip", "*"):
        if name in quality:
            return quality[name] > 0
    return False


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
    headers = {"Content-Disposition": f'attachment; filename="{export_filename()}"',
               "Vary": "Accept-Encoding", **NO_STORE}
    if accepts_gzip(request.headers.get("accept-encoding", "")):
        return StreamingResponse(_gzipped(chunks), media_type="text/csv; charset=utf-8",
                                 headers={**headers, "Content-Encoding": "gzip"})
    return StreamingResponse(_encoded(chunks), media_type="text/csv; charset=utf-8",
                             headers=headers)


ROUTES = [Route(DOWNLOAD_PATH, cases_csv, methods=["GET"])]
