"""Outside events (core.intake.events): each moves the status as the spec says, is audited and
bumps the version once; a refused event says why and writes nothing."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.cases.actions import (
    approve_block,
    approve_case,
    ask_for_reuploads,
    ask_to_reupload_block,
    assign_case,
)
from core.cases.state import facts_of
from core.cases.status import CaseStatus, derive_case_status
from core.errors import ActionNotAllowed, InvalidInput, NotFound
from core.intake.documents import load_file
from core.intake.events import (
    EVENTS,
    apply_event,
    complete_collection,
    complete_kyc,
    send_kyc,
    upload_document,
)
from core.store.models import AuditEvent
from tests.factories import row_counts, version_of
from tests.intake.import_files import PDF, a_document, case_of, import_one, png_bytes


def ubo_id_of(db, case_id, index=0) -> int:
    return case_of(db, case_id).ubos[index].id


def audit_kinds(db, case_id) -> list[str]:
    with db.read() as session:
        return list(session.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == case_id)
                                    .order_by(AuditEvent.id)))


SENT_UBO = {"full_name": "Jo Bloggs", "kyc": {"state": "sent"}}
NEW_UBO = {"full_name": "Jo Bloggs"}

EVENT_TABLE = [
    # (case fields, event, params, status before, status after, audit kind)
    ({"collection_completed": False, "processes": [{"name": "screening"}]},
     "collection_completed", {}, "collection_flow", "pending_process", "collection.completed"),
    ({"collection_completed": False}, "collection_completed", {},
     "collection_flow", "manual_review", "collection.completed"),
    ({"processes": [{"name": "screening"}]}, "process_completed", {"name": "screening"},
     "pending_process", "manual_review", "process.completed"),
    ({"processes": [{"name": "screening"}]}, "process_failed",
     {"name": "screening", "detail": "vendor down"}, "pending_process", "manual_review",
     "process.failed"),
    ({"processes": [{"name": "screening"}], "ubos": [SENT_UBO]}, "process_completed",
     {"name": "screening"}, "pending_process", "pending_id_verification", "process.completed"),
    ({}, "process_started", {"name": "sanctions_screening"}, "manual_review", "pending_process",
     "process.started"),
    ({"processes": [{"name": "screening", "state": "failed"}]}, "process_started",
     {"name": "screening"}, "manual_review", "pending_process", "process.started"),
    ({"ubos": [NEW_UBO]}, "kyc_sent", {}, "manual_review", "pending_id_verification", "kyc.sent"),
    ({"ubos": [SENT_UBO]}, "kyc_completed", {"result": {"outcome": "clear"}},
     "pending_id_verification", "manual_review", "kyc.completed"),
    ({"ubos": [NEW_UBO]}, "kyc_completed", {"result": {"outcome": "clear"}},
     "manual_review", "manual_review", "kyc.completed"),
    ({"collection_completed": False, "ubos": [NEW_UBO]}, "kyc_sent", {},
     "collection_flow", "collection_flow", "kyc.sent"),
]


@pytest.mark.parametrize("fields, event, params, before, after, kind", EVENT_TABLE,
                         ids=[f"{row[1]}->{row[4]}" for row in EVENT_TABLE])
def test_each_event_moves_the_status_as_the_spec_says(db, fields, event, params, before, after,
                                                      kind):
    case_id = import_one(db, **fields)
    assert case_of(db, case_id).case_status == before
    if event.startswith("kyc_"):
        params = {"ubo_id": ubo_id_of(db, case_id), **params}
    status = apply_event(db, case_id, event, actor="vendor-hook", **params)
    assert status == CaseStatus(after)
    case = case_of(db, case_id)
    assert case.case_status == after == derive_case_status(facts_of(case)).value
    assert case.version == 2  # one event, one version bump
    kinds = audit_kinds(db, case_id)
    assert kinds[:2] == ["case.imported", kind]
    assert kinds[2:] == ([] if before == after else ["case.status_changed"])


def test_kyc_events_store_the_state_and_the_vendor_result(db):
    case_id = import_one(db, ubos=[NEW_UBO])
    ubo_id = ubo_id_of(db, case_id)
    send_kyc(db, case_id, ubo_id)
    assert case_of(db, case_id).ubos[0].kyc_state == "sent"
    complete_kyc(db, case_id, ubo_id, {"outcome": "clear", "score": 0.93})
    ubo = case_of(db, case_id).ubos[0]
    assert (ubo.kyc_state, ubo.kyc_result) == ("completed", {"outcome": "clear", "score": 0.93})


def test_a_document_reupload_after_ask_for_reuploads_returns_the_case_to_manual_review(db):
    first = png_bytes((1, 2, 3))
    case_id = import_one(db, documents=[a_document("passport.png", first)])
    document_id = case_of(db, case_id).documents[0].id
    assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
    ask_to_reupload_block(db, case_id, f"document:{document_id}", actor="reviewer",
                          expected_version=2, reason="Bad image quality")
    assert ask_for_reuploads(db, case_id, actor="reviewer", expected_version=3) == 1
    case = case_of(db, case_id)
    assert (case.case_status, case.documents[0].block_status) == ("revisions", "pending_reupload")

    second = png_bytes((200, 100, 50))
    status = apply_event(db, case_id, "document_uploaded", document_id=document_id,
                         filename="passport-rescan.png", content=second)
    assert status is CaseStatus.MANUAL_REVIEW
    case = case_of(db, case_id)
    document = case.documents[0]
    assert (case.case_status, case.version) == ("manual_review", 5)
    assert (document.block_status, document.reupload_reason) == (None, None)
    assert [(f.version, f.filename) for f in document.files] == [
        (1, "passport.png"), (2, "passport-rescan.png")]
    assert load_file(db, document.files[0].id)[2] == first     # the old version is kept
    assert load_file(db, document.files[1].id)[2] == second
    assert audit_kinds(db, case_id)[-2:] == ["document.uploaded", "case.status_changed"]


def test_a_document_marked_reupload_needed_returns_to_awaiting_review_on_upload(db):
    case_id = import_one(db, documents=[a_document()])
    document_id = case_of(db, case_id).documents[0].id
    assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
    ask_to_reupload_block(db, case_id, f"document:{document_id}", actor="reviewer",
                          expected_version=2, reason="Missing page")
    upload_document(db, case_id, document_id, "full.pdf", PDF)
    document = case_of(db, case_id).documents[0]
    assert (document.block_status, document.reupload_reason) == (None, None)


def test_a_kyc_result_after_a_kyc_reupload_request_returns_the_block_to_review(db):
    case_id = import_one(db, ubos=[{"full_name": "Jo", "kyc": {"state": "completed",
                                                               "result": {"outcome": "blurry"}}}])
    ubo_id = ubo_id_of(db, case_id)
    assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
    ask_to_reupload_block(db, case_id, f"kyc:{ubo_id}", actor="reviewer", expected_version=2,
                          reason="Photo unreadable")
    assert case_of(db, case_id).case_status == "revisions"
    assert apply_event(db, case_id, "kyc_completed", ubo_id=str(ubo_id),
                       result='{"outcome": "clear"}') is CaseStatus.MANUAL_REVIEW
    ubo = case_of(db, case_id).ubos[0]
    assert (ubo.block_status, ubo.reupload_reason, ubo.kyc_state, ubo.kyc_result) == (
        None, None, "completed", {"outcome": "clear"})


def test_the_document_uploaded_event_reads_a_file_path_for_the_cli(db, tmp_path):
    case_id = import_one(db, collection_completed=False, documents=[a_document()])
    document_id = case_of(db, case_id).documents[0].id
    path = tmp_path / "new-proof.pdf"
    path.write_bytes(PDF + b"% v2\n")
    apply_event(db, case_id, "document_uploaded", document_id=str(document_id), path=str(path))
    files = case_of(db, case_id).documents[0].files
    assert [(f.version, f.filename, f.uploaded_by) for f in files] == [
        (1, "proof.pdf", "applicant"), (2, "new-proof.pdf", "system")]


def test_events_on_a_final_case_are_refused_and_write_nothing(db):
    done_ubo = {**NEW_UBO, "kyc": {"state": "completed", "result": {"decision": "clear"}}}
    case_id = import_one(db, ubos=[done_ubo], processes=[{"name": "s", "state": "completed"}],
                         documents=[a_document()])
    assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
    case = case_of(db, case_id)
    document_id, ubo_id = case.documents[0].id, case.ubos[0].id
    # onboarding approves only a case whose every block is reviewed
    approve_block(db, case_id, f"document:{document_id}", actor="reviewer", expected_version=2)
    approve_block(db, case_id, f"kyc:{ubo_id}", actor="reviewer", expected_version=3)
    approve_case(db, case_id, actor="reviewer", expected_version=4)
    before = row_counts(db)
    for event, params in [("collection_completed", {}), ("process_started", {"name": "s"}),
                          ("kyc_sent", {"ubo_id": ubo_id}),
                          ("kyc_completed", {"ubo_id": ubo_id, "result": {}}),
                          ("document_uploaded", {"document_id": document_id,
                                                 "filename": "x.pdf", "content": PDF})]:
        with pytest.raises(ActionNotAllowed,
                           match=f"event {event} refused: case {case_id} is Approved, which is final"):
            apply_event(db, case_id, event, **params)
    assert row_counts(db) == before
    assert version_of(db, case_id) == 5


@pytest.mark.parametrize("fields, event, params, error, message", [
    ({}, "collection_completed", {}, ActionNotAllowed, "already completed the collection flow"),
    ({}, "process_completed", {"name": "ghost"}, NotFound, "has no process 'ghost'"),
    ({"processes": [{"name": "s", "state": "completed"}]}, "process_failed", {"name": "s"},
     ActionNotAllowed, "process 's' of case"),
    ({"processes": [{"name": "s"}]}, "process_started", {"name": "s"}, ActionNotAllowed,
     "is already pending"),
    ({}, "process_started", {"name": ""}, InvalidInput, "a process name must be 1 to 64"),
    ({}, "process_started", {"name": "s", "detail": "a\x00b"}, InvalidInput,
     "the detail must be text"),
    ({"ubos": [SENT_UBO]}, "kyc_sent", {"ubo_id": "FIRST"}, ActionNotAllowed, "was already sent"),
    ({"ubos": [NEW_UBO]}, "kyc_sent", {"ubo_id": 999999}, NotFound, "has no UBO 999999"),
    ({"ubos": [NEW_UBO]}, "kyc_sent", {"ubo_id": "abc"}, InvalidInput, "must be a number"),
    ({"ubos": [SENT_UBO]}, "kyc_completed", {"ubo_id": "FIRST", "result": "[1]"}, InvalidInput,
     "result: must be an object, got a list"),
    ({"ubos": [SENT_UBO]}, "kyc_completed", {"ubo_id": "FIRST", "result": "{oops"}, InvalidInput,
     "result must be a JSON object"),
    ({"ubos": [SENT_UBO]}, "kyc_completed", {"ubo_id": "FIRST", "result": {"x": "y" * 10_001}},
     InvalidInput, "result.x: is 10,001 characters long"),
    ({"documents": [a_document()]}, "document_uploaded",
     {"document_id": "FIRST", "filename": "../../etc/passwd.pdf", "content": PDF}, InvalidInput,
     "path separator"),
    ({"documents": [a_document()]}, "document_uploaded",
     {"document_id": "FIRST", "filename": "x.pdf", "content": b"<html></html>"}, InvalidInput,
     "not a known type"),
    ({"documents": [a_document()]}, "document_uploaded",
     {"document_id": 999999, "filename": "x.pdf", "content": PDF}, NotFound,
     "has no document 999999"),
    ({"documents": [a_document()]}, "document_uploaded", {"document_id": "FIRST"}, InvalidInput,
     "needs filename, content"),
    ({}, "case_exploded", {}, InvalidInput, "unknown event 'case_exploded'; events: "
                                            "collection_completed, process_started"),
    ({}, "process_completed", {}, InvalidInput, "event process_completed needs name"),
    ({}, "kyc_sent", {"ubo": 1}, InvalidInput, "does not take ubo (parameters: ubo_id)"),
])
def test_a_refused_event_says_why_and_writes_nothing(db, fields, event, params, error, message):
    case_id = import_one(db, **fields)
    case = case_of(db, case_id)
    params = dict(params)
    for key, rows in (("ubo_id", case.ubos), ("document_id", case.documents)):
        if params.get(key) == "FIRST":
            params[key] = rows[0].id
    before = row_counts(db)
    with pytest.raises(error, match=re.escape(message)):
        apply_event(db, case_id, event, **params)
    assert row_counts(db) == before
    assert version_of(db, case_id) == 1


def test_an_event_on_an_unknown_case_is_not_found(db):
    with pytest.raises(NotFound, match="case 'NOPE' not found"):
        complete_collection(db, "NOPE")


def test_the_event_table_names_every_event_with_a_one_line_help():
    assert list(EVENTS) == ["collection_completed", "process_started", "process_completed",
                            "process_failed", "kyc_sent", "kyc_completed", "document_uploaded",
                            "relationship_ended"]
    for event in EVENTS.values():
        assert callable(event.function)
        assert event.help and "\n" not in event.help


def test_the_intake_doc_describes_every_event():
    text = (Path(__file__).resolve().parents[2] / "docs" / "INTAKE.md").read_text()
    for name in EVENTS:
        assert f"`{name}`" in text, f"docs/INTAKE.md does not mention `{name}`"
