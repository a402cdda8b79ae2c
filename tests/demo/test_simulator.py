"""The simulator: cases from templates (real PNG files), the outside world's steps through the
intake events, the status and case actions after each, and who may use it when."""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

from core.cases import actions as case_actions
from core.cases.read import case_detail
from core.demo import simulator
from core.demo.simulator import CaseTemplate
from core.errors import ActionNotAllowed, InvalidInput, NotAllowed
from core.intake.documents import content_type_of, load_file
from core.store.models import AuditEvent
from core.workflows.definitions import definition_of
from tests.factories import row_counts, version_of


@pytest.fixture
def sim_on(monkeypatch):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")


def _step(db, case_id, kind, target=None):
    steps = simulator.world_steps(case_detail(db, case_id))
    return next(s for s in steps if s.kind == kind and (target is None or s.target == target))


def _allowed(db, case_id):
    return {a.label for a in simulator.case_actions_now(db, case_id) if a.allowed}


def test_business_template_makes_a_real_case_with_png_files(db, sim_on):
    case_id = simulator.create_case(db, CaseTemplate(kind="business", ubos=2), actor="admin")
    d = case_detail(db, case_id)
    assert case_id.startswith("SIM-") and d.tags == ["simulator"]
    assert d.status == "collection_flow" and d.entity["type"] == "business"
    assert [b.document_type for b in d.documents] == ["certificate_of_incorporation",
                                                      "proof_of_address"]
    assert len(d.kyc_blocks) == 2 and all(k.kyc_state == "not_sent" for k in d.kyc_blocks)
    assert all(len(k.documents) == 1 for k in d.kyc_blocks)
    for block in [*d.documents, *(doc for k in d.kyc_blocks for doc in k.documents)]:
        _, content_type, content = load_file(db, block.files[0].id)
        assert content_type == "image/png" and content_type_of(content) == "image/png"
    assert {p["name"]: p["state"] for p in d.processes} == {"registry_lookup": "pending",
                                                            "sanctions_screening": "pending"}
    assert _allowed(db, case_id) == set()


def test_person_template_has_no_ubos(db, sim_on):
    case_id = simulator.create_case(
        db, CaseTemplate(kind="person", workflow="ongoing_monitoring", ubos=3,
                         documents=("passport",), processes=()), actor="reviewer")
    d = case_detail(db, case_id)
    assert d.entity["type"] == "person" and d.kyc_blocks == []
    assert [b.document_type for b in d.documents] == ["passport"]


def test_round_trip_from_collection_flow_to_manual_review(db, sim_on):
    case_id = simulator.create_case(db, CaseTemplate(ubos=1), actor="admin")
    ubo = str(case_detail(db, case_id).kyc_blocks[0].id)
    seen = []
    for kind, target in [("collection", None), ("process_completed", "registry_lookup"),
                         ("process_failed", "sanctions_screening"), ("kyc_sent", ubo),
                         ("kyc_completed", ubo)]:
        status = simulator.play(db, case_id, _step(db, case_id, kind, target), actor="admin",
                                vendor_result="face_mismatch")
        seen.append((status.value, frozenset(_allowed(db, case_id))))
    # Approve waits until every block is reviewed (onboarding's rule); Ask for all re-uploads
    # needs N > 0
    manual = frozenset({"Reject"})
    assert seen == [
        ("pending_process", frozenset({"Reject"})),
        ("pending_process", frozenset({"Reject"})),
        ("manual_review", manual),
        ("pending_id_verification", frozenset({"Reject"})),
        ("manual_review", manual),
    ]
    kyc = case_detail(db, case_id).kyc_blocks[0]
    assert kyc.kyc_result["face_match"] == 0.41
    with db.read() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.case_id == case_id)))
    assert "admin (simulator)" in actors


def test_reupload_after_a_reviewer_asks_returns_to_manual_review(db, sim_on):
    case_id = simulator.create_case(db, CaseTemplate(kind="person", processes=(),
                                                     documents=("passport",)), actor="admin")
    simulator.play(db, case_id, _step(db, case_id, "collection"), actor="admin")
    case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                        expected_version=version_of(db, case_id))
    ref = case_detail(db, case_id).documents[0].ref
    case_actions.ask_to_reupload_block(db, case_id, ref, actor="reviewer",
                                       expected_version=version_of(db, case_id),
                                       reason="Bad image quality")
    case_actions.ask_for_reuploads(db, case_id, actor="reviewer",
                                   expected_version=version_of(db, case_id))
    assert case_detail(db, case_id).status == "revisions"
    step = _step(db, case_id, "document_uploaded")
    assert step.extra["status"] == "Pending re-upload"
    assert simulator.play(db, case_id, step, actor="reviewer").value == "manual_review"
    doc = case_detail(db, case_id).documents[0]
    assert [f.version for f in doc.files] == [1, 2] and doc.status == "awaiting_review"
    assert doc.files[1].filename == "passport_v2.png"


def test_final_cases_offer_no_world_steps(db, sim_on):
    case_id = simulator.create_case(db, CaseTemplate(kind="person", processes=()), actor="admin")
    simulator.play(db, case_id, _step(db, case_id, "collection"), actor="admin")
    case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                        expected_version=version_of(db, case_id))
    case_actions.reject_case(db, case_id, actor="reviewer",
                             expected_version=version_of(db, case_id), reason="test")
    assert simulator.world_steps(case_detail(db, case_id)) == []
    with pytest.raises(ActionNotAllowed, match="final"):
        simulator.document_reuploaded(db, case_id, case_detail(db, case_id).documents[0].id,
                                      actor="admin")


def test_analysts_may_not_simulate(db, sim_on):
    before = row_counts(db)
    with pytest.raises(NotAllowed, match="analyst"):
        simulator.create_case(db, CaseTemplate(), actor="analyst")
    assert row_counts(db) == before


@pytest.mark.parametrize("setting, demo, enabled", [
    ("on", "off", True), ("off", "on", False), ("auto", "on", True), ("auto", "off", False)])
def test_the_switch(db, monkeypatch, setting, demo, enabled):
    monkeypatch.setenv("DOCKET_SIMULATOR", setting)
    monkeypatch.setenv("DOCKET_DEMO_MODE", demo)
    if enabled:
        simulator.create_case(db, CaseTemplate(kind="person"), actor="admin")
    else:
        with pytest.raises(NotAllowed, match="simulator is off"):
            simulator.create_case(db, CaseTemplate(kind="person"), actor="admin")


def test_bad_templates(db, sim_on):
    with pytest.raises(InvalidInput, match="template"):
        simulator.create_case(db, CaseTemplate(kind="robot"), actor="admin")
    with pytest.raises(InvalidInput, match="no document type"):
        simulator.create_case(db, CaseTemplate(documents=("tax_return",)), actor="admin")
    with pytest.raises(InvalidInput, match="vendor result"):
        simulator.kyc_completed(db, "X", 1, "great", actor="admin")


@pytest.mark.parametrize("kind, workflow, expected", [
    ("person", "onboarding", ("passport", "proof_of_address")),
    ("person", "ongoing_monitoring", ("passport", "proof_of_address")),
    ("business", "onboarding", ("certificate_of_incorporation", "proof_of_address")),
    ("business", "ongoing_monitoring", ("proof_of_address", "bank_statement")),
])
def test_each_template_starts_with_its_own_documents(db, sim_on, kind, workflow, expected):
    """A person (KYC) starts with an identity document and a proof of address, never a
    company's certificate of incorporation (issue #18.7); a company as before."""
    with db.read() as s:
        types = definition_of(s, workflow)["document_types"]
    assert simulator.default_documents(kind, types) == expected
    case_id = simulator.create_case(db, CaseTemplate(kind=kind, workflow=workflow),
                                    actor="admin")
    assert tuple(d.document_type for d in case_detail(db, case_id).documents) == expected


def test_each_world_step_says_whose_document_it_is(db, sim_on):
    """Three UBOs with a passport each: three re-upload steps, each naming its UBO (they
    all read "Applicant re-uploads Passport" before, issue #18.7)."""
    case_id = simulator.create_case(db, CaseTemplate(ubos=3), actor="admin")
    steps = simulator.world_steps(case_detail(db, case_id))
    uploads = [s.label for s in steps if s.kind == "document_uploaded"]
    assert uploads == ["Applicant re-uploads Certificate of incorporation",
                       "Applicant re-uploads Proof of address",
                       "Applicant re-uploads Passport of Mei Chen",
                       "Applicant re-uploads Passport of Lukas Becker",
                       "Applicant re-uploads Passport of Amara Okafor"]
    assert len({s.label for s in steps}) == len(steps)


def test_two_subjects_of_one_name_still_get_distinct_steps(db, sim_on):
    case_id = simulator.create_case(db, CaseTemplate(ubos=2), actor="admin")
    detail = case_detail(db, case_id)
    twins = replace(detail, kyc_blocks=[replace(k, full_name="Sam Lee")
                                        for k in detail.kyc_blocks])
    labels = [s.label for s in simulator.world_steps(twins)]
    assert "KYC flow sent to Sam Lee" in labels and "KYC flow sent to Sam Lee (2)" in labels
    assert "Applicant re-uploads Passport of Sam Lee (2)" in labels
    assert len(set(labels)) == len(labels)
