"""The API tests call the real server (`streamlit run streamlit_app.py`) over real HTTP.

One server per test session on its own database (a SQLite file, or a schema of its own on
PostgreSQL when DOCKET_TEST_DATABASE_URL is set), with users of every role and API keys of
every kind. Each test pushes the cases it needs under ids of its own, so tests do not depend
on each other's order."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import create_engine, text

from core.access import api_keys, users
from core.app_setup import prepare_database
from core.store.db import Database
from tests.conftest import PG_URL
from tests.servers import running_app

PASSWORD = "a-long-password"
USERS = {"svc": "admin", "boss": "admin", "rev": "reviewer", "rev2": "reviewer", "ana": "analyst",
         "gone": "reviewer"}
# name -> (scopes, acting user)
KEYS = {
    "all-admin": ("intake,events,read,act", "svc"),
    "intake-admin": ("intake", "svc"),
    "events-admin": ("events", "svc"),
    "read-admin": ("read", "svc"),
    "act-reviewer": ("read,act", "rev"),
    "act-reviewer2": ("read,act", "rev2"),
    "act-analyst": ("read,act", "ana"),
    "read-analyst": ("read", "ana"),
    "intake-reviewer": ("intake,events,read", "rev"),
    "revoked": ("intake,events,read,act", "svc"),
    "disabled-user": ("intake,events,read,act", "gone"),
}


@dataclass
class Api:
    url: str
    db: Database
    keys: dict[str, str]

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        auth = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers={**auth, **headers},
                            timeout=120)


@contextmanager
def fresh_database_url(directory: Path, prefix: str) -> Iterator[str]:
    """An empty database: a SQLite file in `directory`, or a PostgreSQL schema of its own
    (named after `prefix`) when DOCKET_TEST_DATABASE_URL is set, dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{directory / 'docket.sqlite3'}"
        return
    schema = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def api_database_url(tmp_path_factory):
    with fresh_database_url(tmp_path_factory.mktemp("api-db"), "api") as url:
        yield url


@pytest.fixture(scope="session")
def api(api_database_url, tmp_path_factory) -> Api:
    db = Database(api_database_url)
    prepare_database(db, demo=False)
    for name, role in USERS.items():
        users.add_user(db, name, name.capitalize(), role, PASSWORD)
    keys = {name: api_keys.create_key(db, name, scopes=scopes, acting_user=user).secret
            for name, (scopes, user) in KEYS.items()}
    api_keys.revoke_key(db, "revoked")
    users.set_disabled(db, "gone", True)
    with running_app(db.url, tmp_path_factory.mktemp("api-app"),
                     DOCKET_EMBEDDED_WORKER="off",
                     DOCKET_API_RATE_LIMIT="off") as url:  # the limit has its own tests
        yield Api(url, db, keys)
    db.dispose()


def new_id(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10].upper()}"


def a_case(case_id: str | None = None, **overrides) -> dict:
    """A valid case of the import format: a business in manual review once pushed."""
    case = {"id": case_id or new_id(), "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": "Acme Trading Ltd", "country": "GB",
                       "email": "ops@acme.example", "registration_number": "GB-123"},
            "user_data": {"industry": "trading"}}
    case.update(overrides)
    return case


def push(api: Api, case: dict, key: str = "all-admin") -> str:
    with api.client(key) as c:
        r = c.post("/cases", json=case)
    assert r.status_code == 200, r.text
    return case["id"]
