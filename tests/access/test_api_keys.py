"""API keys: shown once, kept as a hash, scoped, revocable, acting for a live user."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from core.access import api_keys, users
from core.errors import InvalidInput, NotAllowed, NotFound, Unauthenticated
from core.store.models import ApiKey, AuditEvent


def test_a_key_is_shown_once_and_kept_only_as_its_hash(db):
    created = api_keys.create_key(db, "Onboarding-Prod", scopes="read, intake",
                                  acting_user="admin", actor="admin")
    assert created.info.name == "onboarding-prod"
    assert created.info.scopes == ("intake", "read")
    assert created.secret.startswith(created.info.prefix + "_")
    with db.read() as s:
        row = s.scalars(select(ApiKey)).one()
        audit = s.scalars(select(AuditEvent).where(AuditEvent.kind == "api_key.created")).one()
    assert row.key_hash == hashlib.sha256(created.secret.encode()).hexdigest()
    assert created.secret not in repr(row.__dict__) and created.secret not in repr(audit.after)
    p = api_keys.authenticate(db, created.secret)
    assert (p.username, p.role, p.scopes, p.via) == (
        "admin", "admin", frozenset({"intake", "read"}), "api key onboarding-prod")


@pytest.mark.parametrize("presented", [None, "", "dk_", "Bearer x", "dk_zzzzzzzz_" + "a" * 43,
                                       "dk_00000000_" + "a" * 43])
def test_anything_but_a_live_key_is_unauthenticated(db, presented):
    api_keys.create_key(db, "crm", scopes="read", acting_user="analyst")
    with pytest.raises(Unauthenticated):
        api_keys.authenticate(db, presented)


def test_revoked_keys_and_disabled_users_are_refused(db):
    a = api_keys.create_key(db, "a-key", scopes="read", acting_user="reviewer").secret
    b = api_keys.create_key(db, "b-key", scopes="read", acting_user="reviewer2").secret
    api_keys.revoke_key(db, "a-key", actor="admin")
    users.set_disabled(db, "reviewer2", True)
    with pytest.raises(Unauthenticated, match="revoked"):
        api_keys.authenticate(db, a)
    with pytest.raises(Unauthenticated, match="disabled"):
        api_keys.authenticate(db, b)
    assert [k.active for k in api_keys.list_keys(db)] == [False, True]


def test_only_admins_manage_keys_and_bad_input_changes_nothing(db):
    with pytest.raises(NotAllowed):
        api_keys.create_key(db, "mine", scopes="read", acting_user="reviewer", actor="reviewer")
    for kwargs in ({"scopes": ""}, {"scopes": "read,launch"}, {"scopes": "read", "name": "!"}):
        args = {"name": "x-key", "acting_user": "admin", **kwargs}
        with pytest.raises(InvalidInput):
            api_keys.create_key(db, args.pop("name"), **args)
    with pytest.raises(NotAllowed):
        api_keys.create_key(db, "ghost", scopes="read", acting_user="nobody")
    api_keys.create_key(db, "taken", scopes="read", acting_user="admin")
    with pytest.raises(InvalidInput, match="already exists"):
        api_keys.create_key(db, "taken", scopes="act", acting_user="admin")
    with pytest.raises(NotFound):
        api_keys.revoke_key(db, "never-made")
    assert [k.name for k in api_keys.list_keys(db)] == ["taken"]


def test_a_scope_not_granted_is_refused_by_name(db):
    p = api_keys.authenticate(db, api_keys.create_key(db, "ro", scopes="read",
                                                      acting_user="admin").secret)
    api_keys.require_scope(p, "read")
    with pytest.raises(NotAllowed, match="lacks the 'act' scope"):
        api_keys.require_scope(p, "act")
