"""Intake: the JSON import (checked whole, all or nothing) and the events from outside."""
from __future__ import annotations

import base64
import io
import json
import re
import time
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select

from core.cases.actions import (
    approve_case,
    ask_for_reuploads,
    ask_to_reupload_block,
    assign_case,
    load_case,
)
from core.cases.state import facts_of
from core.cases.status import CaseStatus, derive_case_status
from core.errors import ActionNotAllowed, InvalidInput, NotFound
from core.intake import importer as intake
from core.intake.documents import load_file
from core.intake.importer import EVENTS, apply_event, import_cases, validate_import
from core.store.models import AuditEvent, Base, Case

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cases.json"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
TEN_MB = 10 * 1024 * 1024


def png_bytes(color=(10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), color).save(buffer, "PNG")
    return buffer.getvalue()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def a_case(**fields) -> dict:
    """A valid case of the import format; keyword arguments replace its fields."""
    case = {"workflow": "onboarding",
            "entity": {"type": "business", "name": "Acme Trading Ltd", "country": "GB"},
            "collection_completed": True}
    case.update(fields)
    return case


def a_document(filename="proof.pdf", content=PDF, **fields) -> dict:
    return {"type": "proof_of_address", "properties": {"issuer": "Bank"},
            "file": {"filename": filename, "content_base64": b64(content)}, **fields}


def row_counts(db) -> dict[str, int]:
    with db.read() as session:
        return {table.name: session.scalar(select(func.count()).select_from(table))
                for table in Base.metadata.sorted_tables}


def case_of(db, case_id):
    with db.read() as session:
        case = load_case(session, case_id)
        for document in case.documents:
            list(document.files)
        return case


# --- a good import ------------------------------------------------------------------------

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


# --- a bad import: refused whole, every problem named, nothing written --------------------

def _with(**fields):
    return {"cases": [a_case(**fields)]}


def _entity(**fields):
    entity = {"type": "business", "name": "Acme Trading Ltd", "country": "GB"}
    entity.update(fields)
    return {"cases": [a_case(entity={k: v for k, v in entity.items() if v is not None})]}


def _file(filename="proof.pdf", content=PDF):
    return _with(documents=[a_document(filename, content)])


BAD_IMPORTS = [
    # (name, file, words each expected problem contains)
    ("malformed JSON", b'{"cases": [\n  {"workflow": "onboarding",,\n}]}',
     ["malformed JSON at line 2, column 29: Expecting property name"]),
    ("truncated JSON", b'{"cases": [', ["malformed JSON at line 1, column 12"]),
    ("NaN is not JSON", b'{"cases": [{"risk_score": NaN}]}', ["NaN is not a number JSON allows"]),
    ("not UTF-8", b'{"cases": ["\xff"]}', ["not UTF-8 text (bad byte at offset 12)"]),
    ("nested far too deeply", b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
    ("top level is a list", [a_case()], ['top level: must be an object with a "cases" list']),
    ("no cases", {"case": []}, ["cases: is required", "top level.case: unknown field"]),
    ("empty cases", {"cases": []}, ["cases: is empty"]),
    ("cases is an object", {"cases": {"0": a_case()}}, ["cases: must be a list, got an object"]),
    ("a case is a string", {"cases": ["ACME"]}, ["cases[0]: must be an object, got text"]),
    ("unknown format version", {"format_version": 2, "cases": [a_case()]},
     ["format_version: must be 1"]),
    ("missing workflow", {"cases": [{"entity": a_case()["entity"]}]},
     ["cases[0].workflow: is required"]),
    ("missing entity", {"cases": [{"workflow": "onboarding"}]}, ["cases[0].entity: is required"]),
    ("missing entity fields", _entity(type=None, name=None, country=None),
     ["cases[0].entity.type: is required", "cases[0].entity.name: is required",
      "cases[0].entity.country: is required"]),
    ("unknown workflow", _with(workflow="kyb"), ["cases[0].workflow: unknown workflow 'kyb'"]),
    ("unknown field", _with(colour="red"), ["cases[0].colour: unknown field"]),
    ("entity type", _entity(type="company"),
     ["cases[0].entity.type: must be one of business, person; got 'company'"]),
    ("empty name", _entity(name="  "), ["cases[0].entity.name: must not be empty"]),
    ("name too long", _entity(name="x" * 301), ["cases[0].entity.name: is 301 characters long"]),
    ("lower-case country", _entity(country="gb"),
     ["cases[0].entity.country: must be a 2-letter ISO code"]),
    ("3-letter country", _entity(country="GBR"), ["cases[0].entity.country: is 3 characters"]),
    ("country as a number", _entity(country=44),
     ["cases[0].entity.country: must be text, got a number"]),
    ("bad email", _entity(email="not-an-email"), ["cases[0].entity.email: must be an email"]),
    ("NUL in a name", _entity(name="Acme\u0000Ltd"),
     ["cases[0].entity.name: contains a NUL character"]),
    ("lone surrogate", json.dumps(_with(user_data={"k": "\ud800"})),
     ["cases[0].user_data.k: contains an invalid character (a lone UTF-16 surrogate)"]),
    ("NUL in registry data", _with(registry_data={"a": ["ok", "x\u0000"]}),
     ["cases[0].registry_data.a[1]: contains a NUL character"]),
    ("bad case id", _with(id="a b/c"), ["cases[0].id: must be 1 to 64 letters"]),
    ("case id too long", _with(id="x" * 65), ["cases[0].id: is 65 characters long"]),
    ("risk score as text", _with(risk_score="high"), ["cases[0].risk_score: must be a whole"]),
    ("risk score true", _with(risk_score=True), ["cases[0].risk_score: must be a whole"]),
    ("risk score 101", _with(risk_score=101), ["cases[0].risk_score: must be a whole number"]),
    ("collection_completed as text", _with(collection_completed="yes"),
     ["cases[0].collection_completed: must be true or false, got text"]),
    ("created_at not a date", _with(created_at="yesterday"),
     ["cases[0].created_at: must be an ISO-8601 date-time"]),
    ("created_at in the future", _with(created_at="2999-01-01T00:00:00Z"),
     ["cases[0].created_at: is in the future"]),
    ("tags as text", _with(tags="vip"), ["cases[0].tags: must be a list, got text"]),
    ("empty tag", _with(tags=["ok", ""]), ["cases[0].tags[1]: must not be empty"]),
    ("user_data as a list", _with(user_data=["a"]), ["cases[0].user_data: must be an object"]),
    ("user_data nested", _with(user_data={"address": {"city": "X"}}),
     ["cases[0].user_data.address: must be text, a number, true/false or null"]),
    ("user_data key too long", _with(user_data={"k" * 101: 1}),
     ["cases[0].user_data: field names must be 1 to 100 characters"]),
    ("registry_data too deep", _with(registry_data={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),
     ["cases[0].registry_data.a.b.c.d.e: is nested deeper than 5 levels"]),
    ("enriched_data as text", _with(enriched_data="yes"),
     ["cases[0].enriched_data: must be an object, got text"]),
    ("processes as an object", _with(processes={"name": "x"}),
     ["cases[0].processes: must be a list"]),
    ("process state", _with(processes=[{"name": "screening", "state": "running"}]),
     ["cases[0].processes[0].state: must be one of pending, completed, failed; got 'running'"]),
    ("process without name", _with(processes=[{"state": "pending"}]),
     ["cases[0].processes[0].name: is required"]),
    ("process listed twice", _with(processes=[{"name": "s"}, {"name": "s"}]),
     ["cases[0].processes[1].name: process 's' is listed twice"]),
    ("document without type", _with(documents=[{"properties": {}}]),
     ["cases[0].documents[0].type: is required"]),
    ("document type with spaces", _with(documents=[a_document(type="Proof of address")]),
     ["cases[0].documents[0].type: must be a document type"]),
    ("file without content", _with(documents=[{"type": "passport", "file": {"filename": "a.pdf"}}]),
     ["cases[0].documents[0].file.content_base64: is required"]),
    ("invalid base64", _with(documents=[{"type": "passport", "file": {
        "filename": "a.pdf", "content_base64": "not base64!!"}}]),
     ["cases[0].documents[0].file.content_base64: is not valid base64"]),
    ("empty file", _file(content=b""), ["cases[0].documents[0].file: the file 'proof.pdf' is empty"]),
    ("path traversal", _file("../../etc/passwd.pdf"),
     ["cases[0].documents[0].file: the file name '../../etc/passwd.pdf' contains a path separator"]),
    ("sub folder", _file("a/b.pdf"), ["documents[0].file: the file name 'a/b.pdf' contains a path"]),
    ("drive letter", _file("C:\\x.pdf"), ["documents[0].file: the file name 'C:\\\\x.pdf' contains"]),
    ("NUL in name", _file("x\x00.pdf"), ["documents[0].file: the file name 'x\\x00.pdf' contains a "
                                         "control character (U+0000)"]),
    ("HTML named .pdf", _file("report.pdf", b"<!doctype html><script>alert(1)</script>"),
     ["documents[0].file: the file 'report.pdf' is refused: its content is not a known type"]),
    ("EXE named .pdf", _file("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),
     ["documents[0].file: the file 'report.pdf' is refused: its content is "
      "application/x-msdownload"]),
    ("UBO without name", _with(ubos=[{"email": "a@b.co"}]), ["cases[0].ubos[0].full_name: is required"]),
    ("UBO bad birth date", _with(ubos=[{"full_name": "Jo", "date_of_birth": "1990-02-30"}]),
     ["cases[0].ubos[0].date_of_birth: 1990-02-30 is not a real date"]),
    ("UBO birth date format", _with(ubos=[{"full_name": "Jo", "date_of_birth": "01/02/1990"}]),
     ["cases[0].ubos[0].date_of_birth: must be a date written YYYY-MM-DD"]),
    ("UBO share 150", _with(ubos=[{"full_name": "Jo", "ownership_percent": 150}]),
     ["cases[0].ubos[0].ownership_percent: must be a number from 0 to 100"]),
    ("KYC completed without result", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "completed"}}]),
     ['cases[0].ubos[0].kyc.result: is required when the state is "completed"']),
    ("KYC sent with a result", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "sent",
                                                                        "result": {"a": 1}}}]),
     ['cases[0].ubos[0].kyc.result: must be absent while the state is "sent"']),
    ("KYC state", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "done"}}]),
     ["cases[0].ubos[0].kyc.state: must be one of not_sent, sent, completed"]),
    ("UBO document path trick", _with(ubos=[{"full_name": "Jo", "documents": [a_document("../p.pdf")]}]),
     ["cases[0].ubos[0].documents[0].file: the file name '../p.pdf' contains a path separator"]),
    ("duplicate ids in the file", {"cases": [a_case(id="DUP"), a_case(), a_case(id="DUP")]},
     ["cases[2].id: 'DUP' is also the id of cases[0]"]),
    ("id already in the database", _with(id="EXISTING-1"),
     ["cases[0].id: case 'EXISTING-1' already exists"]),
]


@pytest.fixture
def db_with_a_case(db):
    """The database already holds one imported case (so "nothing written" means something)."""
    import_cases(db, {"cases": [a_case(id="EXISTING-1", documents=[a_document()])]})
    return db


@pytest.mark.parametrize("name, source, expected", BAD_IMPORTS, ids=[b[0] for b in BAD_IMPORTS])
def test_a_bad_file_is_refused_naming_each_problem_and_nothing_is_written(db_with_a_case, name,
                                                                          source, expected):
    before = row_counts(db_with_a_case)
    with pytest.raises(InvalidInput) as refused:
        import_cases(db_with_a_case, source)
    assert str(refused.value).startswith("the import file was refused; nothing was imported")
    problems = refused.value.problems
    for words in expected:
        assert any(words in p for p in problems), f"{words!r} not in {problems}"
        assert words in str(refused.value)
    assert row_counts(db_with_a_case) == before


def test_several_problems_are_all_listed_at_once(db):
    before = row_counts(db)
    source = {"cases": [a_case(id="OK-1"),
                        a_case(workflow="nope", risk_score=-1),
                        a_case(entity={"type": "robot", "name": "", "country": "uk"},
                               documents=[a_document("../x.pdf")]),
                        a_case(id="OK-1", tags="x")]}
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, source)
    assert refused.value.problems == [
        "cases[1].workflow: unknown workflow 'nope' (known: onboarding, ongoing_monitoring)",
        "cases[1].risk_score: must be a whole number from 0 to 100",
        "cases[2].entity.type: must be one of business, person; got 'robot'",
        "cases[2].entity.name: must not be empty",
        "cases[2].entity.country: must be a 2-letter ISO code in capitals, e.g. GB",
        "cases[2].documents[0].file: the file name '../x.pdf' contains a path separator (/ or \\)",
        "cases[3].tags: must be a list, got text",
        "cases[3].id: 'OK-1' is also the id of cases[0]",
    ]
    assert validate_import(source, db) == refused.value.problems
    assert row_counts(db) == before


def test_validate_import_without_a_database_checks_the_file_only():
    assert validate_import({"cases": [a_case(workflow="anything")]}) == []
    assert validate_import(b"{") == ["malformed JSON at line 1, column 2: Expecting property name "
                                     "enclosed in double quotes"]
    assert validate_import({"cases": [a_case(risk_score=7.5)]}) == [
        "cases[0].risk_score: must be a whole number from 0 to 100"]


@pytest.mark.parametrize("place", [
    lambda s: {"entity": {"type": "business", "name": s, "country": "GB"}},
    lambda s: {"user_data": {"note": s}},
    lambda s: {"registry_data": {"filings": [{"text": s}]}},
    lambda s: {"processes": [{"name": "x", "detail": s}]},
    lambda s: {"documents": [a_document(properties={"comment": s})]},
    lambda s: {"ubos": [{"full_name": "Jo", "kyc": {"state": "completed", "result": {"raw": s}}}]},
    lambda s: {"tags": [s]},
    lambda s: {"id": s},
], ids=["entity.name", "user_data", "registry_data", "process detail", "document property",
        "kyc result", "tag", "id"])
def test_a_10_mb_string_anywhere_is_refused_quickly(db, place):
    before = row_counts(db)
    raw = json.dumps({"cases": [a_case(**place("x" * TEN_MB))]}).encode()
    started = time.monotonic()
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, raw)
    assert time.monotonic() - started < 5
    [problem] = refused.value.problems
    assert problem.startswith("cases[0].") and "10,485,760 characters long; at most" in problem
    assert len(str(refused.value)) < 500  # the string itself is never echoed back
    assert row_counts(db) == before


def test_an_oversized_import_file_is_refused_before_it_is_read(db, monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_IMPORT_BYTES", "1000")
    raw = json.dumps({"cases": [a_case(user_data={"pad": "x" * 2000})]}).encode()
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, raw)
    assert refused.value.problems == [f"the file is {len(raw):,} bytes; the limit is 1,000 bytes "
                                      "(DOCKET_MAX_IMPORT_BYTES)"]
    assert row_counts(db)["cases"] == 0


def test_an_oversized_document_file_is_refused(db, monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", "30")
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, _file(content=PDF))
    assert refused.value.problems == [
        "cases[0].documents[0].file.content_base64: the file is larger than the limit of 30 bytes "
        "(DOCKET_MAX_UPLOAD_BYTES)"]
    assert row_counts(db)["file_blobs"] == 0


def test_too_many_cases_in_one_file_are_refused(db, monkeypatch):
    monkeypatch.setattr(intake, "MAX_CASES_PER_FILE", 3)
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, {"cases": [a_case() for _ in range(4)]})
    assert refused.value.problems == ["cases: has 4 entries; at most 3"]


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


# --- events -------------------------------------------------------------------------------

def import_one(db, **fields) -> str:
    [case_id] = import_cases(db, {"cases": [a_case(**fields)]})
    return case_id


def version_of(db, case_id) -> int:
    with db.read() as session:
        return session.get(Case, case_id).version


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
    intake.send_kyc(db, case_id, ubo_id)
    assert case_of(db, case_id).ubos[0].kyc_state == "sent"
    intake.complete_kyc(db, case_id, ubo_id, {"outcome": "clear", "score": 0.93})
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
    intake.upload_document(db, case_id, document_id, "full.pdf", PDF)
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
    case_id = import_one(db, ubos=[NEW_UBO], processes=[{"name": "s", "state": "completed"}],
                         documents=[a_document()])
    assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
    approve_case(db, case_id, actor="reviewer", expected_version=2)
    case = case_of(db, case_id)
    document_id, ubo_id = case.documents[0].id, case.ubos[0].id
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
    assert version_of(db, case_id) == 3


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
        intake.complete_collection(db, "NOPE")


def test_the_event_table_names_every_event_with_a_one_line_help():
    assert list(EVENTS) == ["collection_completed", "process_started", "process_completed",
                            "process_failed", "kyc_sent", "kyc_completed", "document_uploaded"]
    for event in EVENTS.values():
        assert callable(event.function)
        assert event.help and "\n" not in event.help


def test_the_intake_doc_describes_every_event_and_case_field():
    text = (Path(__file__).resolve().parents[2] / "docs" / "INTAKE.md").read_text()
    for name in [*EVENTS, *intake.CASE_FIELDS, *intake.ENTITY_FIELDS, *intake.UBO_FIELDS,
                 *intake.PROCESS_FIELDS, *intake.DOCUMENT_FIELDS, *intake.FILE_FIELDS]:
        assert f"`{name}`" in text, f"docs/INTAKE.md does not mention `{name}`"


def test_a_generated_case_id_never_collides(db, monkeypatch):
    taken = import_one(db, id="C-0000000000")
    tokens = iter(["0000000000", "0000000000", "00000000AA"])
    monkeypatch.setattr(intake.secrets, "token_hex", lambda n: next(tokens).lower())
    ids = import_cases(db, {"cases": [a_case()]})
    assert ids == ["C-00000000AA"] and taken == "C-0000000000"
