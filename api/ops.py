"""Operations: is the process up (`/healthz`), can it serve (`/readyz`: database reachable,
schema at the newest migration). Plain Starlette routes beside the API, no key needed."""
from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core import config
from core.store.db import alembic_config, get_database


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _readiness() -> tuple[bool, dict]:
    try:
        db = get_database(config.database_url())
        head = ScriptDirectory.from_config(alembic_config(db)).get_current_head()
        with db.read_engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
    except Exception as e:  # noqa: BLE001 - any failure means "not ready", said plainly
        return False, {"status": "unavailable", "database": f"unreachable: {type(e).__name__}"}
    ready = current == head
    return ready, {"status": "ok" if ready else "unavailable", "database": "reachable",
                   "schema": current, "schema_head": head}


async def readyz(request: Request) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool
    ready, body = await run_in_threadpool(_readiness)
    return JSONResponse(body, status_code=200 if ready else 503)


ROUTES = [Route("/healthz", healthz), Route("/readyz", readyz)]
