"""The queue of cases to screen: queueing (core/cases/screening_queue.py) and the worker's
claim / done (core/screening/job_queue.py) — oldest first, leases, two claimers never get
the same case (threads, on SQLite and PostgreSQL), an expired claim is claimed again, and a
case queued again during a claim is screened again after it."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import insert, select, update

from core.cases.screening_queue import enqueue, enqueue_rescreen_all
from core.errors import InvalidInput
from core.screening import job_queue
from core.store.models import Case, Entity, utcnow
from core.store.screening_list_models import ScreeningJob

HANG_S = 120


def make_cases(db, n: int, *, prefix: str = "Q", status: str = "manual_review") -> list[str]:
    """`n` bare cases (no blocks) written in one INSERT: the queue needs only their ids."""
    ids = [f"{prefix}-{i:04d}" for i in range(n)]
    with db.unit_of_work() as s:
        entity = Entity(kind="business", name="Queue Test Ltd", country="HK")
        s.add(entity)
        s.flush()
        now = utcnow()
        s.execute(insert(Case.__table__), [
            {"id": case_id, "workflow": "onboarding", "entity_id": entity.id,
             "case_status": status, "collection_completed": True, "tags": [],
             "user_data": {}, "registry_data": {}, "created_at": now, "updated_at": now,
             "status_changed_at": now, "version": 1} for case_id in ids])
    return ids


def queue(db, ids, reason="intake") -> int:
    with db.unit_of_work() as s:
        return enqueue(s, ids, reason)


def jobs(db) -> dict[str, ScreeningJob]:
    with db.read() as s:
        return {j.case_id: j for j in s.scalars(select(ScreeningJob))}


def expire(db, case_ids) -> None:
    """The claims on these cases ran out a minute ago."""
    with db.unit_of_work() as s:
        s.execute(update(ScreeningJob).where(ScreeningJob.case_id.in_(case_ids))
                  .values(claimed_until=utcnow() - timedelta(minutes=1)))


# --- queueing -------------------------------------------------------------------------------

def test_a_case_is_queued_once_and_keeps_its_earliest_time(db):
    a, b = make_cases(db, 2)
    assert queue(db, [a], "intake") == 1
    first = jobs(db)[a].queued_at
    assert queue(db, [a, b, a], "edit") == 1  # a: already waiting; b: new
    found = jobs(db)
    assert found[a].queued_at == first and found[a].reason == "intake"
    assert found[b].reason == "edit"
    assert job_queue.pending(db) == 2


def test_unknown_cases_are_skipped_and_a_bad_reason_is_refused(db):
    (a,) = make_cases(db, 1)
    assert queue(db, [a, "NO-SUCH-CASE"]) == 1
    assert set(jobs(db)) == {a}
    with pytest.raises(InvalidInput, match="reason"):
        queue(db, [a], "because")


def test_rescreen_all_queues_open_and_approved_cases_not_rejected_ones(db):
    open_ = make_cases(db, 3, prefix="O")
    approved = make_cases(db, 2, prefix="A", status="approved")
    make_cases(db, 2, prefix="R", status="rejected")
    queue(db, [open_[0]], "edit")
    with db.unit_of_work() as s:
        assert enqueue_rescreen_all(s, "list_reload") == 4  # open_[0] was waiting already
    found = jobs(db)
    assert set(found) == set(open_) | set(approved)
    assert found[open_[0]].reason == "edit"
    assert {found[c].reason for c in (*open_[1:], *approved)} == {"list_reload"}
    with db.unit_of_work() as s:
        assert enqueue_rescreen_all(s, "list_reload") == 0  # nothing new


# --- claiming -------------------------------------------------------------------------------

def test_claim_takes_the_oldest_first_and_leases_them(db):
    ids = make_cases(db, 5)
    for case_id in reversed(ids):  # queued newest id first: the queue order is by time
        queue(db, [case_id])
    got = job_queue.claim(db, "w1", limit=3)
    assert got == list(reversed(ids))[:3]
    held = jobs(db)
    assert {held[c].claimed_by for c in got} == {"w1"}
    assert all(held[c].claimed_until > utcnow() for c in got)
    assert job_queue.claim(db, "w2", limit=10) == list(reversed(ids))[3:]
    assert job_queue.claim(db, "w3") == []  # all leased
    assert job_queue.pending(db) == 5 and job_queue.claimable(db) == 0


def test_done_deletes_what_the_worker_holds_only(db):
    a, b = make_cases(db, 2)
    queue(db, [a, b])
    assert job_queue.claim(db, "w1", limit=1) == [a]
    assert job_queue.done(db, "w2", [a]) == 0        # not w2's
    assert job_queue.done(db, "w1", [a, b]) == 1     # b is not claimed by w1
    assert set(jobs(db)) == {b}


def test_an_expired_claim_is_claimed_again_and_the_late_worker_deletes_nothing(db):
    (a,) = make_cases(db, 1)
    queue(db, [a])
    assert job_queue.claim(db, "w1") == [a]
    assert job_queue.claim(db, "w2") == []
    expire(db, [a])
    assert job_queue.claimable(db) == 1
    assert job_queue.claim(db, "w2") == [a]
    assert job_queue.done(db, "w1", [a]) == 0  # w1 lost its lease: w2's job stays
    assert jobs(db)[a].claimed_by == "w2"
    assert job_queue.done(db, "w2", [a]) == 1
    assert job_queue.pending(db) == 0


def test_queued_again_during_a_claim_is_screened_again_after_it(db):
    a, b = make_cases(db, 2)
    queue(db, [a])
    assert job_queue.claim(db, "w1") == [a]
    before = jobs(db)[a]
    assert queue(db, [a], "edit") == 1                # the subject changed meanwhile
    job = jobs(db)[a]
    assert job.claimed_by is None and job.reason == "edit" and job.queued_at >= before.queued_at
    assert job.claimed_until == before.claimed_until  # the lease holds: nobody else takes it
    assert job_queue.claim(db, "w2") == []
    assert job_queue.done(db, "w1", [a]) == 0         # not deleted: it must be screened again
    assert job_queue.claim(db, "w2") == [a]           # and at once, the lease ended
    assert job_queue.done(db, "w2", [a]) == 1
    assert job_queue.pending(db) == 0


def test_a_list_reload_queues_claimed_cases_again_behind_their_claim(db):
    a, b = make_cases(db, 2)
    queue(db, [a, b])
    assert job_queue.claim(db, "w1", limit=1) == [a]
    with db.unit_of_work() as s:
        assert enqueue_rescreen_all(s, "list_reload") == 1  # a again; b was waiting
    assert jobs(db)[a].claimed_by is None and jobs(db)[a].reason == "list_reload"
    assert job_queue.claim(db, "w2") == [b]
    assert job_queue.done(db, "w1", [a]) == 0
    assert job_queue.claim(db, "w2") == [a]


def test_release_gives_jobs_back_in_their_place(db):
    a, b = make_cases(db, 2)
    queue(db, [a])
    queue(db, [b])
    assert job_queue.claim(db, "w1") == [a, b]
    assert job_queue.release(db, "w1", [a, b]) == 2
    assert job_queue.claim(db, "w2") == [a, b]


def test_a_worker_needs_a_name(db):
    with pytest.raises(InvalidInput, match="worker_id"):
        job_queue.claim(db, " ")
    assert job_queue.claim(db, "w1", limit=0) == []


def test_concurrent_claimers_never_get_the_same_case(db):
    ids = make_cases(db, 240)
    queue(db, ids)
    workers = 4
    barrier = threading.Barrier(workers)
    got: dict[str, list[str]] = {}
    failures: list[BaseException] = []

    def work(name: str) -> None:
        mine: list[str] = []
        try:
            barrier.wait(timeout=HANG_S)
            while True:
                batch = job_queue.claim(db, name, limit=7)
                if not batch:
                    break
                mine.extend(batch)
                job_queue.done(db, name, batch)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)
        got[name] = mine

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG_S)
    assert not failures, failures
    claimed = [c for batch in got.values() for c in batch]
    assert sorted(claimed) == sorted(ids)  # every case once: none twice, none lost
    assert sum(1 for batch in got.values() if batch) >= 2  # they really ran side by side
    assert job_queue.pending(db) == 0
