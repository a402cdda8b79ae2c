"""Writing a checked import (core.intake.importer): every case in one unit of work, with its
files, its audit event and its derived status."""
from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.cases.actions import load_case
from core.cases.state import facts_of
from core.cases.status import CaseStatus, derive_case_status
from core.intake import importer
from core.intake.checks import validate_import
from core.intake.documents import load_file
from core.intake.importer import import_cases
from core.store.models import AuditEvent
from tests.factories import row_counts
from tests.intake.import_files import a_case, a_document, import_one

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cases.json"


def test_the_example_file_imports_with_statuses_files_and_audit_events(db):
    raw = EXAMPLE.read_bytes()
    assert validate_import(json.loads(raw), db) == []
    ids = import_cases(db, raw, actor="admin")
    assert ids[:3] == ["EX-ONB-001", "EX-ONB-002", "EX-MON-001"]
    assert re.fullmatch(r"C-[0-9A-F]{10}", ids[3])
    expected = {"EX-ONB-001": CaseStatus.PENDING_PROCESS,      # UBOs + a pending process
                "EX-ONB-002": CaseStatus.COLLECTION_FLOW,      # collection not completed
                "EX-MON-001": CaseStatus.PENDING_ID_VERIFICATION,  # UBO KYC sent
                ids[3]: CaseStatus.MANUAL_REVIEW}
    data = json.loads(raw)
    with db.read() as session:
        for case_id, status in expected.items():
            case = load_case(session, case_id)
            assert case.case_status == status.value
            assert derive_case_status(facts_of(case)) is status
            assert case.version == 1
        first = load_case(session, "EX-ONB-001")
        assert first.workflow == "onboarding" and first.entity.country == "HK"
        assert first.risk_score == 62 and first.tags == ["high-value", "asia"]
        assert first.user_data["annual_turnover_usd"] == 4200000
        assert first.registry_data["directors"][0]["name"] == "Wing Chan"
        assert str(first.created_at) == "2024-05-02 09:30:00"
        assert [(p.name, p.state) for p in first.processes] == [
            ("registry_lookup", "completed"), ("sanctions_screening", "pending")]
        assert [(u.full_name, u.kyc_state, u.ownership_percent) for u in first.ubos] == [
            ("Wing Chan", "completed", 60), ("Mei Lin", "not_sent", 40)]
        assert first.ubos[0].kyc_result["outcome"] == "clear"
        ubo_documents = [d for d in first.documents if d.ubo_id is not None]
        assert [(d.document_type, d.ubo_id) for d in ubo_documents] == [
            ("passport", first.ubos[0].id)]
        # every file stored, byte for byte, as version 1
        stored = {f.filename: f.id for d in first.documents for f in d.files}
        assert all(f.version == 1 for d in first.documents for f in d.files)
        events = session.execute(select(AuditEvent.case_id, AuditEvent.kind, AuditEvent.actor)
                                 .where(AuditEvent.case_id.is_not(None))
                                 .order_by(AuditEvent.id)).all()
        # EX-ONB-002 was created in the file's time zone (+01:00) and stored in UTC
        assert str(load_case(session, "EX-ONB-002").created_at) == "2024-05-06 13:00:00"
    for document in data["cases"][0]["documents"]:
        expected_bytes = base64.b64decode(document["file"]["content_base64"])
        name, content_type, content = load_file(db, stored[document["file"]["filename"]])
        assert content == expected_bytes and content_type in ("application/pdf", "image/png")
    assert [tuple(e) for e in events] == [(i, "case.imported", "admin") for i in ids]
    counts = row_counts(db)
    assert (counts["cases"], counts["entities"], counts["ubos"], counts["document_files"]) == (
        4, 4, 3, 6)


def test_a_file_can_be_passed_as_text_or_as_an_object(db):
    assert import_cases(db, json.dumps({"cases": [a_case(id="AS-TEXT")]})) == ["AS-TEXT"]
    assert import_cases(db, {"cases": [a_case(id="AS-OBJECT")]}) == ["AS-OBJECT"]


@pytest.mark.parametrize("fields, status", [
    ({"collection_completed": False}, CaseStatus.COLLECTION_FLOW),
    ({"collection_completed": False, "processes": [{"name": "screening"}]},
     CaseStatus.COLLECTION_FLOW),
    ({}, CaseStatus.MANUAL_REVIEW),
    ({"processes": [{"name": "screening", "state": "pending"}]}, CaseStatus.PENDING_PROCESS),
    ({"processes": [{"name": "screening", "state": "completed"},
                    {"name": "registry", "state": "failed"}]}, CaseStatus.MANUAL_REVIEW),
    ({"ubos": [{"full_name": "Jo Bloggs", "kyc": {"state": "sent"}}]},
     CaseStatus.PENDING_ID_VERIFICATION),
    ({"ubos": [{"full_name": "Jo Bloggs", "kyc": {"state": "not_sent"}}]},
     CaseStatus.MANUAL_REVIEW),
    ({"ubos": [{"full_name": "Jo Bloggs", "kyc": {"state": "completed", "result": {"ok": 1}}}]},
     CaseStatus.MANUAL_REVIEW),
    # rule 5 (pending process) comes before rule 6 (KYC sent)
    ({"processes": [{"name": "screening"}],
      "ubos": [{"full_name": "Jo Bloggs", "kyc": {"state": "sent"}}]}, CaseStatus.PENDING_PROCESS),
])
def test_imported_status_is_derived_per_the_spec_table(db, fields, status):
    [case_id] = import_cases(db, {"cases": [a_case(**fields)]})
    with db.read() as session:
        case = load_case(session, case_id)
        assert case.case_status == status.value
        assert derive_case_status(facts_of(case)) is status
        kinds = list(session.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == case_id)))
    assert kinds == ["case.imported"]


def test_import_reports_progress_and_writes_every_case_in_file_order(db):
    progress = []
    ids = import_cases(db, {"cases": [a_case(id=f"P-{i}") for i in range(3)]},
                       on_progress=lambda done, total: progress.append((done, total)))
    assert ids == ["P-0", "P-1", "P-2"]
    assert progress == [(1, 3), (2, 3), (3, 3)]


def test_the_same_file_content_in_two_documents_is_stored_once(db):
    import_cases(db, {"cases": [a_case(documents=[a_document("a.pdf"), a_document("b.pdf")])]})
    counts = row_counts(db)
    assert (counts["documents"], counts["document_files"], counts["file_blobs"]) == (2, 2, 1)


def test_a_failure_while_writing_rolls_back_every_case(db, monkeypatch):
    calls = []

    def fail_on_second(done, total):
        calls.append(done)
        if done == 2:
            raise RuntimeError("disk full")

    before = row_counts(db)
    with pytest.raises(RuntimeError):
        import_cases(db, {"cases": [a_case(documents=[a_document()]) for _ in range(3)]},
                     on_progress=fail_on_second)
    assert calls == [1, 2]
    assert row_counts(db) == before


def test_a_generated_case_id_never_collides(db, monkeypatch):
    taken = import_one(db, id="C-0000000000")
    tokens = iter(["0000000000", "0000000000", "00000000AA"])
    monkeypatch.setattr(importer.secrets, "token_hex", lambda n: next(tokens).lower())
    ids = import_cases(db, {"cases": [a_case()]})
    assert ids == ["C-00000000AA"] and taken == "C-0000000000"
