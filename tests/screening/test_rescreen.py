"""Rescreening after a reload by what changed only (core/screening/rescreen.py) on a real
database: the worker remembers each case's last screening (`screening_case_states`), a
reload's rescreen uses it — and records exactly what a full screening records — while a
subject edit, another threshold, a case without a row or a worker that did not see the
earlier version screen in full."""
from __future__ import annotations

from sqlalchemy import delete, select

from core.cases.read import case_detail
from core.cases.screening_queue import enqueue_rescreen_all
from core.cases.subjects import edit_subject
from core.screening import runner as screening_runner
from core.store.models import CaseScreeningState, ScreeningHit
from core.workflows import admin as wa
from tests.factories import version_of
from tests.screening.test_screener import NORTHWIND, OTHER, VOLKOV, load, push, run

SMIRNOV = {"id": "t-4", "schema": "Person", "name": "Pavel Smirnov", "birth_date": "1975",
           "countries": "ru", "program_ids": "TEST-RUS"}


def current_hits(db) -> set[tuple]:
    with db.read() as s:
        return set(s.execute(select(ScreeningHit.case_id, ScreeningHit.subject_key,
                                    ScreeningHit.entry_id, ScreeningHit.match_hash,
                                    ScreeningHit.score)
                             .where(ScreeningHit.gone_at.is_(None))))


def states(db) -> dict[str, CaseScreeningState]:
    with db.read() as s:
        return {r.case_id: r for r in s.scalars(select(CaseScreeningState))}


def four_cases(db) -> None:
    push(db, "S-1")                                              # Igor Volkov: on the list
    push(db, "S-2", ubo="Pavel Smirnov", dob="1975-04-04")       # on it after the reload
    push(db, "S-3", name="Northwind Maritime Holdings Limited", ubo="Hannah Lindqvist",
         dob="1990-05-05")
    push(db, "S-4", ubo="Adaeze Okonkwo Bright", dob="1980-01-01")


def test_a_reload_rescreens_by_what_changed_and_records_what_a_full_screening_does(db):
    load(db, VOLKOV, NORTHWIND, OTHER)
    four_cases(db)
    first = run(db)
    assert first.delta_subjects == 0   # first screenings: in full
    assert set(states(db)) == {"S-1", "S-2", "S-3", "S-4"}
    assert states(db)["S-1"].lists == [["test-list", 1]]
    # the reload: Smirnov added, Northwind renamed away, Okonkwo-Bright removed
    load(db, VOLKOV, {**NORTHWIND, "name": "Southwind Shipping Co"}, SMIRNOV)
    rescreen = run(db)
    assert rescreen.delta_subjects == 8   # every subject of the four cases
    by_delta = current_hits(db)
    assert {(case, entry) for case, _, entry, _, _ in by_delta} == {("S-1", "t-1"),
                                                                      ("S-2", "t-4")}
    # the same cases screened again in full, as if no memory were kept: nothing changes
    with db.unit_of_work() as s:
        s.execute(delete(CaseScreeningState))
        enqueue_rescreen_all(s, "manual")
    full = run(db)
    assert full.delta_subjects == 0 and full.outcomes == {"unchanged": 4}
    assert current_hits(db) == by_delta


def test_an_edited_subject_is_screened_in_full_the_others_by_what_changed(db):
    load(db, VOLKOV, OTHER)
    push(db, "S-1", assignee="reviewer")
    run(db)
    ubo = f"ubo:{case_detail(db, 'S-1', 'admin').kyc_blocks[0].id}"
    edit_subject(db, "S-1", ubo, {"full_name": "Pavel Smirnov", "date_of_birth": "1975-04-04"},
                 actor="reviewer", expected_version=version_of(db, "S-1"))
    load(db, VOLKOV, OTHER, SMIRNOV)   # the reload and the edit, one rescreen
    rescreen = run(db)
    assert rescreen.delta_subjects == 1   # the entity; the UBO was edited: in full
    assert {(entry, subject) for _, subject, entry, _, _ in current_hits(db)} == {("t-4", ubo)}


def test_another_threshold_screens_in_full(db):
    load(db, VOLKOV, OTHER)
    push(db, "S-1")
    run(db)
    onboarding = wa.get_workflow(db, "onboarding")
    wa.save_workflow(db, {**onboarding, "screening_threshold": 100}, actor="admin",
                     create=False)
    load(db, VOLKOV, OTHER, SMIRNOV)
    rescreen = run(db)
    assert rescreen.delta_subjects == 0
    assert states(db)["S-1"].threshold == 100
    # the same name, birth date and country: 100, a hit at the new threshold too
    assert {(entry, score) for _, _, entry, _, score in current_hits(db)} == {("t-1", 100)}


def test_a_case_without_a_row_or_a_worker_without_the_earlier_index_screens_in_full(db):
    load(db, VOLKOV, OTHER)
    push(db, "S-1")
    push(db, "S-2")
    run(db)
    with db.unit_of_work() as s:   # S-2 was screened before rows were kept
        s.execute(delete(CaseScreeningState).where(CaseScreeningState.case_id == "S-2"))
    load(db, VOLKOV, OTHER, SMIRNOV)
    assert run(db).delta_subjects == 2   # S-1's two subjects; S-2 in full
    assert set(states(db)) == {"S-1", "S-2"}
    screening_runner.forget_indexes()   # a worker restarted: it never saw version 2
    load(db, VOLKOV, SMIRNOV)
    assert run(db).delta_subjects == 0
    assert states(db)["S-1"].lists == [["test-list", 3]]
