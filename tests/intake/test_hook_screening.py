"""A hook source's mapping that turns a screening vendor's results into screening hits
(core/intake/hook_mapping.py, screening rules): checked whole when saved, planned from a
ComplyAdvantage search result, and applied through `receive` with the screening handler."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.cases.read import case_detail
from core.errors import InvalidInput, Unauthenticated
from core.intake import hook_mapping, hooks
from core.screening.hits import record_hooked_screening
from core.screening.inputs import HIT_FIELDS
from core.store.models import AuditEvent, HookMessage, ScreeningHit
from tests.factories import make_case, row_counts
from tests.intake.hook_payloads import (
    COMPLYADVANTAGE_MAPPING,
    body_of,
    complyadvantage_hit,
    search_result,
    signed,
)


def test_the_hit_fields_are_the_screenings():
    assert hook_mapping.HIT_FIELDS == HIT_FIELDS


def test_a_complyadvantage_search_result_plans_hits():
    mapping = hook_mapping.validate_mapping(COMPLYADVANTAGE_MAPPING)
    planned = hook_mapping.plan(mapping, search_result("ACME-0400:7", complyadvantage_hit()))
    assert (planned.event, planned.case_id, planned.unfit) == ("screening", "ACME-0400", None)
    assert planned.params == {"subject": "7", "hits": [{
        "entry_id": "TPD7IM2E6LW91J3", "dataset": "ComplyAdvantage",
        "name": "Miller Alexey Borisovich", "aliases": ["Alexey Miller", "Алексей Миллер"],
        "birth_dates": ["1962-01-31", "1962-01-31"], "countries": ["Russian Federation"],
        "programme": "pep, pep-class-2, sanction", "matched_fields": ["name_exact"]}]}
    nothing = hook_mapping.plan(mapping, search_result("ACME-0400:entity"))
    assert nothing.params == {"subject": "entity", "hits": []}


def test_a_result_without_its_hits_does_not_fit():
    mapping = hook_mapping.validate_mapping(COMPLYADVANTAGE_MAPPING)
    payload = search_result("ACME-0400:entity")
    del payload["content"]["data"]["hits"]
    planned = hook_mapping.plan(mapping, payload)
    assert planned.unfit is not None
    assert "screening.hits: the payload has no list at content.data.hits" in \
        planned.unfit.problems


def test_a_bad_screening_rule_is_refused_with_every_problem():
    bad = {"case_id": "ref", "rules": [
        {"when": {}, "event": "kyc_sent", "screening": {"subject": "s", "hits": "h", "hit": {}}},
        {"when": {}, "screening": {"subject": "s", "hits": "h", "hit": {
            "name": {"path": "a", "pluck": ""}, "colour": "c",
            "aliases": {"path": "a", "where": {"k": "v"}, "join": ""}}}},
        {"when": {}, "screening": {"hits": "h"}},
    ]}
    with pytest.raises(InvalidInput) as refused:
        hook_mapping.validate_mapping(bad)
    problems = refused.value.problems
    for expected in ("rules[0]: a screening rule has no event or params",
                     "rules[0].screening.hit.entry_id: a hit needs it",
                     "rules[1].screening.hit.name.pluck: the key to take",
                     "rules[1].screening.hit.colour: not a hit field",
                     "rules[1].screening.hit.aliases.where: goes with pluck",
                     "rules[1].screening.hit.aliases.join: the separator is 1 to",
                     "rules[2].screening: an object with subject, hits and hit"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)


@pytest.fixture
def source(db):
    return hooks.create_source(db, "complyadvantage", mapping=COMPLYADVANTAGE_MAPPING,
                               acting_user="admin", actor="admin").secret


def test_a_signed_result_becomes_hits_of_the_subject(db, source):
    make_case(db, "ACME-0400", ubos=1, reviewed=True, assignee="reviewer")
    ubo = case_detail(db, "ACME-0400", "reviewer").kyc_blocks[0].id
    body = body_of(search_result(f"ACME-0400:{ubo}", complyadvantage_hit()))
    outcome = hooks.receive(db, "complyadvantage", signed(source, body), body,
                            screening=record_hooked_screening)
    assert (outcome.outcome, outcome.event, outcome.detail) == ("applied", "screening", "rule 1")
    with db.read() as s:
        stored = s.scalars(select(ScreeningHit)).one()
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "screening.recorded")).one()
    assert (stored.source, stored.subject_key, stored.entry_id) == (
        "complyadvantage", f"ubo:{ubo}", "TPD7IM2E6LW91J3")
    assert stored.entry["birth_dates"] == ["1962-01-31"] and stored.score is None
    assert (event.actor, event.via) == ("admin", "hook complyadvantage")


def test_a_tampered_signature_is_refused_and_nothing_is_recorded(db, source):
    make_case(db, "ACME-0400", reviewed=True, assignee="reviewer")
    body = body_of(search_result("ACME-0400:entity", complyadvantage_hit()))
    headers = signed(source, body)
    tampered = body.replace(b"Miller Alexey", b"Millar Alexey")
    before = row_counts(db)
    with pytest.raises(Unauthenticated):
        hooks.receive(db, "complyadvantage", headers, tampered,
                      screening=record_hooked_screening)
    assert row_counts(db) == before


def test_hits_the_screening_refuses_are_recorded_as_refused(db, source):
    make_case(db, "ACME-0400", reviewed=True, assignee="reviewer")
    body = body_of(search_result("ACME-0400:entity", complyadvantage_hit(birth="31.01.1962")))
    with pytest.raises(InvalidInput):
        hooks.receive(db, "complyadvantage", signed(source, body), body,
                      screening=record_hooked_screening)
    with db.read() as s:
        message = s.scalars(select(HookMessage)).one()
        assert s.scalars(select(ScreeningHit)).all() == []
    assert message.outcome == "refused" and "birth_dates" in message.detail


def test_without_a_screening_handler_the_callback_is_refused(db, source):
    make_case(db, "ACME-0400", reviewed=True, assignee="reviewer")
    body = body_of(search_result("ACME-0400:entity", complyadvantage_hit()))
    with pytest.raises(InvalidInput, match="no screening handler"):
        hooks.receive(db, "complyadvantage", signed(source, body), body)
