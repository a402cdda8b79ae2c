"""Recording screenings (core/screening/hits.py): every rescreen rule — kept, re-opened by a
changed entry or changed subject data, carried from an earlier decision in any case, gone and
back — the case's open-hits counter, the audit trail, and refusals that write nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.cases.read import case_detail
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed
from core.screening.dispositions import disposition_hit, sign_off_true_match
from core.screening.inputs import HitInput, Subject, clean_hits, match_hash
from core.store.models import AuditEvent, Case, Ubo
from tests.factories import make_case, row_counts, version_of
from tests.screening.helpers import ENTRY, hit, hits_of, open_hits, screen, ubo_case


def kinds(db, case_id: str) -> list[str]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == case_id)
                              .order_by(AuditEvent.id)))


def clear(db, case_id: str, hit_id: int, reason: str = "different birth year",
          disposition: str = "false_positive", actor: str = "reviewer") -> None:
    disposition_hit(db, hit_id, disposition, reason, actor=actor,
                    expected_version=version_of(db, case_id))


def test_a_first_screening_records_open_hits_and_counts_them(db):
    case_id, ubo = ubo_case(db)
    version = version_of(db, case_id)
    other = {**ENTRY, "entry_id": "UN-9", "dataset": "UN SC", "score": 70}
    summary = screen(db, case_id, ubo, ENTRY, other)
    assert len(summary.new) == 2 and summary.counts()["new"] == 2
    assert summary.open_hits == open_hits(db, case_id) == 2
    assert summary.version == version_of(db, case_id) == version + 1
    stored = hits_of(db, case_id)
    assert [(h.subject_key, h.source, h.entry_id, h.disposition) for h in stored] == [
        (ubo, "api", "SDN-12345", None), (ubo, "api", "UN-9", None)]
    assert stored[0].entry == {"name": "Owner 0", "aliases": ["O. Zero", "Owner Zero"],
                               "birth_dates": ["1970-03-01"], "countries": ["Iran"],
                               "programme": "SDGT",
                               "url": "https://sanctionssearch.example/12345"}
    assert (stored[0].score, stored[0].matched_fields) == (91, ["name", "birth_date"])
    assert stored[0].subject_name == "Owner 0" and len(stored[0].match_hash) == 64
    assert kinds(db, case_id)[-1] == "screening.recorded"


def test_the_same_entry_again_keeps_its_decision_and_changes_nothing(db):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, ENTRY).new[0]
    clear(db, case_id, hit_id)
    first_seen, version = hit(db, hit_id).last_seen_at, version_of(db, case_id)
    events = kinds(db, case_id)
    again = screen(db, case_id, ubo, {**ENTRY, "score": 60, "matched_fields": ["name"]})
    assert again.unchanged == [hit_id] and not again.changed
    kept = hit(db, hit_id)
    assert (kept.disposition, kept.reason) == ("false_positive", "different birth year")
    assert kept.last_seen_at >= first_seen and kept.score == 60  # re-scored, same entry
    assert version_of(db, case_id) == version  # nothing a reviewer must see: no new version
    assert kinds(db, case_id) == events and open_hits(db, case_id) == 0
    shown = case_detail(db, case_id, "reviewer").screening[1].hits[0]
    assert shown.carried_note.startswith("cleared before by reviewer on ")
    assert shown.carried_note.endswith(": different birth year") and not shown.is_open


def test_a_changed_entry_reopens_a_decided_hit_with_an_audit_event(db):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, ENTRY).new[0]
    clear(db, case_id, hit_id)
    assert open_hits(db, case_id) == 0
    summary = screen(db, case_id, ubo, {**ENTRY, "birth_dates": ["1970"]})
    assert summary.reopened == [hit_id] and summary.open_hits == 1
    reopened = hit(db, hit_id)
    assert (reopened.disposition, reopened.reason, reopened.disposed_by) == (None, None, None)
    events = kinds(db, case_id)
    assert events.index("screening.hit_reopened") < len(events) - 1
    assert events[-1] == "screening.recorded"
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "screening.hit_reopened")).one()
    assert event.before["disposition"] == "false_positive"
    assert event.before["reason"] == "different birth year"
    assert event.after["because"] == "the entry or the subject changed"


def test_changed_subject_data_reopens_it(db):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, ENTRY).new[0]
    clear(db, case_id, hit_id)
    with db.unit_of_work() as s:  # the UBO's nationality became known since
        s.execute(update(Ubo).where(Ubo.case_id == case_id).values(nationality="IR"))
    assert screen(db, case_id, ubo, ENTRY).reopened == [hit_id]
    assert hit(db, hit_id).disposition is None and open_hits(db, case_id) == 1


def test_an_undecided_hit_whose_entry_changed_is_updated_not_reopened(db):
    case_id, ubo = ubo_case(db)
    hit_id = screen(db, case_id, ubo, ENTRY).new[0]
    summary = screen(db, case_id, ubo, {**ENTRY, "programme": "IRGC"})
    assert summary.updated == [hit_id] and summary.reopened == []
    assert hit(db, hit_id).entry["programme"] == "IRGC"
    assert "screening.hit_reopened" not in kinds(db, case_id)


def test_a_decision_is_carried_to_the_same_entry_for_the_same_person_in_another_case(db):
    first, ubo = ubo_case(db, "S-1")
    hit_id = screen(db, first, ubo, ENTRY).new[0]
    clear(db, first, hit_id, "born 1970-03-01 in Tehran; ours was born in Leeds")
    second, ubo2 = ubo_case(db, "S-2")  # the same person (Owner 0) in another case
    summary = screen(db, second, ubo2, ENTRY)
    assert summary.new == [] and len(summary.carried) == 1
    carried = hit(db, summary.carried[0])
    assert (carried.disposition, carried.reason, carried.disposed_by, carried.carried_from) == (
        "false_positive", "born 1970-03-01 in Tehran; ours was born in Leeds", "reviewer",
        hit_id)
    assert open_hits(db, second) == 0
    shown = case_detail(db, second, "reviewer").screening[1].hits[0]
    assert shown.carried_note.startswith("cleared before by reviewer on ")
    assert shown.carried_note.endswith(": born 1970-03-01 in Tehran; ours was born in Leeds")
    assert not shown.is_open and "screening.hit_carried" in kinds(db, second)


def test_another_person_with_the_same_entry_is_not_carried(db):
    first, ubo = ubo_case(db, "S-1")
    clear(db, first, screen(db, first, ubo, ENTRY).new[0])
    second, ubo2 = ubo_case(db, "S-2")
    with db.unit_of_work() as s:
        s.execute(update(Ubo).where(Ubo.case_id == second).values(date_of_birth="1985-01-01"))
    summary = screen(db, second, ubo2, ENTRY)
    assert len(summary.new) == 1 and summary.carried == [] and open_hits(db, second) == 1


def test_a_needs_information_hit_is_not_carried_and_stays_open(db):
    first, ubo = ubo_case(db, "S-1")
    hit_id = screen(db, first, ubo, ENTRY).new[0]
    disposition_hit(db, hit_id, "needs_information", None, actor="reviewer",
                    expected_version=version_of(db, first))
    assert open_hits(db, first) == 1  # asking for information is not a decision
    second, ubo2 = ubo_case(db, "S-2")
    assert len(screen(db, second, ubo2, ENTRY).new) == 1


def test_a_signed_off_true_match_is_carried_with_its_sign_off(db):
    first, ubo = ubo_case(db, "S-1")
    hit_id = screen(db, first, ubo, ENTRY).new[0]
    clear(db, first, hit_id, "passport number matches", "true_match")
    sign_off_true_match(db, hit_id, actor="lead", expected_version=version_of(db, first))
    second, ubo2 = ubo_case(db, "S-2")
    carried = hit(db, screen(db, second, ubo2, ENTRY).carried[0])
    assert (carried.disposition, carried.signed_off_by) == ("true_match", "lead")
    assert open_hits(db, second) == 0
    assert case_detail(db, second, "reviewer").screening[1].hits[0].carried_note.startswith(
        "found a true match before by reviewer on ")


def test_a_reopened_hit_whose_new_entry_was_decided_elsewhere_carries_that_decision(db):
    first, ubo = ubo_case(db, "S-1")
    changed = {**ENTRY, "programme": "IRGC"}
    clear(db, first, screen(db, first, ubo, changed).new[0], "checked the IRGC entry")
    second, ubo2 = ubo_case(db, "S-2")
    hit_id = screen(db, second, ubo2, ENTRY).new[0]
    clear(db, second, hit_id, "checked the SDGT entry")
    summary = screen(db, second, ubo2, changed)
    assert summary.carried == [hit_id] and summary.reopened == []
    assert hit(db, hit_id).reason == "checked the IRGC entry"
    assert {"screening.hit_reopened", "screening.hit_carried"} <= set(kinds(db, second))


def test_entries_not_returned_are_gone_and_block_nothing_until_they_come_back(db):
    case_id, ubo = ubo_case(db)
    other = {**ENTRY, "entry_id": "UN-9", "dataset": "UN SC"}
    first = screen(db, case_id, ubo, ENTRY, other)
    kept, dropped = first.new
    summary = screen(db, case_id, ubo, ENTRY)
    assert summary.gone == [dropped] and summary.unchanged == [kept]
    assert hit(db, dropped).gone_at is not None and open_hits(db, case_id) == 1
    back = screen(db, case_id, ubo, ENTRY, other)
    assert back.returned == [dropped] and hit(db, dropped).gone_at is None
    assert open_hits(db, case_id) == 2
    assert screen(db, case_id, ubo).gone == [kept, dropped]  # nothing found: all gone
    assert open_hits(db, case_id) == 0


def test_each_source_and_subject_is_screened_on_its_own(db):
    case_id, ubo = ubo_case(db)
    screen(db, case_id, ubo, ENTRY, source="vendor-a")
    screen(db, case_id, "entity", {**ENTRY, "name": "Acme Trading Ltd"}, source="vendor-a")
    summary = screen(db, case_id, ubo, source="builtin:un_sc")  # another source: no hits
    assert summary.gone == [] and open_hits(db, case_id) == 2
    assert sorted(h.subject_key for h in hits_of(db, case_id)) == sorted(["entity", ubo])


def test_a_ubo_id_alone_names_the_ubo(db):
    case_id, ubo = ubo_case(db)
    number = int(ubo.split(":")[1])
    assert screen(db, case_id, number, ENTRY).subject == ubo
    assert screen(db, case_id, str(number), ENTRY).unchanged


def test_a_stale_expected_version_writes_nothing(db):
    case_id, ubo = ubo_case(db)
    stale = version_of(db, case_id)
    screen(db, case_id, ubo, ENTRY, expected_version=stale)
    before = row_counts(db)
    with pytest.raises(CaseChanged) as changed:
        screen(db, case_id, ubo, {**ENTRY, "entry_id": "X-1"}, expected_version=stale)
    assert changed.value.actual == stale + 1
    assert row_counts(db) == before


def test_a_bad_batch_is_refused_whole_with_every_problem(db):
    case_id, ubo = ubo_case(db)
    before = row_counts(db)
    bad = [ENTRY, {**ENTRY, "score": 101}, {"entry_id": "", "dataset": "UN", "name": "X\x07"},
           {**ENTRY, "birth_dates": ["03/01/1970"], "colour": "red"}, ENTRY,
           {**ENTRY, "entry_id": "Y", "score": 90.5, "url": "javascript:alert(1)"}]
    with pytest.raises(InvalidInput) as refused:
        screen(db, case_id, ubo, *bad)
    problems = refused.value.problems
    for expected in ("hits[1].score: a whole number from 0 to 100",
                     "hits[2].entry_id: text of 1 to 200 characters",
                     "hits[2].name: cannot contain control characters",
                     "hits[3]: unknown field(s) colour",
                     "hits[3].birth_dates[0]: '03/01/1970' is not a date",
                     "hits[4].entry_id: 'SDN-12345' appears twice",
                     "hits[5].score: a whole number", "hits[5].url: an http"):
        assert any(p.startswith(expected) for p in problems), (expected, problems)
    assert row_counts(db) == before


@pytest.mark.parametrize("subject, source, problem", [
    ("ubo:999", "api", "subject: case S-1 has no UBO 999"),
    ("owner", "api", "subject: 'owner' is not a subject"),
    ("entity", "Vendor A!", "source: 1 to 80 characters"),
])
def test_an_unknown_subject_or_a_bad_source_is_refused(db, subject, source, problem):
    ubo_case(db)
    before = row_counts(db)
    with pytest.raises(InvalidInput) as refused:
        screen(db, "S-1", subject, ENTRY, source=source)
    assert any(p.startswith(problem) for p in refused.value.problems), refused.value.problems
    assert row_counts(db) == before


def test_who_may_report_a_screening(db):
    case_id, ubo = ubo_case(db)
    for actor in ("reviewer", "lead", "analyst"):  # as for outside events: importing cases
        with pytest.raises(NotAllowed):
            screen(db, case_id, ubo, ENTRY, actor=actor)
    assert screen(db, case_id, ubo, ENTRY, actor="system").new  # the built-in screener
    assert hits_of(db, case_id)[0].source == "api"


def test_a_decided_case_is_not_screened(db):
    make_case(db, "S-9", collection_completed=True, reviewed=True, assignee="reviewer")
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "S-9")
                  .values(decision="approved", case_status="approved"))
    before = row_counts(db)
    with pytest.raises(ActionNotAllowed, match="final"):
        screen(db, "S-9", "entity", ENTRY)
    assert row_counts(db) == before


def test_the_match_hash_reads_the_entry_and_the_subject_not_the_score():
    person = Subject("ubo:1", "Owner 0", "1970-03-01", "GB")
    [entry] = clean_hits([ENTRY])
    digest = match_hash(entry, person)
    rescored = HitInput(**{**entry.__dict__, "score": 12, "url": None,
                           "aliases": tuple(reversed(entry.aliases)), "matched_fields": ()})
    assert match_hash(rescored, person) == digest
    assert match_hash(HitInput(**{**entry.__dict__, "programme": "IRGC"}), person) != digest
    assert match_hash(entry, Subject("ubo:1", "Owner 0", "1970-03-01", "IR")) != digest
    assert match_hash(entry, Subject("ubo:2", "Owner 0", "1970-03-01", "GB")) == digest
