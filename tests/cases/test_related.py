"""Related cases (core/cases/related.py): a ring behind one owner is found with the shared
value, status and decision; what must not link does not; a common value is named, not
listed; the list is capped with the rest counted; only readers see it; the summary a risk
rule reads. Runs on SQLite and on PostgreSQL (DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

import pytest

from core.access.users import set_disabled
from core.cases import actions, related
from core.cases.related import related_cases, related_summary
from core.errors import NotAllowed, NotFound
from core.intake.importer import import_cases
from core.store.models import ScreeningHit, utcnow
from tests.factories import status_of, version_of

OWNER = ("Marguerite Okonkwo", "1969-11-23")


def _case(case_id: str, *, country: str = "HK", reg: str = "", phone: str = "",
          email: str = "", ubo: tuple[str, str] | None = None, address: str = "") -> dict:
    case = {"id": case_id, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": f"{case_id} Holdings Ltd", "country": country,
                       "email": email or f"{case_id.lower()}@example.com", "phone": phone,
                       "registration_number": reg},
            "user_data": {"address": address} if address else {}}
    if ubo:
        case["ubos"] = [{"full_name": ubo[0], "date_of_birth": ubo[1],
                         "kyc": {"state": "completed", "result": {"outcome": "clear"}}}]
    return case


def _import(db, *cases: dict) -> None:
    import_cases(db, {"cases": list(cases)})


def _reject(db, case_id: str) -> None:
    actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                        expected_version=version_of(db, case_id))
    actions.reject_case(db, case_id, actor="reviewer", reason="ring member",
                        expected_version=version_of(db, case_id))


def _true_match(db, case_id: str) -> None:
    now = utcnow()
    with db.unit_of_work() as s:
        s.add(ScreeningHit(case_id=case_id, subject_key="entity", subject_name="x",
                           source="api", dataset="OFAC SDN", entry_id="E-1", entry={},
                           matched_fields=["name"], match_hash="0" * 64, first_seen_at=now,
                           last_seen_at=now, disposition="true_match", reason="same person"))


def test_a_ring_behind_one_owner_is_found_with_what_it_shares(db):
    _import(db, _case("R-1", ubo=OWNER), _case("R-2", ubo=OWNER),
            _case("R-3", ubo=("MARGUERITE  okonkwo", OWNER[1])),
            _case("R-4", ubo=(OWNER[0], "1969-11-24")),     # another birth date
            _case("R-5", ubo=(OWNER[0], "")))               # no birth date: not a person key
    _reject(db, "R-2")
    found = related_cases(db, "R-1", "analyst")
    assert [c.case_id for c in found.cases] == ["R-2", "R-3"]  # the rejected one first
    assert found.total == 2 and found.more == 0 and found.common == []
    rejected = found.cases[0]
    assert (rejected.decision, rejected.status, rejected.status_label) == (
        "rejected", "rejected", "Rejected")
    assert rejected.entity_name == "R-2 Holdings Ltd" and rejected.telling
    assert [(s.kind, s.label, s.shown) for s in rejected.shared] == [
        ("person", "Person (name and birth date)", "Marguerite Okonkwo, born 1969-11-23")]
    assert found.cases[1].decision is None and found.cases[1].status == status_of(db, "R-3")
    assert related_cases(db, "R-4", "analyst").total == 0


def test_what_must_not_link_does_not(db):
    _import(db, _case("N-1", country="DE", reg="12345"), _case("N-2", country="GB", reg="12345"),
            _case("N-3", address="Central, Hong Kong"), _case("N-4", address="Central, Hong Kong"),
            _case("N-5", email="ka.wai@outlook.com"), _case("N-6", email="kawai@outlook.com"))
    for case_id in ("N-1", "N-3", "N-5"):
        assert related_cases(db, case_id, "analyst").total == 0


def test_the_same_value_written_two_ways_links(db):
    _import(db, _case("W-1", phone="+852 2111 0001", address="Flat 3C, 8 Nathan Road, Jordan"),
            _case("W-2", phone="2111-0001", address="flat 3c 8 nathan rd. jordan"))
    shared = related_cases(db, "W-1", "analyst").cases[0].shared
    assert {s.kind for s in shared} == {"phone", "address"}
    assert {s.shown for s in shared} == {"+852 2111 0001", "Flat 3C, 8 Nathan Road, Jordan"}


def test_a_common_value_is_named_not_listed(db, monkeypatch):
    monkeypatch.setattr(related, "COMMON_AFTER", 3)
    monkeypatch.setattr(related, "COUNT_CAP", 4)
    _import(db, *(_case(f"P-{i}", phone="+852 2000 0000") for i in range(6)),
            _case("P-6", email="p-0@example.com"))
    found = related_cases(db, "P-0", "analyst")
    assert [c.case_id for c in found.cases] == ["P-6"] and found.total == 1
    [common] = found.common
    assert (common.kind, common.shown, common.others, common.capped) == (
        "phone", "+852 2000 0000", 4, True)
    monkeypatch.setattr(related, "COUNT_CAP", 10)
    [common] = related_cases(db, "P-0", "analyst").common
    assert (common.others, common.capped) == (5, False)


def test_the_list_is_capped_and_the_rest_counted(db, monkeypatch):
    monkeypatch.setattr(related, "SHOWN_CASES", 2)
    _import(db, *(_case(f"L-{i}", ubo=OWNER) for i in range(5)))
    found = related_cases(db, "L-0", "analyst")
    assert len(found.cases) == 2 and found.total == 4 and found.more == 2


def test_only_readers_see_it(db):
    _import(db, _case("V-1", ubo=OWNER), _case("V-2", ubo=OWNER))
    assert related_cases(db, "V-1", "analyst").total == 1
    set_disabled(db, "analyst", True)
    with pytest.raises(NotAllowed):
        related_cases(db, "V-1", "analyst")
    with pytest.raises(NotAllowed):
        related_cases(db, "V-1", "nobody")
    with pytest.raises(NotFound):
        related_cases(db, "V-404", "reviewer")


def test_an_edit_links_the_case_at_once(db):
    _import(db, _case("E-1", phone="+852 2333 4444"), _case("E-2"))
    assert related_cases(db, "E-1", "analyst").total == 0
    actions.assign_case(db, "E-2", "reviewer", actor="reviewer",
                        expected_version=version_of(db, "E-2"))
    actions.edit_user_data(db, "E-2", {"phone": "2333 4444"}, actor="reviewer",
                           expected_version=version_of(db, "E-2"))
    assert [c.case_id for c in related_cases(db, "E-1", "analyst").cases] == ["E-2"]


def test_the_summary_a_risk_rule_reads(db, monkeypatch):
    monkeypatch.setattr(related, "COMMON_AFTER", 3)
    _import(db, *(_case(f"S-{i}", ubo=OWNER) for i in range(4)),
            *(_case(f"T-{i}", phone="+852 2999 0000") for i in range(5)),
            _case("S-4", email="unrelated@example.com"))
    assert not related_summary_of(db, "S-4").raises_risk
    _reject(db, "S-1")
    _true_match(db, "S-2")
    summary = related_summary_of(db, "S-0")
    assert (summary.related, summary.rejected, summary.true_match_cases) == (3, 1, 1)
    assert summary.by_decision == {"rejected": 1} and sum(summary.by_status.values()) == 3
    assert summary.by_status["rejected"] == 1 and summary.raises_risk
    # a common value (a phone on 5 cases, over 3 others) counts as one, its cases not at all
    summary = related_summary_of(db, "T-0")
    assert (summary.related, summary.common_values, summary.raises_risk) == (0, 1, False)


def related_summary_of(db, case_id: str):
    with db.read() as s:
        return related_summary(s, case_id)
