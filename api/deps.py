"""What every route needs: the database, and the principal its API key acts as.

`acting(principal)` wraps a route's call into `core`: audit events written inside it carry
the key's name (`audit_events.via`), whatever service function records them.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from datetime import datetime, timezone
from typing import Annotated, Any, Iterator

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api import rate_limit
from core import config
from core.access.api_keys import ApiPrincipal, authenticate, require_scope
from core.store import audit
from core.store.db import Database, get_database

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dk_...`")


def database() -> Database:
    return get_database(config.database_url())


_opened: dict[str, Database] = {}  # request_database's, by URL


async def request_database() -> Database:
    """`database()` for a request: on the event loop once this process has opened it (a
    dictionary lookup), where a plain `def` would cost every request a trip to the thread
    pool. Its first call, which may upgrade the schema, runs in the thread pool."""
    url = config.database_url()
    db = _opened.get(url)
    if db is None:
        db = _opened.setdefault(url, await run_in_threadpool(get_database, url))
    return db


def principal(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
              db: Annotated[Database, Depends(request_database)]) -> ApiPrincipal:
    return authenticate(db, credentials.credentials if credentials else None)


# `limited` and `scoped` neither read nor wait: `async def` runs them on the event loop, where
# a plain `def` would cost each request a trip to the thread pool and back.
async def limited(p: Annotated[ApiPrincipal, Depends(principal)]) -> ApiPrincipal:
    """The principal, refused (429, Retry-After) over its key's rate limit (api/rate_limit.py).
    After `principal`: a request without a valid key gets its 401 and is not counted."""
    rate_limit.check(p)
    return p


def scoped(scope: str):
    """A dependency: the principal, refused (403) unless its key has `scope`."""
    async def check(p: Annotated[ApiPrincipal, Depends(limited)]) -> ApiPrincipal:
        require_scope(p, scope)
        return p
    check.__name__ = f"requires_{scope}_scope"
    return check


Db = Annotated[Database, Depends(request_database)]
Reader = Annotated[ApiPrincipal, Depends(scoped("read"))]
Intake = Annotated[ApiPrincipal, Depends(scoped("intake"))]
Events = Annotated[ApiPrincipal, Depends(scoped("events"))]
Actor = Annotated[ApiPrincipal, Depends(scoped("act"))]


@contextmanager
def acting(p: ApiPrincipal) -> Iterator[None]:
    with audit.through(p.via):
        yield


_PLAIN = (str, int, float, type(None))  # never a dataclass, a container or a datetime
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})  # exactly these: no subclass
_FIELDS: dict[type, tuple[str, ...]] = {}  # a dataclass's field names, by class


def utc(value: Any) -> Any:
    """`value` ready for a response model: core's datetimes are naive UTC, the API's are
    RFC 3339 date-times with their offset (`...Z`). Dataclasses become dicts on the way.

    Called on every row of every page (a page of 50 cases is 500 values): plain values are
    recognised by their exact type without a call, before the general checks."""
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return value
    if kind is datetime:
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    names = _FIELDS.get(kind)
    if names is not None:  # a dataclass seen before
        return {name: v if type(v := getattr(value, name)) in _PLAIN_TYPES else utc(v)
                for name in names}
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN_TYPES else utc(v) for v in value]
    if isinstance(value, _PLAIN):  # a subclass (a str enum, say)
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value
    if is_dataclass(value) and not isinstance(value, type):
        _FIELDS.setdefault(kind, tuple(f.name for f in fields(value)))
        return utc(value)
    if isinstance(value, dict):
        return {k: v if type(v) in _PLAIN_TYPES else utc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [utc(v) for v in value]
    return value
