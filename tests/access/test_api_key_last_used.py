"""A key's last use: checking a key is a read; `last_used_at` is written only when the stored
value is LAST_USED_EVERY (a minute) old, so it is never more than a minute behind."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.access import api_keys, users
from core.errors import Unauthenticated
from core.store.models import ApiKey

T0 = datetime(2030, 1, 2, 3, 4, 5)


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock(T0)
    monkeypatch.setattr(api_keys, "utcnow", c)
    return c


@pytest.fixture
def writes(db, monkeypatch):
    """How many write transactions the database opened (unit_of_work calls)."""
    opened = []
    real = db.unit_of_work

    def counting():
        opened.append(1)
        return real()

    monkeypatch.setattr(db, "unit_of_work", counting)
    return opened


def last_used(db, name: str) -> datetime | None:
    with db.read() as s:
        return s.scalar(select(ApiKey.last_used_at).where(ApiKey.name == name))


def test_last_use_is_written_at_most_once_a_minute_and_never_lags_more(db, clock, writes):
    secret = api_keys.create_key(db, "crm", scopes="read", acting_user="analyst").secret
    writes.clear()
    assert last_used(db, "crm") is None

    api_keys.authenticate(db, secret)  # never used: written
    assert last_used(db, "crm") == T0 and len(writes) == 1

    for seconds in (1, 30, 59.999):  # within the minute: a read only, nothing written
        clock.now = T0 + timedelta(seconds=seconds)
        assert api_keys.authenticate(db, secret).key_name == "crm"
    assert last_used(db, "crm") == T0 and len(writes) == 1

    clock.now = T0 + timedelta(seconds=60)  # a minute old: written again
    api_keys.authenticate(db, secret)
    assert last_used(db, "crm") == T0 + timedelta(seconds=60) and len(writes) == 2

    clock.now = T0 + timedelta(minutes=10, seconds=7)  # after a pause: the time of this use
    api_keys.authenticate(db, secret)
    assert last_used(db, "crm") == clock.now and len(writes) == 3


def test_a_stale_read_never_moves_the_last_use_backwards(db, monkeypatch):
    """Two requests that both read a stale value: the one writing second (with an earlier
    `now`) must not undo the other's write."""
    secret = api_keys.create_key(db, "vendor", scopes="read", acting_user="analyst").secret
    with db.unit_of_work() as s:
        s.execute(update(ApiKey).where(ApiKey.name == "vendor").values(last_used_at=T0))
    other = T0 + timedelta(minutes=5)

    def other_request_writes_first() -> datetime:  # called after this request's read
        with db.unit_of_work() as s:
            s.execute(update(ApiKey).where(ApiKey.name == "vendor").values(last_used_at=other))
        return T0 + timedelta(minutes=4, seconds=30)  # this request's now: stale T0 seen

    monkeypatch.setattr(api_keys, "utcnow", other_request_writes_first)
    assert api_keys.authenticate(db, secret).key_name == "vendor"
    assert last_used(db, "vendor") == other


def test_refusals_write_nothing(db, clock, writes):
    revoked = api_keys.create_key(db, "old", scopes="read", acting_user="analyst").secret
    orphan = api_keys.create_key(db, "orphan", scopes="read", acting_user="reviewer2").secret
    api_keys.revoke_key(db, "old")
    users.set_disabled(db, "reviewer2", True)
    writes.clear()
    for secret, reason in ((revoked, "revoked"), (orphan, "disabled"),
                           ("dk_00000000_" + "a" * 43, "unknown")):
        with pytest.raises(Unauthenticated, match=reason):
            api_keys.authenticate(db, secret)
    assert writes == []
    assert last_used(db, "old") is None and last_used(db, "orphan") is None


def test_the_principal_is_the_keys_user_role_and_scopes(db, clock):
    secret = api_keys.create_key(db, "ops", scopes="read,act", acting_user="reviewer").secret
    p = api_keys.authenticate(db, secret)
    assert (p.key_name, p.username, p.role, p.scopes) == (
        "ops", "reviewer", "reviewer", frozenset({"read", "act"}))
