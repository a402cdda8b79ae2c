"""A case's audit events as sentences (core/cases/history.py): every kind of event `core`
records against a case has a sentence writer, a case taken through every path reads as
sentences (no event codes, no JSON), and case data stays verbatim text in them."""
from __future__ import annotations

import ast
import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from core.cases import actions as ca
from core.cases.history import WRITERS, block_names, case_history, describe, history
from core.cases.read import case_detail
from core.cases.status import CaseAction
from core.cases.subjects import edit_subject
from core.cases.tags import add_tag, remove_tag
from core.intake import events
from core.intake.documents import add_file_version
from core.intake.importer import import_cases
from core.intake.reupload import submit_reupload
from core.notifications import deliveries
from core.notifications.endpoints import create_endpoint
from core.notifications.event_types import EVENT_TYPES
from core.notifications.reupload_tokens import create_reupload_token
from core.notifications.settle import audit_final
from core.records import access_log, retention
from core.records.retention_erase import erase_case
from core.screening.dispositions import disposition_hit, sign_off_true_match
from core.screening.hits import record_screening
from core.screening.monitoring import record_on_review
from core.store.models import AuditEvent, Case, Delivery, Document, Ubo, utcnow
from core.workflows import admin as wa
from tests.factories import make_case, version_of
from tests.receivers import drain

CORE = Path(__file__).resolve().parents[2] / "core"

# A kind written by an expression rather than a literal: what the expression can be.
EXPANSIONS = {
    "outbox.EVENT_TYPES[action.value]": {EVENT_TYPES[a.value] for a in CaseAction},
    "f'notification.{kind}'": {"notification.delivered", "notification.failed",
                               "notification.skipped"},
    "f'process.{state}'": {"process.completed", "process.failed"},
}


def _kinds_of(expr: ast.expr, where: str) -> set[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}
    if isinstance(expr, ast.IfExp):
        return _kinds_of(expr.body, where) | _kinds_of(expr.orelse, where)
    source = ast.unparse(expr)
    assert source in EXPANSIONS, (
        f"{where}: the audit kind {source} is not a literal; list what it can be in EXPANSIONS")
    return EXPANSIONS[source]


def recorded_case_kinds() -> dict[str, str]:
    """Every audit kind `core` records against a case (case_id not the literal None), with
    where it is recorded: read from the source, so a new kind is found the day it is added."""
    found: dict[str, str] = {}
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name)
                    and getattr(node.func, "attr", getattr(node.func, "id", "")) == "record"):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            if "kind" not in keywords:
                continue
            case_id = keywords.get("case_id")
            if isinstance(case_id, ast.Constant) and case_id.value is None:
                continue  # not a case's event (users, views, settings, endpoints...)
            where = f"{path.relative_to(CORE.parent)}:{node.lineno}"
            for kind in _kinds_of(keywords["kind"], where):
                found.setdefault(kind, where)
    return found


def test_every_kind_recorded_against_a_case_has_a_sentence_writer():
    kinds = recorded_case_kinds()
    assert {"user_data.edited", "case.approved", "notification.skipped"} <= set(kinds)
    missing = {k: where for k, where in kinds.items() if k not in WRITERS}
    assert not missing, f"audit kinds without a sentence in core/cases/history.py: {missing}"


def test_the_demo_datas_kinds_have_writers_too():
    source = (CORE / "demo" / "rows.py").read_text(encoding="utf-8")
    for kind in ("case.imported", "case.assigned", "case.status_changed"):
        assert f'"{kind}"' in source and kind in WRITERS
    assert 'f"case.{decision}"' in source  # approved | rejected
    assert {"case.approved", "case.rejected"} <= set(WRITERS)


# --- a case through every path --------------------------------------------------------------

def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, format="PNG")
    return out.getvalue()


def _v(db, case_id: str) -> int:
    return version_of(db, case_id)


def _everything_case(db) -> None:
    """Case H-1 taken through every command and outside event that writes a case event."""
    import_cases(db, {"format_version": 1, "cases": [{
        "id": "H-1", "workflow": "onboarding", "collection_completed": False,
        "entity": {"type": "business", "name": "Hedgerow Holdings Ltd", "country": "GB",
                   "email": "ops@hedgerow.example"},
        "user_data": {"occupation": "trader"},
        "documents": [{"type": "certificate_of_incorporation",
                       "properties": {"issued_on": "2015-03-11"}}],
        "ubos": [{"full_name": "Jane Hedge", "email": "jane@hedgerow.example",
                  "kyc": {"state": "not_sent"}}],
        "processes": [{"name": "sanctions_screening", "state": "pending"}]}]},
        actor="importer")
    with db.read() as s:
        doc_id = s.scalar(select(Document.id).where(Document.case_id == "H-1"))
        ubo_id = s.scalar(select(Ubo.id).where(Ubo.case_id == "H-1"))
    doc, kyc = f"document:{doc_id}", f"kyc:{ubo_id}"
    events.complete_collection(db, "H-1")
    events.finish_process(db, "H-1", "sanctions_screening", failed=True, detail="vendor timeout")
    events.start_process(db, "H-1", "sanctions_screening", detail="second try")
    events.finish_process(db, "H-1", "sanctions_screening", detail="no hits")
    events.send_kyc(db, "H-1", ubo_id)
    events.complete_kyc(db, "H-1", ubo_id, {"outcome": "clear", "vendor": "Veriff"})
    events.upload_document(db, "H-1", doc_id, "certificate.png", _png())
    ca.assign_case(db, "H-1", "reviewer", actor="reviewer", expected_version=_v(db, "H-1"))
    ca.edit_user_data(db, "H-1", {"occupation": "banker"}, actor="reviewer",
                      expected_version=_v(db, "H-1"))
    ca.edit_document_properties(db, "H-1", doc_id, {"issued_on": "2016-01-01"},
                                actor="reviewer", expected_version=_v(db, "H-1"))
    ca.add_note(db, "H-1", "Called the owner", actor="reviewer", expected_version=_v(db, "H-1"))
    ca.ask_to_reupload_block(db, "H-1", doc, actor="reviewer", expected_version=_v(db, "H-1"),
                             reason="Missing page")
    ca.undo_reupload_request(db, "H-1", doc, actor="reviewer", expected_version=_v(db, "H-1"))
    ca.approve_block(db, "H-1", doc, actor="reviewer", expected_version=_v(db, "H-1"))
    ca.ask_to_reupload_block(db, "H-1", kyc, actor="reviewer", expected_version=_v(db, "H-1"),
                             reason="Photo is blurred")
    token = create_reupload_token(db, "H-1", [kyc])
    submit_reupload(db, token, {kyc: ("passport.png", _png())}, identity_document_type="passport")
    events.complete_kyc(db, "H-1", ubo_id, {"outcome": "clear"})
    ca.ask_to_reupload_block(db, "H-1", doc, actor="reviewer", expected_version=_v(db, "H-1"),
                             reason="Expired document")
    ca.ask_for_reuploads(db, "H-1", actor="reviewer", expected_version=_v(db, "H-1"))
    token = create_reupload_token(db, "H-1", [doc])
    submit_reupload(db, token, {doc: ("certificate-2.png", _png())})
    detail = case_detail(db, "H-1", "reviewer")
    for block in [*detail.documents, *detail.kyc_blocks,
                  *(d for k in detail.kyc_blocks for d in k.documents)]:
        if any(a.action == "approve" and a.allowed for a in block.actions):
            ca.approve_block(db, "H-1", block.ref, actor="reviewer",
                             expected_version=_v(db, "H-1"))
    ca.assign_case(db, "H-1", "reviewer2", actor="admin", expected_version=_v(db, "H-1"))
    ca.approve_case(db, "H-1", actor="reviewer2", expected_version=_v(db, "H-1"),
                    reason="documents in order")
    drain(db)  # email not configured: skipped; no webhook endpoint: skipped without an event
    with db.unit_of_work() as s:
        delivery = s.scalars(select(Delivery).where(Delivery.case_id == "H-1",
                                                    Delivery.channel == "email")
                             .order_by(Delivery.id)).first()
        for kind in ("delivered", "failed"):
            audit_final(s, "H-1", kind, {"channel": "webhook", "target": "endpoint:1",
                                         "message_id": "msg_1", "event_type": "case.approved",
                                         "attempts": 3, "status_code": 503,
                                         "error": "HTTP 503" if kind == "failed" else None})
    deliveries.replay_delivery(db, delivery.id, actor="admin")


def _four_eyes_case(db) -> None:
    """Case H-3 under a four-eyes rule: approval 1 of 2, withdrawn by an edit after it."""
    definition = wa.get_workflow(db, "onboarding")
    definition["four_eyes"] = {"countries": ["HK"]}
    wa.save_workflow(db, definition, actor="admin", create=False)
    make_case(db, "H-3", assignee="reviewer", reviewed=True)  # a Hong Kong company
    ca.approve_case(db, "H-3", actor="reviewer", expected_version=_v(db, "H-3"),
                    reason="looks fine")
    ca.edit_user_data(db, "H-3", {"industry": "arms"}, actor="reviewer",
                      expected_version=_v(db, "H-3"))


def _screening_case(db) -> None:
    """Case H-4: a UBO screened, its hit dispositioned true match and signed off by a lead,
    then re-opened by a changed entry; H-5 (the same person) carries a decision."""
    make_case(db, "H-4", assignee="reviewer", ubos=1, reviewed=True)
    ubo = case_detail(db, "H-4", "reviewer").kyc_blocks[0].id
    hit = {"entry_id": "SDN-7", "dataset": "OFAC SDN", "name": "Owner 0"}
    hit_id = record_screening(db, "H-4", f"ubo:{ubo}", "api", [hit], actor="admin").new[0]
    disposition_hit(db, hit_id, "true_match", "same passport number", actor="reviewer",
                    expected_version=_v(db, "H-4"))
    sign_off_true_match(db, hit_id, actor="lead", expected_version=_v(db, "H-4"))
    make_case(db, "H-5", assignee="reviewer", ubos=1, reviewed=True)
    record_screening(db, "H-5", case_detail(db, "H-5", "reviewer").kyc_blocks[0].id, "api",
                     [hit], actor="admin")
    record_screening(db, "H-4", f"ubo:{ubo}", "api", [{**hit, "programme": "SDGT"}],
                     actor="admin")
    edit_subject(db, "H-4", f"ubo:{ubo}", {"date_of_birth": "1980-02-29"}, actor="reviewer",
                 expected_version=_v(db, "H-4"))


def _access_log_case(db) -> list:
    """H-1 opened by a lead, its certificate downloaded, its case file exported (the access
    log, core/records/access_log.py), as sentences: read from the events, since the log is
    shown apart from the timeline (to leads and admins)."""
    access_log.case_viewed(db, "H-1", actor="lead")
    detail = case_detail(db, "H-1", "admin")
    access_log.document_downloaded(db, detail.documents[0].files[-1].id, actor="analyst")
    with db.unit_of_work() as s:
        access_log.case_exported(s, case_id="H-1", actor="lead", profile="examiner",
                                 manifest_sha256="0" * 64, recipient="FCA")
    with db.read() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.case_id == "H-1",
                                                  AuditEvent.kind.in_(access_log.ACCESS_KINDS)))
        events = [{"at": e.at, "actor": e.actor, "kind": e.kind, "before": e.before,
                   "after": e.after} for e in rows]
    return history(events, block_names(detail))


def _retention_cases(db) -> None:
    """H-2 (rejected: its relationship ended) held, released and asked to be erased during its
    retention; H-6 rejected, its retention over, asked to be erased and erased
    (core/records/retention*.py)."""
    retention.place_hold(db, "H-2", actor="admin", reason="subpoena 7")
    retention.release_hold(db, "H-2", actor="admin", reason="subpoena closed")
    assert retention.request_erasure(db, "H-2", actor="admin", reason="GDPR request") == \
        "deferred"
    make_case(db, "H-6", assignee="reviewer")
    ca.reject_case(db, "H-6", actor="reviewer", expected_version=_v(db, "H-6"),
                   reason="fraud")
    with db.unit_of_work() as s:
        s.get(Case, "H-6").retention_until = utcnow() - timedelta(days=1)
    assert retention.request_erasure(db, "H-6", actor="admin", reason="GDPR request") == "due"
    erase_case(db, "H-6", actor="admin")


def test_a_case_through_every_path_reads_as_sentences(db):
    create_endpoint(db, "https://hooks.example.com/docket", actor="admin",
                    description="Acme CRM hook", event_types=["case.rejected"])
    _everything_case(db)
    make_case(db, "H-2", assignee="reviewer")
    add_tag(db, "H-2", "vip", actor="reviewer", expected_version=_v(db, "H-2"))
    remove_tag(db, "H-2", "vip", actor="lead", expected_version=_v(db, "H-2"))
    ca.reject_case(db, "H-2", actor="reviewer", expected_version=_v(db, "H-2"),
                   reason="sanctions hit")
    _four_eyes_case(db)
    _screening_case(db)
    record_on_review(db, "H-1", {}, actor="system")  # H-1 is approved: a monitoring review
    _retention_cases(db)
    entries = [*_access_log_case(db), *case_history(db, case_detail(db, "H-1", "admin")),
               *case_history(db, case_detail(db, "H-6", "admin")),
               *case_history(db, case_detail(db, "H-2", "admin")),
               *case_history(db, case_detail(db, "H-3", "admin")),
               *case_history(db, case_detail(db, "H-4", "admin")),
               *case_history(db, case_detail(db, "H-5", "admin"))]
    kinds = {e.kind for e in entries}
    assert len(kinds) >= 24, sorted(kinds)
    assert set(recorded_case_kinds()) - kinds == set(), "the scenario misses a kind"
    for e in entries:
        assert e.kind in WRITERS
        assert e.sentence and e.kind not in e.sentence and "{" not in e.sentence, e
    said = [e.sentence for e in entries]
    for expected in (
            "importer imported the case into the onboarding workflow (1 document, 1 UBO, "
            "1 process)",
            "The applicant completed the collection flow",
            "Process sanctions_screening failed: vendor timeout",
            "Process sanctions_screening started again: second try",
            "Process sanctions_screening completed: no hits",
            "KYC flow sent to Jane Hedge",
            "KYC result for Jane Hedge came in: outcome clear, vendor Veriff",
            "reviewer took the case",
            "reviewer changed Occupation from “trader” to “banker”",
            "reviewer changed Issued on of Certificate of incorporation from “2015-03-11” to "
            "“2016-01-01”",
            "reviewer added a note: “Called the owner”",
            "reviewer marked Certificate of incorporation “Re-upload needed”: Missing page",
            "reviewer undid the re-upload request for Certificate of incorporation",
            "reviewer approved Certificate of incorporation",
            "reviewer sent KYC of Jane Hedge a new KYC flow: Photo is blurred",
            "reviewer asked the applicant to re-upload 1 block: Certificate of incorporation "
            "(Expired document)",
            "admin reassigned the case from reviewer to reviewer2",
            "reviewer2 approved the case: documents in order",
            "reviewer rejected the case: sanctions hit",
            "reviewer tagged the case vip",
            "lead removed the tag vip",
            "Status changed from Manual review to Approved",
            "Webhook “case approved” to Acme CRM hook delivered (attempt 3)",
            "Webhook “case approved” to Acme CRM hook failed after 3 attempts: HTTP 503",
            "reviewer gave approval 1 of 2; waiting for a second approver — four-eyes rule: "
            "country HK is on the four-eyes list: looks fine",
            "Approval 1 of 2 by reviewer withdrawn: the case changed after the first approval",
            "Screening by api of Owner 0: 1 new (reported by admin)",
            "reviewer marked hit “SDN-7” (OFAC SDN) of Owner 0 true match: same passport "
            "number",
            "lead signed off the true match hit “SDN-7” (OFAC SDN) of Owner 0",
            "hit “SDN-7” (OFAC SDN) of Owner 0 re-opened (the entry or the subject changed); "
            "it was true match: same passport number",
            "hit “SDN-7” (OFAC SDN) of Owner 0 carries the decision taken before on the same "
            "entry: true match by reviewer: same passport number",
            "reviewer set Date of birth of Owner 0 to “1980-02-29”; the case is screened "
            "again",
            "lead opened the case",
            "analyst downloaded certificate-2.png version 2 of Certificate of incorporation",
            "lead exported the case file (examiner) for FCA",
    ):
        assert expected in said, f"{expected!r} not in {said}"
    assert any(s.startswith("New screening hits after approval: review “C-")
               and s.endswith("” opened in Ongoing monitoring")
               for s in said), said
    assert any(s.startswith("The applicant uploaded certificate-2.png as version ")
               and s.endswith(" of Certificate of incorporation, through the re-upload link")
               for s in said), said
    assert any(s.startswith("The applicant submitted a new identity document (")
               and s.endswith(") for KYC of Jane Hedge; its KYC check starts again")
               for s in said), said
    assert any(s.startswith("The applicant used the re-upload link for 1 block: ")
               for s in said), said
    skipped = [s for s in said if s.startswith("Email “case approved” skipped: ")]
    assert skipped and "not configured" in skipped[0]
    assert any(s.startswith("admin sent the email ") and s.endswith(" again") for s in said)


# --- single sentences -------------------------------------------------------------------------

def event(kind: str, before=None, after=None, actor: str = "reviewer") -> dict:
    return {"at": datetime(2025, 3, 1, 12), "actor": actor, "kind": kind, "before": before,
            "after": after}


@pytest.mark.parametrize("before, after, sentence", [
    ({"field": "occupation", "value": "trader"}, {"field": "occupation", "value": "banker"},
     "reviewer changed Occupation from “trader” to “banker”"),
    ({"field": "annual_income", "value": None}, {"field": "annual_income", "value": 50000},
     "reviewer set Annual income to 50000"),
    ({"field": "nickname", "value": "Bo"}, {"field": "nickname", "value": ""},
     "reviewer cleared Nickname (was “Bo”)"),
    ({"field": "pep", "value": False}, {"field": "pep", "value": True},
     "reviewer changed Pep from false to true"),
])
def test_user_data_edits(before, after, sentence):
    assert describe(event("user_data.edited", before, after)) == sentence


@pytest.mark.parametrize("kind, after, sentence", [
    ("case.approved", {"reason": "in order"}, "admin approved the case: in order"),
    ("case.approved", {"reason": None}, "admin approved the case"),
    ("case.rejected", {"reason": "sanctions hit"}, "admin rejected the case: sanctions hit"),
])
def test_decisions(kind, after, sentence):
    assert describe(event(kind, {"status": "manual_review"}, after, actor="admin")) == sentence


@pytest.mark.parametrize("before, after, actor, sentence", [
    (None, "reviewer", "reviewer", "reviewer took the case"),
    (None, "reviewer2", "admin", "admin assigned the case to reviewer2"),
    ("reviewer", "reviewer2", "admin", "admin reassigned the case from reviewer to reviewer2"),
    ("reviewer", None, "admin", "admin unassigned the case (it was reviewer’s)"),
])
def test_assignments(before, after, actor, sentence):
    assert describe(event("case.assigned", {"assignee": before}, {"assignee": after},
                          actor=actor)) == sentence


def test_a_skipped_webhook_names_its_endpoint_and_why():
    e = event("notification.skipped", None, {
        "channel": "webhook", "target": "endpoint:7", "message_id": "msg_1",
        "event_type": "case.rejected", "attempts": 1, "status_code": None,
        "error": "endpoint disabled: gone"}, actor="system")
    assert describe(e, {"endpoint:7": "hooks.example.com"}) == (
        "Webhook “case rejected” to hooks.example.com skipped: endpoint disabled: gone")
    assert describe(e) == "Webhook “case rejected” to endpoint 7 skipped: endpoint disabled: gone"


def test_case_data_stays_verbatim_text_on_one_line():
    hostile = {"field": "<script>alert(1)</script>", "value": "=HYPERLINK(\"http://x\",\"y\")"}
    sentence = describe(event("user_data.edited", {**hostile, "value": "**bold**\nline"},
                              hostile, actor="<b>x</b>"))
    assert sentence == ("<b>x</b> changed <script>alert(1)</script> from “**bold** line” to "
                        "“=HYPERLINK(\"http://x\",\"y\")”")
    terminal = describe(event("note.added", None, {"body": "ok\x1b[31mred\x07"}))
    assert "\x1b" not in terminal and "\x07" not in terminal


def test_long_values_are_shortened_in_the_sentence_only():
    e = event("note.added", None, {"body": "x" * 500})
    sentence = describe(e)
    assert len(sentence) < 200 and sentence.endswith("…”")
    assert e["after"]["body"] == "x" * 500


def test_an_import_counts_what_came_with_the_case():
    after = {"workflow": "onboarding", "documents": 2, "ubos": 0, "processes": 3}
    assert describe(event("case.imported", None, after, actor="system")) == (
        "The system imported the case into the onboarding workflow (2 documents, 3 processes)")


def test_an_unknown_kind_still_reads():
    assert describe(event("case.escalated", None, {"to": "team lead"})) == (
        "reviewer: case escalated")


def test_a_status_that_no_longer_exists_is_shown_as_words():
    assert describe(event("case.status_changed", {"status": "on_hold"},
                          {"status": "manual_review"}, actor="system")) == (
        "Status changed from On hold to Manual review")


def test_block_names_come_from_the_case(db):
    make_case(db, "N-1", assignee="reviewer", ubos=1)
    with db.unit_of_work() as s:
        d = s.scalar(select(Document).where(Document.case_id == "N-1"))
        add_file_version(s, d, "c.png", _png(), "applicant")
        doc = f"document:{d.id}"
    ca.approve_block(db, "N-1", doc, actor="reviewer", expected_version=_v(db, "N-1"))
    entries = case_history(db, case_detail(db, "N-1", "reviewer"))
    assert entries[0].sentence == "reviewer approved Certificate of incorporation"
    assert entries[0].before == {"block": doc, "status": "awaiting_review"}
