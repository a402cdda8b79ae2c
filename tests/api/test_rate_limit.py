"""The per-key rate limit: the token buckets on a clock the test turns, the setting, and a
real server with a low limit (5/hour: a token comes back every 12 minutes, far longer than
these tests take, so the count is exact however slow the machine)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api import create_api
from api.idempotency import HEADER
from api.rate_limit import Rate, TokenBuckets, parse_rate, retry_after
from core.access import api_keys, users
from core.app_setup import prepare_database
from core.store.db import Database
from core.store.models import IdempotencyRecord
from tests.api.conftest import PASSWORD, Api, a_case, fresh_database_url, new_id
from tests.factories import row_counts
from tests.servers import running_app

LIMIT = 5


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("text,rate", [("600/minute", Rate(600, "minute")),
                                       (" 5 / hour ", Rate(5, "hour")),
                                       ("10/SECOND", Rate(10, "second")),
                                       ("1/day", Rate(1, "day")), ("off", None), ("OFF", None)])
def test_the_setting_is_read(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "600", "0/minute", "-1/minute", "5/week",
                                  "1.5/second", "600/minute/2"])
def test_a_bad_setting_is_refused_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="N/second, N/minute, N/hour or N/day"):
        parse_rate(text)


def test_a_bad_setting_stops_the_start(monkeypatch):
    monkeypatch.setenv("DOCKET_API_RATE_LIMIT", "lots")
    with pytest.raises(ValueError, match="DOCKET_API_RATE_LIMIT"):
        create_api()


def test_a_bucket_gives_a_burst_then_one_per_interval():
    clock = Clock()
    buckets = TokenBuckets(Rate(3, "minute"), clock)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(20.0)  # one token per 20 s
    clock.now += 15
    assert buckets.take("a") == pytest.approx(5.0)   # a refused request costs nothing
    clock.now += 5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0
    assert buckets.take("b") == 0.0                  # another key has its own bucket
    clock.now += 3600
    full = [buckets.take("a") for _ in range(4)]
    assert full[:3] == [0.0, 0.0, 0.0] and full[3] > 0  # full again, never more than full


@pytest.mark.parametrize("wait,seconds", [(0.001, 1), (0.999, 1), (1.0, 1), (1.01, 2),
                                          (719.2, 720)])
def test_retry_after_is_whole_seconds_at_least_one(wait, seconds):
    assert retry_after(wait) == seconds


@pytest.fixture(scope="module")
def limited_api(tmp_path_factory):
    """A server of its own with DOCKET_API_RATE_LIMIT=5/hour and three keys."""
    with fresh_database_url(tmp_path_factory.mktemp("rate-db"), "rate") as url:
        db = Database(url)
        prepare_database(db, demo=False)
        users.add_user(db, "svc", "Svc", "admin", PASSWORD)
        keys = {name: api_keys.create_key(db, name, scopes="intake,read",
                                          acting_user="svc").secret
                for name in ("busy", "calm", "writer")}
        try:
            with running_app(db.url, tmp_path_factory.mktemp("rate-app"),
                             DOCKET_EMBEDDED_WORKER="off",
                             DOCKET_API_RATE_LIMIT=f"{LIMIT}/hour") as server:
                yield Api(server, db, keys)
        finally:
            db.dispose()


def _is_429(r) -> int:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 429 and problem["title"] == "Too many requests"
    assert f"{LIMIT} requests per hour" in problem["detail"]
    seconds = r.headers["retry-after"]
    assert seconds.isdigit() and int(seconds) >= 1
    return int(seconds)


def test_over_the_limit_a_key_gets_429_with_retry_after_and_others_go_on(limited_api):
    with limited_api.client("busy") as c:
        answers = [c.get("/views").status_code for _ in range(LIMIT)]
        over = c.get("/views")
    assert answers == [200] * LIMIT
    seconds = _is_429(over)
    assert seconds <= 3600 // LIMIT  # at most one token's interval
    assert "'busy'" in over.json()["detail"]
    with limited_api.client("calm") as c:
        assert c.get("/views").status_code == 200


def test_requests_without_a_valid_key_get_401_and_are_not_counted(limited_api):
    with limited_api.client(Authorization="Bearer dk_00000000_" + "A" * 43) as c:
        assert {c.get("/views").status_code for _ in range(LIMIT * 2)} == {401}
    with limited_api.client() as c:
        assert {c.get("/views").status_code for _ in range(LIMIT * 2)} == {401}


def test_a_refused_write_changes_nothing_and_is_not_kept_for_a_retry(limited_api):
    with limited_api.client("writer") as c:
        for _ in range(LIMIT):
            assert c.get("/views").status_code == 200
        before = row_counts(limited_api.db)
        case = a_case(new_id("RL"))
        _is_429(c.post("/cases", json=case))
        _is_429(c.post("/cases", json=case, headers={HEADER: "after-the-limit"}))
    assert row_counts(limited_api.db) == before
    with limited_api.db.read() as s:
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
