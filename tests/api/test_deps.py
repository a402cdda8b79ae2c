"""Who may call what: every endpoint × key kind, against the real server. A key's scopes
narrow what its user's role allows; the role is checked by the same service layer as the
Cases page (an analyst's key with the act scope still cannot act)."""
from __future__ import annotations

import pytest

from core.access import api_keys
from tests.api.conftest import KEYS, a_case, new_id, push

# endpoint -> (method, path, body maker, scope it needs, roles whose users may do it)
ENDPOINTS = {
    "list cases": ("GET", "/cases", None, "read", {"admin", "reviewer", "analyst"}),
    "read a case": ("GET", "/cases/{id}", None, "read", {"admin", "reviewer", "analyst"}),
    "list views": ("GET", "/views", None, "read", {"admin", "reviewer", "analyst"}),
    "push a case": ("POST", "/cases", lambda: a_case(), "intake", {"admin"}),
    "report an event": ("POST", "/cases/{id}/events",
                        lambda: {"event": "process_started", "name": "screening"},
                        "events", {"admin"}),
    "add a note": ("POST", "/cases/{id}/actions/note",
                   lambda: {"expected_version": 1, "text": "checked by phone"},
                   "act", {"admin", "reviewer"}),
}
KEY_ROLES = {"all-admin": "admin", "intake-admin": "admin", "events-admin": "admin",
             "read-admin": "admin", "act-reviewer": "reviewer", "act-analyst": "analyst",
             "read-analyst": "analyst", "intake-reviewer": "reviewer"}
SCOPES = {name: set(scopes.split(",")) for name, (scopes, _) in KEYS.items()}


def _call(api, key, endpoint, case_id):
    method, path, body, _, _ = ENDPOINTS[endpoint]
    with api.client(key) as c:
        return c.request(method, path.format(id=case_id), json=body() if body else None)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("key", KEY_ROLES)
def test_scope_and_role_decide(api, endpoint, key):
    case_id = push(api, a_case())
    _, _, _, scope, roles = ENDPOINTS[endpoint]
    r = _call(api, key, endpoint, case_id)
    if scope not in SCOPES[key]:
        assert r.status_code == 403, r.text
        assert f"lacks the '{scope}' scope" in r.json()["detail"]
    elif KEY_ROLES[key] not in roles:
        assert r.status_code == 403, r.text
        assert r.json()["detail"].startswith(("rev (reviewer) may not", "ana (analyst) may not"))
    else:
        assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/json" if r.status_code == 200 else "application/problem+json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("credentials", ["none", "not a key", "unknown key", "revoked",
                                         "disabled user"])
def test_without_a_valid_key_nothing_is_read_or_written(api, endpoint, credentials):
    case_id = push(api, a_case())
    key = {"revoked": "revoked", "disabled user": "disabled-user"}.get(credentials)
    headers = {"none": {}, "not a key": {"Authorization": "Bearer hello"},
               "unknown key": {"Authorization": "Bearer dk_00000000_" + "A" * 43}}
    before = _count_cases(api)
    with api.client(key, **headers.get(credentials, {})) as c:
        method, path, body, _, _ = ENDPOINTS[endpoint]
        r = c.request(method, path.format(id=case_id), json=body() if body else None)
    assert r.status_code == 401, r.text
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert _count_cases(api) == before


def _count_cases(api) -> int:
    with api.client("read-admin") as c:
        return c.get("/cases", params={"page_size": 1}).json()["total"]


def test_a_key_is_refused_the_moment_it_is_revoked(api):
    created = api_keys.create_key(api.db, f"short-lived-{new_id().lower()}", scopes="read",
                                  acting_user="rev")
    headers = {"Authorization": f"Bearer {created.secret}"}
    with api.client(**headers) as c:
        assert c.get("/views").status_code == 200
        api_keys.revoke_key(api.db, created.info.name)
        assert c.get("/views").status_code == 401


def test_a_key_records_when_it_was_last_used(api):
    created = api_keys.create_key(api.db, f"used-{new_id().lower()}", scopes="read",
                                  acting_user="ana")
    assert created.info.last_used_at is None
    with api.client(Authorization=f"Bearer {created.secret}") as c:
        assert c.get("/views").status_code == 200
    info = next(k for k in api_keys.list_keys(api.db) if k.name == created.info.name)
    assert info.last_used_at is not None
