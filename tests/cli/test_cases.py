"""The case commands of `python -m core` (core/cli/cases.py) run for real against a temporary
database: each test asserts what the command changed there, or printed, not only that it ran."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import create_engine, func, inspect, select

from core.cases.status import CaseStatus
from core.store.db import Database
from core.store.models import (
    AuditEvent,
    Base,
    Case,
    Decision,
    Document,
    DocumentFile,
    Note,
    Process,
    Ubo,
    View,
    Workflow,
)
from core.workflows.definitions import DEFAULT_WORKFLOWS
from core.worklist.views import DEFAULT_VIEWS
from tests.factories import make_case, row_counts, status_of, version_of

# The event types `python -m core event` takes, written out: a new one must be added here
# (and given a test below) on purpose.
EVENT_TYPES = ["collection_completed", "process_started", "process_completed", "process_failed",
               "kyc_sent", "kyc_completed", "document_uploaded", "relationship_ended"]

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def case_row(db, case_id: str) -> dict:
    """What the act tests look at: the case's own columns, its blocks, notes and decisions."""
    with db.read() as s:
        c = s.get(Case, case_id)
        return {
            "status": c.case_status, "version": c.version, "assignee": c.assignee,
            "decision": c.decision, "decision_reason": c.decision_reason,
            "decided_by": c.decided_by, "user_data": dict(c.user_data or {}),
            "documents": [(d.id, d.block_status, d.reupload_reason) for d in
                          s.scalars(select(Document).where(Document.case_id == case_id)
                                    .order_by(Document.id))],
            "ubos": [(u.id, u.kyc_state, u.block_status) for u in
                     s.scalars(select(Ubo).where(Ubo.case_id == case_id).order_by(Ubo.id))],
            "notes": [(n.author, n.body) for n in
                      s.scalars(select(Note).where(Note.case_id == case_id).order_by(Note.id))],
            "decisions": [(d.action, d.reason, d.actor) for d in
                          s.scalars(select(Decision).where(Decision.case_id == case_id)
                                    .order_by(Decision.id))],
        }


def first_document(db, case_id: str) -> int:
    return case_row(db, case_id)["documents"][0][0]


def first_ubo(db, case_id: str) -> int:
    return case_row(db, case_id)["ubos"][0][0]


def status_line(db, case_id: str, label: str) -> str:
    return f"{case_id}: {label} (version {version_of(db, case_id)})\n"


# --- init, demo ---------------------------------------------------------------------------

def test_init_creates_schema_workflows_and_views_and_a_second_run_changes_nothing(
        tmp_path, monkeypatch, cli):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"  # nothing there yet, not even the file
    monkeypatch.setenv("DOCKET_DATABASE_URL", url)
    code, out, err = cli("init")
    assert (code, out, err) == (0, f"database ready: {url}\n", "")
    engine = create_engine(url)
    try:
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    db = Database(url)
    try:
        with db.read() as s:
            assert set(s.scalars(select(Workflow.name))) == set(DEFAULT_WORKFLOWS)
            views = list(s.scalars(select(View.name).order_by(View.position)))
        assert views == [v["name"] for v in DEFAULT_VIEWS]
        before = row_counts(db)
        assert before["cases"] == 0
        assert cli("init") == (0, f"database ready: {url}\n", "")
        assert row_counts(db) == before
        with db.read() as s:
            assert list(s.scalars(select(View.name).order_by(View.position))) == views
    finally:
        db.dispose()


def test_demo_generates_the_number_of_cases_asked_for(cli_db, cli):
    code, out, err = cli("demo", "--cases", "7", "--seed", "3")
    assert code == 0, err
    assert re.fullmatch(r"generated 7 demo cases in \d+\.\d s\n", out)
    with cli_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 7
    code, _, err = cli("demo", "--cases", "0")
    assert (code, err) == (1, "error: --cases must be at least 1\n")
    with cli_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 7



def test_demo_refuses_a_bad_count_before_touching_the_database(tmp_path, monkeypatch, cli):
    path = tmp_path / "untouched.sqlite"
    monkeypatch.setenv("DOCKET_DATABASE_URL", f"sqlite:///{path}")
    code, _, err = cli("demo", "--cases", "-5")
    assert (code, err) == (1, "error: --cases must be at least 1\n")
    assert not path.exists()

# --- act: every action, and what it changed -----------------------------------------------

def test_act_approve(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer", reviewed=True)
    code, out, err = cli("act", "A-1", "approve", "--as", "reviewer", "--reason", "all good")
    assert code == 0, err
    assert out == status_line(cli_db, "A-1", "Approved")
    row = case_row(cli_db, "A-1")
    assert (row["status"], row["decision"], row["decision_reason"], row["decided_by"]) == (
        "approved", "approved", "all good", "reviewer")
    assert row["decisions"] == [("approve", "all good", "reviewer")]


def test_act_reject(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer")
    code, out, err = cli("act", "A-1", "reject", "--as", "reviewer", "--reason", "fake papers")
    assert code == 0, err
    assert out == status_line(cli_db, "A-1", "Rejected")
    row = case_row(cli_db, "A-1")
    assert (row["status"], row["decision"], row["decision_reason"]) == (
        "rejected", "rejected", "fake papers")
    assert row["decisions"] == [("reject", "fake papers", "reviewer")]


def test_act_ask_to_reupload_marks_the_document(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer", documents=2)
    doc = first_document(cli_db, "A-1")
    code, _, err = cli("act", "A-1", "ask-to-reupload", "--as", "reviewer",
                       "--block", f"document:{doc}", "--reason", "Expired document")
    assert code == 0, err
    row = case_row(cli_db, "A-1")
    assert row["documents"][0] == (doc, "reupload_needed", "Expired document")
    assert row["documents"][1][1] is None  # the other document is untouched
    assert row["status"] == "manual_review"  # nothing is sent until ask-for-reuploads


def test_act_ask_to_reupload_a_kyc_block_sends_a_new_kyc_flow(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer", ubos=1)
    ubo = first_ubo(cli_db, "A-1")
    code, _, err = cli("act", "A-1", "ask-to-reupload", "--as", "reviewer",
                       "--block", f"kyc:{ubo}", "--reason", "Blurry photo")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["ubos"] == [(ubo, "sent", "pending_reupload")]


def test_act_undo_reupload(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer")
    doc = first_document(cli_db, "A-1")
    assert cli("act", "A-1", "ask-to-reupload", "--as", "reviewer", "--block", f"document:{doc}",
               "--reason", "Missing page")[0] == 0
    code, _, err = cli("act", "A-1", "undo-reupload", "--as", "reviewer",
                       "--block", f"document:{doc}")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["documents"] == [(doc, None, None)]


def test_act_ask_for_reuploads_sends_the_marked_blocks(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer", documents=2)
    doc = first_document(cli_db, "A-1")
    assert cli("act", "A-1", "ask-to-reupload", "--as", "reviewer", "--block", f"document:{doc}",
               "--reason", "Missing page")[0] == 0
    code, out, err = cli("act", "A-1", "ask-for-reuploads", "--as", "reviewer")
    assert code == 0, err
    assert out == "asked for 1 re-upload(s)\n" + status_line(cli_db, "A-1", "Revisions")
    row = case_row(cli_db, "A-1")
    assert row["status"] == "revisions"
    assert [d[1] for d in row["documents"]] == ["pending_reupload", None]
    assert row["decisions"] == [("ask_for_reuploads", None, "reviewer")]


def test_act_approve_block(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer")
    doc = first_document(cli_db, "A-1")
    code, _, err = cli("act", "A-1", "approve-block", "--as", "reviewer",
                       "--block", f"document:{doc}")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["documents"] == [(doc, "approved", None)]
    with cli_db.read() as s:
        assert s.get(Document, doc).reviewed_by == "reviewer"


def test_act_assign_to_self_and_by_an_admin(cli_db, cli):
    make_case(cli_db, "A-1")
    code, _, err = cli("act", "A-1", "assign", "--as", "reviewer")  # no --to: themself
    assert code == 0, err
    assert case_row(cli_db, "A-1")["assignee"] == "reviewer"
    code, _, err = cli("act", "A-1", "assign", "--as", "admin", "--to", "reviewer2")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["assignee"] == "reviewer2"


def test_act_unassign(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer")
    code, _, err = cli("act", "A-1", "unassign", "--as", "admin")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["assignee"] is None


def test_act_note(cli_db, cli):
    make_case(cli_db, "A-1")
    code, _, err = cli("act", "A-1", "note", "--as", "reviewer", "--text", "Called the owner")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["notes"] == [("reviewer", "Called the owner")]


def test_act_edit_sets_each_field(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer", user_data={"industry": "trading"})
    code, _, err = cli("act", "A-1", "edit", "--as", "reviewer", "--set", "industry=banking",
                       "--set", "website=https://acme.example/?a=b")
    assert code == 0, err
    assert case_row(cli_db, "A-1")["user_data"] == {"industry": "banking",
                                                    "website": "https://acme.example/?a=b"}
    with cli_db.read() as s:
        edits = s.scalars(select(AuditEvent).where(AuditEvent.kind == "user_data.edited")
                          .order_by(AuditEvent.id)).all()
    assert [e.after["field"] for e in edits] == ["industry", "website"]


REFUSED = [  # (argv after CASE, the one error line)
    (["approve", "--as", "reviewer2"],
     "error: only the case's assignee may do this; case R-1 is assigned to reviewer "
     "(take it with Assign to me)\n"),
    (["reject", "--as", "reviewer"], "reason is required"),
    (["approve", "--as", "reviewer", "--version", "99"], "This case changed since you opened it"),
    (["approve-block", "--as", "reviewer"],
     "error: approve-block needs --block document:ID or kyc:ID\n"),
    (["edit", "--as", "reviewer", "--set", "industry"],
     "error: --set takes FIELD=VALUE, got 'industry'\n"),
    (["assign", "--as", "analyst"], "analyst"),
    (["note", "--as", "reviewer", "--text", "   "], "error: a note cannot be empty\n"),
]


@pytest.mark.parametrize("argv,error", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_a_refused_act_leaves_the_database_unchanged(cli_db, cli, argv, error):
    make_case(cli_db, "R-1", assignee="reviewer")
    before_case, before_rows = case_row(cli_db, "R-1"), row_counts(cli_db)
    code, out, err = cli("act", "R-1", *argv)
    assert code == 1 and out == "" and err.startswith("error: ") and err.count("\n") == 1
    assert err == error if error.endswith("\n") else error in err
    assert case_row(cli_db, "R-1") == before_case
    assert row_counts(cli_db) == before_rows


# --- event: every event type --------------------------------------------------------------

def test_the_cli_names_exactly_these_event_types(cli_db, cli, capsys):
    with pytest.raises(SystemExit):
        cli("event", "--help")
    help_text = " ".join(capsys.readouterr().out.split())
    assert ", ".join(EVENT_TYPES) in help_text
    make_case(cli_db, "E-1")
    code, _, err = cli("event", "E-1", "no_such_event")
    assert code == 1
    assert err == f"error: unknown event 'no_such_event'; events: {', '.join(EVENT_TYPES)}\n"


def _processes(db, case_id):
    with db.read() as s:
        return [(p.name, p.state, p.detail) for p in
                s.scalars(select(Process).where(Process.case_id == case_id))]


# One function per event type: makes case E-1, runs the event, asserts what changed, and
# returns the command's (code, out, err).

def event_collection_completed(db, cli, tmp_path):
    make_case(db, "E-1", collection_completed=False)
    assert status_of(db, "E-1") == "collection_flow"
    result = cli("event", "E-1", "collection_completed")
    with db.read() as s:
        assert s.get(Case, "E-1").collection_completed is True
    assert status_of(db, "E-1") == "manual_review"
    return result


def event_process_started(db, cli, tmp_path):
    make_case(db, "E-1")
    result = cli("event", "E-1", "process_started", "--process", "sanctions")
    assert _processes(db, "E-1") == [("sanctions", "pending", "")]
    assert status_of(db, "E-1") == "pending_process"
    return result


def event_process_completed(db, cli, tmp_path):
    make_case(db, "E-1", processes=("pending",))
    result = cli("event", "E-1", "process_completed", "--process", "registry_lookup_0")
    assert _processes(db, "E-1") == [("registry_lookup_0", "completed", "")]
    assert status_of(db, "E-1") == "manual_review"
    return result


def event_process_failed(db, cli, tmp_path):
    make_case(db, "E-1", processes=("pending",))
    result = cli("event", "E-1", "process_failed", "--process", "registry_lookup_0",
                 "--detail", "registry timed out")
    assert _processes(db, "E-1") == [("registry_lookup_0", "failed", "registry timed out")]
    return result


def event_kyc_sent(db, cli, tmp_path):
    make_case(db, "E-1", ubos=1, kyc_state="not_sent", kyc_result=False)
    ubo = first_ubo(db, "E-1")
    result = cli("event", "E-1", "kyc_sent", "--ubo", ubo)
    assert case_row(db, "E-1")["ubos"] == [(ubo, "sent", None)]
    assert status_of(db, "E-1") == "pending_id_verification"
    return result


def event_kyc_completed(db, cli, tmp_path):
    make_case(db, "E-1", ubos=1, kyc_state="sent", kyc_result=False)
    ubo = first_ubo(db, "E-1")
    vendor = {"vendor": "Veriff", "outcome": "clear", "score": 0.98}
    result = cli("event", "E-1", "kyc_completed", "--ubo", ubo, "--result", json.dumps(vendor))
    with db.read() as s:
        u = s.get(Ubo, ubo)
        assert (u.kyc_state, u.kyc_result) == ("completed", vendor)
    assert status_of(db, "E-1") == "manual_review"
    return result


def event_document_uploaded(db, cli, tmp_path):
    make_case(db, "E-1")
    doc = first_document(db, "E-1")
    (tmp_path / "incorporation.pdf").write_bytes(PDF)
    result = cli("event", "E-1", "document_uploaded", "--document", doc,
                 "--file", tmp_path / "incorporation.pdf", "--actor", "portal")
    with db.read() as s:
        files = s.scalars(select(DocumentFile).where(DocumentFile.document_id == doc)).all()
        assert [(f.version, f.filename, f.uploaded_by, f.blob.content) for f in files] == [
            (1, "incorporation.pdf", "portal", PDF)]
    return result


def event_relationship_ended(db, cli, tmp_path):
    make_case(db, "E-1", assignee="reviewer", reviewed=True)
    assert cli("act", "E-1", "approve", "--as", "reviewer")[0] == 0
    result = cli("event", "E-1", "relationship_ended")
    with db.read() as s:
        case = s.get(Case, "E-1")
        assert case.relationship_ended_at is not None
        assert case.retention_until.year - case.relationship_ended_at.year == 5
    return result


EVENT_TESTS = {  # event type: (its test, the audit event it must leave)
    "collection_completed": (event_collection_completed, "collection.completed"),
    "process_started": (event_process_started, "process.started"),
    "process_completed": (event_process_completed, "process.completed"),
    "process_failed": (event_process_failed, "process.failed"),
    "kyc_sent": (event_kyc_sent, "kyc.sent"),
    "kyc_completed": (event_kyc_completed, "kyc.completed"),
    "document_uploaded": (event_document_uploaded, "document.uploaded"),
    "relationship_ended": (event_relationship_ended, "relationship.ended"),
}


def test_every_event_type_has_a_test():
    assert list(EVENT_TESTS) == EVENT_TYPES


@pytest.mark.parametrize("event", EVENT_TYPES)
def test_each_event_type_changes_the_case(cli_db, cli, tmp_path, event):
    run_event, audit_kind = EVENT_TESTS[event]
    code, out, err = run_event(cli_db, cli, tmp_path)
    assert (code, err) == (0, "")
    assert out == status_line(cli_db, "E-1", CaseStatus(status_of(cli_db, "E-1")).label)
    with cli_db.read() as s:
        kinds = s.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == "E-1")).all()
    assert audit_kind in kinds


def test_an_event_on_a_final_case_is_refused_and_changes_nothing(cli_db, cli):
    make_case(cli_db, "E-1", assignee="reviewer", reviewed=True)
    assert cli("act", "E-1", "approve", "--as", "reviewer")[0] == 0
    before_case, before_rows = case_row(cli_db, "E-1"), row_counts(cli_db)
    code, out, err = cli("event", "E-1", "process_started", "--process", "late")
    assert code == 1 and out == ""
    assert err == ("error: event process_started refused: case E-1 is Approved, "
                   "which is final\n")
    assert case_row(cli_db, "E-1") == before_case and row_counts(cli_db) == before_rows


def test_the_cli_offers_exactly_the_core_commands():
    from core.cases.commands import COMMANDS
    from core.cli.cases import ACT_ACTIONS
    from core.screening.commands import SCREENING_COMMANDS
    assert list(ACT_ACTIONS) == [*COMMANDS, *SCREENING_COMMANDS]


def test_a_screening_hit_is_decided_and_shown(cli_db, cli):
    from core.screening.hits import record_screening
    make_case(cli_db, "H-1", assignee="reviewer", reviewed=True)
    hit = record_screening(cli_db, "H-1", "entity", "api", [
        {"entry_id": "UN-1", "dataset": "UN SC", "name": "Acme Trading Ltd"}],
        actor="system").new[0]
    code, out, _ = cli("show", "H-1")
    assert code == 0 and "Approve is refused while 1 screening hit is open" in out
    assert f"hit {hit:<6} entity     Acme Trading Ltd" in out
    code, out, err = cli("act", "H-1", "disposition-hit", "--hit", str(hit), "--disposition",
                         "true_match", "--reason", "same registration number",
                         "--as", "reviewer")
    assert (code, err) == (0, "")
    code, _, err = cli("act", "H-1", "sign-off-hit", "--hit", str(hit), "--as", "reviewer")
    assert code != 0 and "may not sign off hits" in err
    assert cli("act", "H-1", "sign-off-hit", "--hit", str(hit), "--as", "lead")[0] == 0
    assert "True match · signed off: true_match same registration number" in \
        cli("show", "H-1")[1]
