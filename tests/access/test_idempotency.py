"""Idempotency records: one claim per (API key, Idempotency-Key), the stored answer replayed,
another request under the same key refused, expired and abandoned claims replaced. On the
test database (SQLite, or PostgreSQL with DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.access import api_keys, idempotency
from core.access.idempotency import Answer, Claim, StillInProgress
from core.errors import InvalidInput
from core.store.models import IdempotencyRecord, utcnow
from tests.factories import row_counts

OK = Answer(200, '{"created": ["C-1"], "existing": []}', {"content-type": "application/json"})
BODY = idempotency.request_hash(b'{"id": "C-1"}')


@pytest.fixture
def key_id(db) -> int:
    return api_keys.create_key(db, "crm", scopes="intake", acting_user="admin").info.id


def _begin(db, key_id, key="k-1", body_hash=BODY, path="/api/v1/cases", **kw):
    return idempotency.begin(db, api_key_id=key_id, key=key, method="POST", path=path,
                             body_hash=body_hash, **kw)


def _records(db) -> list[IdempotencyRecord]:
    with db.read() as s:
        return list(s.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)))


def test_the_first_request_claims_the_key_and_its_answer_is_replayed(db, key_id):
    claim = _begin(db, key_id)
    assert isinstance(claim, Claim)
    [record] = _records(db)
    assert (record.state, record.method, record.path, record.request_hash) == (
        "in_progress", "POST", "/api/v1/cases", BODY)
    assert record.expires_at - record.created_at == timedelta(hours=24)
    assert idempotency.settle(db, claim, OK) is True
    before = row_counts(db)
    assert _begin(db, key_id) == OK
    assert _begin(db, key_id) == OK
    assert row_counts(db) == before


def test_while_the_first_is_running_a_second_is_refused(db, key_id):
    _begin(db, key_id)
    with pytest.raises(StillInProgress, match="still being processed"):
        _begin(db, key_id)
    assert len(_records(db)) == 1


@pytest.mark.parametrize("other", [{"body_hash": idempotency.request_hash(b'{"id": "C-2"}')},
                                   {"path": "/api/v1/cases/C-1/events"}])
def test_the_same_key_for_another_request_is_refused_and_changes_nothing(db, key_id, other):
    idempotency.settle(db, _begin(db, key_id), OK)
    before = row_counts(db)
    with pytest.raises(InvalidInput) as refused:
        _begin(db, key_id, **other)
    assert refused.value.problems[0].startswith("Idempotency-Key: was first used")
    assert row_counts(db) == before
    assert _begin(db, key_id) == OK  # the first answer is still there


def test_keys_belong_to_one_api_key(db, key_id):
    other = api_keys.create_key(db, "vendor", scopes="intake", acting_user="admin").info.id
    idempotency.settle(db, _begin(db, key_id), OK)
    assert isinstance(_begin(db, other), Claim)


@pytest.mark.parametrize("status,kept", [(200, True), (201, True), (204, True), (400, True),
                                         (403, True), (404, True), (409, True), (422, True),
                                         (401, False), (429, False), (500, False),
                                         (503, False), (302, False)])
def test_which_answers_are_kept(db, key_id, status, kept):
    claim = _begin(db, key_id)
    answer = Answer(status, '{"status": %d}' % status, {"content-type": "application/json"})
    assert idempotency.settle(db, claim, answer) is kept
    if kept:
        assert _begin(db, key_id) == answer
    else:  # forgotten: a retry runs again
        assert _records(db) == []
        assert isinstance(_begin(db, key_id), Claim)


def test_no_answer_forgets_the_claim(db, key_id):
    assert idempotency.settle(db, _begin(db, key_id), None) is False
    assert _records(db) == []


def test_an_expired_record_is_ignored_and_replaced(db, key_id):
    idempotency.settle(db, _begin(db, key_id), OK)
    later = utcnow() + timedelta(hours=24, seconds=1)
    claim = _begin(db, key_id, now=later)
    assert isinstance(claim, Claim)
    [record] = _records(db)
    assert (record.state, record.created_at) == ("in_progress", later)


def test_purge_deletes_only_expired_records(db, key_id):
    now = utcnow()
    idempotency.settle(db, _begin(db, key_id, key="old", now=now - timedelta(hours=25)), OK)
    idempotency.settle(db, _begin(db, key_id, key="new", now=now), OK)
    assert idempotency.purge_expired(db, now) == 1
    assert [r.idempotency_key for r in _records(db)] == ["new"]


def test_an_abandoned_claim_is_taken_over_once_stale(db, key_id):
    now = utcnow()
    dead = _begin(db, key_id, now=now)
    with pytest.raises(StillInProgress):
        _begin(db, key_id, now=now + idempotency.STALE_AFTER - timedelta(seconds=1))
    taken = _begin(db, key_id, now=now + idempotency.STALE_AFTER)
    assert isinstance(taken, Claim) and taken.record_id == dead.record_id
    assert idempotency.settle(db, dead, OK) is False  # the dead claim no longer owns it
    assert _records(db)[0].state == "in_progress"
    assert idempotency.settle(db, taken, OK) is True
    assert _begin(db, key_id) == OK


def test_a_released_claim_lets_a_retry_run(db, key_id):
    idempotency.settle(db, _begin(db, key_id), Answer(500, "{}", {}))
    assert isinstance(_begin(db, key_id), Claim)


@pytest.mark.parametrize("key", ["", " ", "x" * 201, "caf\u00e9", "tab\there", "line\nbreak"])
def test_a_bad_key_is_refused_before_anything_is_written(db, key_id, key):
    before = row_counts(db)
    with pytest.raises(InvalidInput, match="Idempotency-Key"):
        _begin(db, key_id, key=key)
    assert row_counts(db) == before


def test_a_key_of_200_printable_characters_is_fine(db, key_id):
    assert isinstance(_begin(db, key_id, key="~ !" + "x" * 197), Claim)


def test_the_hash_is_the_body_s_sha256_and_covers_the_query():
    assert idempotency.request_hash(b"{}") == hashlib.sha256(b"{}").hexdigest()
    assert idempotency.request_hash(b"{}", b"a=1") != idempotency.request_hash(b"{}", b"a=2")


def test_two_concurrent_requests_with_one_key_make_one_claim(db, key_id):
    """Both start at the barrier; the unique constraint lets exactly one claim the key."""
    barrier = threading.Barrier(4)
    results: list[object] = []

    def request():
        barrier.wait()
        try:
            results.append(_begin(db, key_id))
        except StillInProgress as e:
            results.append(e)

    threads = [threading.Thread(target=request) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claims = [r for r in results if isinstance(r, Claim)]
    assert len(claims) == 1 and len(results) == 4
    assert all(isinstance(r, StillInProgress) for r in results if r is not claims[0])
    assert len(_records(db)) == 1

