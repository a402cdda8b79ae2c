"""The built-in screener end to end on a real database: a list loaded, cases queued by
intake, subject edits and list reloads, the runner screening them, decisions sticking across
rescreens, and an approved customer's new hits opening a monitoring review."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from core.cases import actions as ca
from core.cases.read import case_detail
from core.cases.subjects import edit_subject
from core.errors import InvalidInput, NotAllowed
from core.intake.importer import import_cases
from core.screening import job_queue
from core.screening.dispositions import disposition_hit
from core.screening.lists import load_list
from core.screening.monitoring import REVIEW_TAG
from core.screening.runner import ScreeningRunner
from core.store.models import AuditEvent, Case, ScreeningHit
from core.workflows import admin as wa
from tests.factories import version_of

HEADER = ["id", "schema", "name", "aliases", "birth_date", "countries", "addresses",
          "identifiers", "sanctions", "phones", "emails", "program_ids", "dataset",
          "first_seen", "last_seen", "last_change"]
VOLKOV = {"id": "t-1", "schema": "Person", "name": "Igor Volkov",
          "aliases": "Игорь Волков;Igor Wolkow", "birth_date": "1966-02-11", "countries": "ru",
          "program_ids": "TEST-RUS"}
NORTHWIND = {"id": "t-2", "schema": "Company", "name": "Northwind Maritime Holdings Ltd",
             "countries": "cy", "program_ids": "TEST-SHIP"}
OTHER = {"id": "t-3", "schema": "Person", "name": "Adaeze Okonkwo-Bright",
         "birth_date": "1980", "countries": "ng"}


def list_file(*entries: dict) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, HEADER, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writeheader()
    for e in entries:
        writer.writerow({k: e.get(k, "") for k in HEADER})
    return out.getvalue().encode()


def load(db, *entries: dict):
    return load_list(db, "test-list", list_file(*entries), fmt="opensanctions", actor="admin",
                     title="Test sanctions")


def push(db, case_id: str, name: str = "Quietbrook Supplies GmbH", ubo: str = "Igor Volkov",
         dob: str = "1966-02-11", assignee: str | None = None) -> str:
    import_cases(db, {"cases": [{
        "id": case_id, "workflow": "onboarding", "collection_completed": True,
        "entity": {"type": "business", "name": name, "country": "DE"},
        "ubos": [{"full_name": ubo, "date_of_birth": dob, "nationality": "RU",
                  "kyc": {"state": "completed", "result": {"outcome": "clear"}}}]}]},
        actor="admin")
    if assignee:
        ca.assign_case(db, case_id, assignee, actor="admin",
                       expected_version=version_of(db, case_id))
    return case_id


def run(db) -> ScreeningRunner:
    runner = ScreeningRunner(db, worker_id="test-runner")
    runner.drain()
    return runner


def hits(db, case_id: str, *, current: bool = True) -> list[ScreeningHit]:
    with db.read() as s:
        stmt = select(ScreeningHit).where(ScreeningHit.case_id == case_id)
        if current:
            stmt = stmt.where(ScreeningHit.gone_at.is_(None))
        return list(s.scalars(stmt.order_by(ScreeningHit.id)))


def events(db, kind: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.kind == kind)) or 0


def test_intake_queues_a_case_and_the_runner_finds_its_ubo_on_the_list(db):
    load(db, VOLKOV, OTHER)
    push(db, "S-1")
    push(db, "S-2", ubo="Hannah Lindqvist", dob="1990-05-05")
    assert job_queue.pending(db) == 2
    runner = run(db)
    assert job_queue.pending(db) == 0
    assert runner.outcomes == {"recorded": 1, "unchanged": 1}
    [hit] = hits(db, "S-1")
    assert (hit.entry_id, hit.source, hit.dataset) == ("t-1", "builtin:test-list",
                                                       "Test sanctions")
    assert hit.subject_key.startswith("ubo:") and hit.disposition is None
    assert "birth_date" in hit.matched_fields and hit.score >= 80
    assert hits(db, "S-2") == []
    with db.read() as s:
        assert s.get(Case, "S-1").open_hits == 1


def test_without_a_list_intake_queues_nothing(db):
    push(db, "S-1")
    assert job_queue.pending(db) == 0


def test_a_rescreen_that_finds_the_same_writes_nothing(db):
    load(db, VOLKOV)
    push(db, "S-1")
    run(db)
    version, recorded = version_of(db, "S-1"), events(db, "screening.recorded")
    load(db, VOLKOV, OTHER)  # another entry: every case is screened again
    runner = run(db)
    assert runner.outcomes == {"unchanged": 1}
    assert version_of(db, "S-1") == version
    assert events(db, "screening.recorded") == recorded


def test_a_cleared_hit_stays_cleared_and_a_changed_entry_reopens_it(db):
    load(db, VOLKOV)
    push(db, "S-1", assignee="reviewer")
    run(db)
    [hit] = hits(db, "S-1")
    disposition_hit(db, hit.id, "false_positive", "Different person: passport checked",
                    actor="reviewer", expected_version=version_of(db, "S-1"), case_id="S-1")
    load(db, VOLKOV, OTHER)
    run(db)
    [kept] = hits(db, "S-1")
    assert (kept.id, kept.disposition) == (hit.id, "false_positive")
    load(db, {**VOLKOV, "program_ids": "TEST-RUS;TEST-CYBER"}, OTHER)  # the entry changed
    run(db)
    [reopened] = hits(db, "S-1")
    assert reopened.id == hit.id and reopened.disposition is None
    assert events(db, "screening.hit_reopened") == 1


def test_an_entry_removed_from_the_list_makes_its_hit_gone(db):
    load(db, VOLKOV, OTHER)
    push(db, "S-1")
    run(db)
    load(db, OTHER)
    run(db)
    assert hits(db, "S-1") == []
    [gone] = hits(db, "S-1", current=False)
    assert gone.gone_at is not None
    with db.read() as s:
        assert s.get(Case, "S-1").open_hits == 0


def test_a_subject_edit_queues_the_case_and_reopens_a_decided_hit(db):
    load(db, VOLKOV)
    push(db, "S-1", dob="1966-02-12", assignee="reviewer")
    run(db)
    [hit] = hits(db, "S-1")
    disposition_hit(db, hit.id, "false_positive", "Born a day later than the listed person",
                    actor="reviewer", expected_version=version_of(db, "S-1"), case_id="S-1")
    ubo = case_detail(db, "S-1", "admin").kyc_blocks[0].id
    changed = edit_subject(db, "S-1", f"ubo:{ubo}", {"date_of_birth": "1966-02-11"},
                           actor="reviewer", expected_version=version_of(db, "S-1"))
    assert changed == 1 and job_queue.pending(db) == 1
    run(db)
    [hit] = hits(db, "S-1")
    assert hit.disposition is None  # the subject's data changed: decided again
    assert events(db, "subject.edited") == 1


def test_a_subject_edit_is_checked_whole_and_only_by_the_assignee(db):
    push(db, "S-1", assignee="reviewer")
    version = version_of(db, "S-1")
    with pytest.raises(InvalidInput) as refused:
        edit_subject(db, "S-1", "entity", {"name": " ", "country": "Germany", "iban": "x"},
                     actor="reviewer", expected_version=version)
    assert len(refused.value.problems) == 3
    with pytest.raises(NotAllowed):
        edit_subject(db, "S-1", "entity", {"name": "Quietbrook GmbH"}, actor="reviewer2",
                     expected_version=version)
    assert version_of(db, "S-1") == version and events(db, "subject.edited") == 0


def test_the_workflow_threshold_decides_what_is_a_hit(db):
    load(db, VOLKOV)
    push(db, "S-1", ubo="Igor Volkova", dob="")  # close, but not the same name
    run(db)
    loose = len(hits(db, "S-1"))
    onboarding = wa.get_workflow(db, "onboarding")
    wa.save_workflow(db, {**onboarding, "screening_threshold": 100}, actor="admin",
                     create=False)
    push(db, "S-2", ubo="Igor Volkova", dob="")
    run(db)
    assert len(hits(db, "S-2")) <= loose and hits(db, "S-2") == []


def approved_case(db, case_id: str, ubo: str = "Hannah Lindqvist") -> str:
    push(db, case_id, ubo=ubo, dob="1990-05-05", assignee="reviewer")
    with db.unit_of_work() as s:  # every block reviewed, as a reviewer would have
        case = s.get(Case, case_id)
        for block in [*case.documents, *case.ubos]:
            block.block_status, block.reviewed_by = "approved", "reviewer"
        case.version += 1
    ca.approve_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))
    return case_id


def test_new_hits_on_an_approved_customer_open_one_monitoring_review(db):
    hannah = {"id": "t-9", "schema": "Person", "name": "Hannah Lindqvist",
              "birth_date": "1990-05-05", "countries": "se"}
    load(db, OTHER)
    approved_case(db, "S-1")
    run(db)
    version = version_of(db, "S-1")
    load(db, OTHER, hannah)
    runner = run(db)
    assert runner.outcomes["review_opened"] == 1
    assert version_of(db, "S-1") == version and hits(db, "S-1") == []  # final: untouched
    with db.read() as s:
        [review] = s.scalars(select(Case).where(Case.origin_case_id == "S-1")).all()
        assert (review.workflow, review.case_status) == ("ongoing_monitoring", "manual_review")
        assert REVIEW_TAG in (review.tags or []) and review.open_hits == 1
        review_id = review.id
    assert [h.entry_id for h in hits(db, review_id)] == ["t-9"]
    assert events(db, "screening.review_opened") == 1
    # a later new entry goes to the review still open, not to a second one
    load(db, OTHER, hannah, {**hannah, "id": "t-10", "countries": "se;no"})
    runner = run(db)
    assert runner.outcomes["review_updated"] == 1
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)
                        .where(Case.origin_case_id == "S-1")) == 1
    assert {h.entry_id for h in hits(db, review_id)} == {"t-9", "t-10"}


def test_an_approved_customer_whose_new_hit_was_cleared_before_gets_no_review(db):
    hannah = {"id": "t-9", "schema": "Person", "name": "Hannah Lindqvist",
              "birth_date": "1990-05-05", "countries": "se"}
    load(db, OTHER, hannah)
    push(db, "S-0", ubo="Hannah Lindqvist", dob="1990-05-05", assignee="reviewer")
    run(db)
    [hit] = hits(db, "S-0")
    disposition_hit(db, hit.id, "false_positive", "Known customer, different person",
                    actor="reviewer", expected_version=version_of(db, "S-0"), case_id="S-0")
    load(db, OTHER)
    run(db)
    approved_case(db, "S-1")
    load(db, OTHER, hannah)
    runner = run(db)
    assert runner.outcomes.get("review_opened", 0) == 0
    assert runner.outcomes["known"] == 1


def test_a_rejected_case_is_not_screened(db):
    load(db, VOLKOV)
    push(db, "S-1", assignee="reviewer")
    run(db)
    ca.reject_case(db, "S-1", actor="reviewer", expected_version=version_of(db, "S-1"),
                   reason="Fraudulent documents")
    load(db, VOLKOV, OTHER)
    assert job_queue.pending(db) == 0  # a reload queues open and approved cases only
