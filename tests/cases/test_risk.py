"""A case's explained risk score (core/cases/risk.py): scored when written, scored again on
every change that touches a factor (an edit, a screening hit and its disposition, a
re-upload, a related case rejected), stored and shown in CaseDetail and the API; the
set-based reader agrees with the one-case path; migration 0017 backfills. Runs on SQLite and
on PostgreSQL (DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

from alembic import command
from sqlalchemy import select, update

from core.cases import actions, related, risk
from core.cases.read import case_detail
from core.cases.risk import (
    case_inputs,
    hit_kind,
    inputs_of_cases,
    recompute_risk,
    score_new_cases,
)
from core.intake.importer import import_cases
from core.store.db import alembic_config
from core.store.models import Case, DocumentFile, FileBlob, utcnow
from core.workflows import admin as wa
from core.workflows.risk_model import model_of
from tests.factories import make_case, version_of
from tests.screening.helpers import ENTRY, screen, ubo_case

OWNER = ("Marguerite Okonkwo", "1969-11-23")


def stored(db, case_id):
    with db.read() as s:
        case = s.get(Case, case_id)
        return case.risk_points, case.risk_level, risk.risk_sentences(case.risk_factors)


def _ring_case(case_id: str, *, country: str = "HK", industry: str = "Software",
               ubo: tuple[str, str] | None = OWNER, risk_score: int | None = None) -> dict:
    case = {"id": case_id, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": f"{case_id} Holdings Ltd", "country": country,
                       "email": f"{case_id.lower()}@example.com"},
            "user_data": {"industry": industry}}
    if risk_score is not None:
        case["risk_score"] = risk_score
    if ubo:
        case["ubos"] = [{"full_name": ubo[0], "date_of_birth": ubo[1], "nationality": "GB",
                         "kyc": {"state": "completed", "result": {"outcome": "clear"}}}]
    return case


def _import(db, *cases: dict) -> None:
    """Imports the cases and scores them, as a bulk writer does (`score_new_cases`)."""
    import_cases(db, {"cases": list(cases)})
    with db.unit_of_work() as s:
        assert score_new_cases(s, [c["id"] for c in cases]) == len(cases)


def _reject(db, case_id):
    actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                        expected_version=version_of(db, case_id))
    actions.reject_case(db, case_id, actor="reviewer", reason="ring member",
                        expected_version=version_of(db, case_id))


def test_a_case_is_scored_when_written_and_shows_its_factors(db):
    make_case(db, "C-1", country="IR", ubos=5, user_data={"industry": "Crypto-asset services"})
    make_case(db, "C-2", country="GB")
    assert stored(db, "C-1") == (75, "high", ["+40 country on high-risk list: IR",
                                              "+25 industry: Crypto-asset services",
                                              "+10 UBOs: 5 (at least 4)"])
    detail = case_detail(db, "C-1", "analyst")
    assert (detail.risk_points, detail.risk_level) == (75, "high")
    assert detail.risk_factors[0] == "+40 country on high-risk list: IR"
    assert detail.to_json()["risk_level"] == "high"
    assert stored(db, "C-2") == (0, "low", [])


def test_an_edit_that_touches_a_factor_scores_the_case_again_in_the_same_command(db):
    make_case(db, "C-1", assignee="reviewer", country="GB")
    version = version_of(db, "C-1")
    actions.edit_user_data(db, "C-1", {"industry": "Gambling", "ownership_layers": 3},
                           actor="reviewer", expected_version=version)
    assert stored(db, "C-1") == (40, "medium", ["+25 industry: Gambling",
                                                "+15 ownership layers: 3 (at least 2)"])
    assert version_of(db, "C-1") == version + 1  # one command, one version
    # the registry's value wins over the applicant's
    with db.unit_of_work() as s:
        s.get(Case, "C-1").registry_data = {"industry": "Software"}
    actions.add_note(db, "C-1", "checked the registry", actor="reviewer",
                     expected_version=version_of(db, "C-1"))
    assert stored(db, "C-1")[0] == 15


def test_screening_hits_their_disposition_and_a_pep_list_move_the_score(db):
    from core.screening.dispositions import disposition_hit
    case_id, ubo = ubo_case(db, "S-1", country="GB")
    found = screen(db, case_id, ubo, ENTRY)
    assert stored(db, case_id) == (10, "low", ["+10 open screening hit: 1"])
    disposition_hit(db, found.new[0], "true_match", "same person", actor="reviewer",
                    expected_version=version_of(db, case_id))
    points, level, sentences = stored(db, case_id)
    assert "+100 sanctions true match: 1" in sentences and level == "high"
    assert "+10 open screening hit: 1" in sentences  # awaiting a lead's sign-off
    pep = {**ENTRY, "entry_id": "PEP-1", "dataset": "Demo PEPs", "programme": None}
    found = screen(db, case_id, ubo, ENTRY, pep)
    disposition_hit(db, found.new[0], "true_match", "same person", actor="reviewer",
                    expected_version=version_of(db, case_id))
    assert "+35 PEP true match: 1" in stored(db, case_id)[2]


def test_what_counts_as_a_pep_hit():
    assert hit_kind("EU PEPs", {}) == "pep"
    assert hit_kind("World leaders", {"programme": "Politically Exposed Persons"}) == "pep"
    assert hit_kind("OpenSanctions", {"topics": ["role.pep"]}) == "pep"
    assert hit_kind("OFAC SDN", {"programme": "SDGT"}) == "sanctions"
    assert hit_kind("Peppers Ltd register", {}) == "sanctions"   # a word, not a substring
    assert hit_kind(None, None) == "sanctions"                  # unknown: the stricter kind


def test_document_reuploads_count(db):
    make_case(db, "C-1", assignee="reviewer", documents=2)
    detail = case_detail(db, "C-1", "reviewer")
    with db.unit_of_work() as s:
        s.add(FileBlob(sha256="a" * 64, content_type="application/pdf", size=1, content=b"x"))
        s.flush()
        for document in detail.documents:
            for version in (1, 2, 3):
                s.add(DocumentFile(document_id=document.id, version=version, filename="f.pdf",
                                   blob_sha256="a" * 64, uploaded_at=utcnow()))
    actions.add_note(db, "C-1", "files checked", actor="reviewer",
                     expected_version=version_of(db, "C-1"))
    assert stored(db, "C-1")[2] == ["+10 document re-uploads: 4 (at least 3)"]


def test_the_imported_score_is_one_factor(db):
    _import(db, _ring_case("I-1", ubo=None, risk_score=90))
    assert stored(db, "I-1") == (27, "low", ["+27 imported risk score 90 of 100"])


def test_a_rejection_raises_the_related_cases_score_without_touching_their_version(db):
    _import(db, _ring_case("R-1"), _ring_case("R-2"), _ring_case("R-3"),
            _ring_case("X-1", ubo=("Someone Else", "1980-01-01")))
    version = version_of(db, "R-2")
    assert stored(db, "R-2") == (0, "low", [])
    _reject(db, "R-1")
    assert stored(db, "R-2") == (30, "medium", ["+30 related case rejected: 1"])
    assert stored(db, "R-3")[0] == 30 and stored(db, "X-1")[0] == 0
    assert version_of(db, "R-2") == version
    assert case_detail(db, "R-2", "analyst").risk_factors == ["+30 related case rejected: 1"]
    _reject(db, "R-3")
    assert stored(db, "R-2")[2] == ["+30 related cases rejected: 2"]  # counted, points once


def test_related_cases_scored_again_are_capped(db, monkeypatch):
    _import(db, *[_ring_case(f"R-{i}") for i in range(1, 5)])
    monkeypatch.setattr(risk, "NEIGHBOURS_CAP", 1)
    _reject(db, "R-1")
    raised = [c for c in ("R-2", "R-3", "R-4") if stored(db, c)[0] == 30]
    assert len(raised) == 1
    # the others catch up at their next change
    for case_id in ("R-2", "R-3", "R-4"):
        actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                            expected_version=version_of(db, case_id))
        assert stored(db, case_id)[0] == 30


def test_a_true_match_raises_the_related_cases_score(db):
    from core.screening.dispositions import disposition_hit
    _import(db, _ring_case("T-1"), _ring_case("T-2"))
    actions.assign_case(db, "T-1", "reviewer", actor="reviewer",
                        expected_version=version_of(db, "T-1"))
    ubo = f"ubo:{case_detail(db, 'T-1', 'admin').kyc_blocks[0].id}"
    found = screen(db, "T-1", ubo, {**ENTRY, "name": OWNER[0]})
    disposition_hit(db, found.new[0], "true_match", "same person", actor="reviewer",
                    expected_version=version_of(db, "T-1"))
    assert stored(db, "T-2")[2] == ["+30 related case with a true match: 1"]


def test_many_cases_at_once_read_the_same_inputs_as_one_case(db, monkeypatch):
    monkeypatch.setattr(risk, "COMMON_AFTER", 2)  # a value more than 2 others share: common
    monkeypatch.setattr(related, "COMMON_AFTER", 2)
    cases = [_ring_case("A-1", country="IR", industry="Gambling", risk_score=55),
             _ring_case("A-2"), _ring_case("A-3", ubo=None),
             *[{**_ring_case(f"B-{i}", ubo=("Common Agent", "1950-01-01")),
                "entity": {"type": "business", "name": f"B-{i}", "country": "GB",
                           "email": f"b{i}@example.com"}} for i in range(4)]]
    import_cases(db, {"cases": cases})
    _reject(db, "A-2")
    _reject(db, "B-0")
    case_id, ubo = ubo_case(db, "S-1")
    screen(db, case_id, ubo, ENTRY)
    with db.read() as s:
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
        many = inputs_of_cases(s, ids)
        for case_id in ids:
            case = s.get(Case, case_id)
            model = model_of(wa.get_workflow(db, case.workflow), case.workflow)
            assert many[case_id] == (case.workflow, case_inputs(s, case, model)), case_id
    assert many["A-1"][1]["related_rejected"] == 1
    assert "related_rejected" not in many["B-1"][1]  # shared only a common value


def test_recompute_scores_cases_written_without_a_score(db):
    make_case(db, "C-1", country="IR")
    before = stored(db, "C-1")
    with db.unit_of_work() as s:
        s.execute(update(Case.__table__).values(risk_points=0, risk_level=None,
                                                risk_factors=None))
    assert stored(db, "C-1") == (0, None, [])
    assert case_detail(db, "C-1", "analyst").risk_level is None
    assert recompute_risk(db, actor="admin", only_missing=True) == 1
    assert stored(db, "C-1") == before
    assert recompute_risk(db, actor="admin", only_missing=True) == 0


def test_migration_0017_backfills_existing_cases(db):
    _import(db, _ring_case("R-1", country="IR"), _ring_case("R-2"))
    _reject(db, "R-1")
    make_case(db, "C-1", ubos=4)
    with db.read() as s:
        before = {c.id: (c.risk_points, c.risk_level, c.risk_factors)
                  for c in s.scalars(select(Case))}
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016")
        command.upgrade(cfg, "head")
    with db.read() as s:
        after = {c.id: (c.risk_points, c.risk_level, c.risk_factors)
                 for c in s.scalars(select(Case))}
    assert after == before
    assert after["R-2"][1] == "medium" and after["C-1"][0] == 10
