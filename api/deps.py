"""What every route needs: the database, and the principal its API key acts as.

`acting(principal)` wraps a route's call into `core`: audit events written inside it carry
the key's name (`audit_events.via`), whatever service function records them.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Iterator

from fastapi import Depends, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


def scoped(scope: str):
    """A dependency: the principal, refused (403) unless its key has `scope`."""
    def check(p: Annotated[ApiPrincipal, Depends(principal)]) -> ApiPrincipal:
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
