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

from api import rate_limit
from core import config
from core.access.api_keys import ApiPrincipal, authenticate, require_scope
from core.store import audit
from core.store.db import Database, get_database

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer dk_...`")


def database() -> Database:
    return get_database(config.database_url())


def principal(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
              db: Annotated[Database, Depends(database)]) -> ApiPrincipal:
    return authenticate(db, credentials.credentials if credentials else None)


def limited(p: Annotated[ApiPrincipal, Depends(principal)]) -> ApiPrincipal:
    """The principal, refused (429, Retry-After) over its key's rate limit (api/rate_limit.py).
    After `principal`: a request without a valid key gets its 401 and is not counted."""
    rate_limit.check(p)
    return p


def scoped(scope: str):
    """A dependency: the principal, refused (403) unless its key has `scope`."""
    def check(p: Annotated[ApiPrincipal, Depends(limited)]) -> ApiPrincipal:
        require_scope(p, scope)
        return p
    check.__name__ = f"requires_{scope}_scope"
    return check


Db = Annotated[Database, Depends(database)]
Reader = Annotated[ApiPrincipal, Depends(scoped("read"))]
Intake = Annotated[ApiPrincipal, Depends(scoped("intake"))]
Events = Annotated[ApiPrincipal, Depends(scoped("events"))]
Actor = Annotated[ApiPrincipal, Depends(scoped("act"))]


@contextmanager
def acting(p: ApiPrincipal) -> Iterator[None]:
    with audit.through(p.via):
        yield


def utc(value: Any) -> Any:
    """`value` ready for a response model: core's datetimes are naive UTC, the API's are
    RFC 3339 date-times with their offset (`...Z`). Dataclasses become dicts on the way."""
    if is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in fields(value)}
    if isinstance(value, dict):
        return {k: utc(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [utc(v) for v in value]
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value
