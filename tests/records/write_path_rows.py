"""The rows of tests/records/test_write_paths.py's table beyond the first 25: the writers of
settings, views, saved filters, API keys, users, workflows, integrations, vendor callbacks,
outside events, the access log, the case file, retention and erasure, screening sign-off and
monitoring, sign-in. Each row calls the real function (set-up first, its events not counted)
and names the discovered writers (tests/records/writer_scan.py) it exercises; the test checks
they were called and that their events are chained."""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Callable

import pyotp
from sqlalchemy import select, update

from core.access import users
from core.cases import actions as ca
from core.cases.risk import recompute_risk
from core.errors import DocketError
from core.intake import events, hooks
from core.intake.importer import push_cases
from core.intake.reupload import submit_reupload
from core.notifications import endpoints as ep
from core.notifications.deliveries import replay_delivery, replay_failed
from core.notifications.integration_check import send_test
from core.notifications.reupload_tokens import create_reupload_token
from core.records import access_log, retention, retention_daily, retention_erase
from core.records.case_file import export_case_file
from core.screening.dispositions import disposition_hit, sign_off_true_match
from core.screening.hits import record_hooked_screening
from core.screening.inputs import clean_hits
from core.screening.monitoring import record_on_review
from core.settings_store import clear_setting, set_setting
from core.signin import mfa
from core.signin.password import sign_in_with_password
from core.signin.sessions import Client, end_session, session_id, sign_out, sign_out_everywhere
from core.store.models import Case, Delivery, Document, utcnow
from core.workflows.admin import (
    delete_workflow,
    export_yaml,
    get_workflow,
    import_yaml,
    save_workflow,
)
from core.worklist import saved_filters
from core.worklist.views import delete_view, move_view, save_view
from tests.factories import make_case, version_of
from tests.intake.hook_payloads import (
    COMPLYADVANTAGE_MAPPING,
    body_of,
    complyadvantage_hit,
    search_result,
    signed,
)
from tests.screening.helpers import ENTRY, hits_of, screen, ubo_case

Row = tuple[str, tuple[str, ...], Callable | None, Callable]
CLIENT = Client("203.0.113.7", "Mozilla/5.0 (test)")
PASSWORD = "a long enough passphrase"
_state: dict = {}  # what a row's set-up hands to its write (one row runs per test)


def _case(db, case_id: str = "C-1", **kw) -> str:
    return make_case(db, case_id, assignee="reviewer", **kw) or case_id


def _doc_id(db, case_id: str = "C-1") -> int:
    with db.read() as s:
        return s.scalars(select(Document.id).where(Document.case_id == case_id)
                         .order_by(Document.id)).first()


def _ubo_id(db, case_id: str) -> int:
    from core.cases.read import case_detail
    return case_detail(db, case_id, "admin").kyc_blocks[0].id


def _filter(db):
    _state["filter"] = saved_filters.save_filter(db, "analyst", "Mine", {"search": "acme"})


def _endpoint(db):
    _state["endpoint"] = ep.create_endpoint(db, "https://hooks.example.com/docket",
                                            actor="admin").endpoint.id


def _source(db):
    _state["secret"] = hooks.create_source(db, "complyadvantage",
                                           mapping=COMPLYADVANTAGE_MAPPING,
                                           acting_user="admin", actor="admin").secret


def _callback(db):
    body = body_of(search_result("C-1:entity", complyadvantage_hit()))
    hooks.receive(db, "complyadvantage", signed(_state["secret"], body), body,
                  screening=record_hooked_screening)


def _hooked_case(db):
    _source(db)
    _case(db, reviewed=True)


def _asked_to_reupload(db):
    _case(db)
    ca.ask_to_reupload_block(db, "C-1", f"document:{_doc_id(db)}", actor="reviewer",
                             expected_version=version_of(db, "C-1"), reason="Blurry")


def _in_revisions(db):
    _asked_to_reupload(db)
    ca.ask_for_reuploads(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))
    _state["token"] = create_reupload_token(db, "C-1", [f"document:{_doc_id(db)}"])


def _ended_long_ago(db, case_id: str = "C-1") -> None:
    events.relationship_ended(db, case_id)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(
            relationship_ended_at=utcnow() - timedelta(days=6 * 366),
            retention_until=utcnow() - timedelta(days=1)))


def _held(db):
    _case(db)
    retention.place_hold(db, "C-1", actor="admin", reason="Matter 2024-17")


def _true_match(db):
    case_id, subject = ubo_case(db)
    screen(db, case_id, subject, ENTRY)
    disposition_hit(db, hits_of(db, case_id)[0].id, "true_match", "Same person, same birth date",
                    actor="reviewer", expected_version=version_of(db, case_id))


def _approved(db):
    _case(db, reviewed=True)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))


def _review_opened(db):
    [hit] = clean_hits([ENTRY])
    record_on_review(db, "C-1", {("entity", "builtin:demo"): {hit.entry_id: hit}},
                     actor="system")


def _admin_ada(db):
    users.add_user(db, "ada", "Ada", "admin", PASSWORD)


def _signed_in(db):
    _admin_ada(db)
    _state["start"] = sign_in_with_password(db, "ada", PASSWORD, client=CLIENT,
                                            key_id="k" * 16)
    _state["secret"] = mfa.begin_enrolment(db, _state["start"].token).secret


def _enrolled(db):
    _signed_in(db)
    _state["codes"] = mfa.confirm_enrolment(db, _state["start"].token,
                                            pyotp.TOTP(_state["secret"]).now())
    _state["start"] = sign_in_with_password(db, "ada", PASSWORD, client=CLIENT,
                                            key_id="k" * 16)


def _failed_sign_in(db):
    try:
        sign_in_with_password(db, "ada", "wrong password!", client=CLIENT, key_id="k" * 16)
    except DocketError:
        pass  # refused, and recorded


def _four_eyes(db):
    definition = get_workflow(db, "onboarding")
    definition["four_eyes"] = {"risk_score_at_least": 70, "countries": [], "entity_types": []}
    save_workflow(db, definition, actor="admin", create=False)
    _case(db, reviewed=True)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == "C-1").values(risk_score=85))


def _first_approval(db):
    _four_eyes(db)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))


def _second_approval(db):
    ca.approve_case(db, "C-1", actor="reviewer2", expected_version=version_of(db, "C-1"))


def _failed_delivery(db):
    _endpoint(db)
    _approved(db)
    with db.unit_of_work() as s:
        s.execute(update(Delivery).values(state="failed"))
        _state["delivery"] = s.scalars(select(Delivery.id).where(
            Delivery.endpoint_id.is_not(None))).first()


def _session(db):
    users.add_user(db, "rui", "Rui", "reviewer", PASSWORD)
    _state["start"] = sign_in_with_password(db, "rui", PASSWORD, client=CLIENT,
                                            key_id="k" * 16)


def _erase(db):
    retention_erase.erase_case(db, "C-1", actor="admin")


def _case_ended_long_ago(db):
    _case(db)
    _ended_long_ago(db)


E = "core.intake.events."
MORE_WRITERS: list[Row] = [
    # (name, the discovered writers it exercises, set-up (events not counted), the write)
    ("risk recomputed", ("core.cases.risk.recompute_risk",), _case,
     lambda db: recompute_risk(db, actor="admin")),
    ("setting cleared", ("core.settings_store.clear_setting",),
     lambda db: set_setting(db, "uploads.max_bytes", "20000000", actor="admin"),
     lambda db: clear_setting(db, "uploads.max_bytes", actor="admin")),
    ("view delete", ("core.worklist.views.delete_view",),
     lambda db: _state.update(view=save_view(db, "Mine", ["onboarding"], [], actor="admin").id),
     lambda db: delete_view(db, _state["view"], actor="admin")),
    ("view move", ("core.worklist.views.move_view",),
     lambda db: _state.update(view=[save_view(db, name, ["onboarding"], [], actor="admin").id
                                    for name in ("Mine", "Ours")][-1]),
     lambda db: move_view(db, _state["view"], -1, actor="admin")),
    ("saved filter save", ("core.worklist.saved_filters.save_filter",), None, _filter),
    ("saved filter rename", ("core.worklist.saved_filters.rename_saved_filter",), _filter,
     lambda db: saved_filters.rename_saved_filter(db, "analyst", _state["filter"], "Ours")),
    ("saved filter delete", ("core.worklist.saved_filters.delete_saved_filter",), _filter,
     lambda db: saved_filters.delete_saved_filter(db, "analyst", _state["filter"])),
    ("user password", ("core.access.users.set_password",), None,
     lambda db: users.set_password(db, "reviewer2", "another long password 2", actor="admin")),
    ("workflow delete", ("core.workflows.admin.delete_workflow",),
     lambda db: import_yaml(db, export_yaml(db, ["onboarding"]).replace(
         "name: onboarding", "name: spare"), actor="admin"),
     lambda db: delete_workflow(db, "spare", actor="admin")),
    ("workflow YAML import", ("core.workflows.admin.import_yaml",), None,
     lambda db: import_yaml(db, export_yaml(db, ["onboarding"]).replace(
         get_workflow(db, "onboarding")["title"], "Onboarding (imported)"), actor="admin")),
    ("endpoint create", ("core.notifications.endpoints.create_endpoint",), None, _endpoint),
    ("endpoint update", ("core.notifications.endpoints.update_endpoint",), _endpoint,
     lambda db: ep.update_endpoint(db, _state["endpoint"], actor="admin",
                                   url="https://hooks.example.com/docket2")),
    ("endpoint disable", ("core.notifications.endpoints.set_endpoint_enabled",
                          "core.notifications.settle.fail_pending_for_endpoint"), _endpoint,
     lambda db: ep.disable_endpoint(db, _state["endpoint"], actor="admin", reason="moving")),
    ("endpoint secret rotate", ("core.notifications.endpoints.rotate_secret",), _endpoint,
     lambda db: ep.rotate_secret(db, _state["endpoint"], actor="admin")),
    ("endpoint old secrets dropped", ("core.notifications.endpoints.drop_previous_secrets",),
     lambda db: (_endpoint(db), ep.rotate_secret(db, _state["endpoint"], actor="admin")),
     lambda db: ep.drop_previous_secrets(db, _state["endpoint"], actor="admin")),
    ("endpoint delete", ("core.notifications.endpoints.delete_endpoint",), _endpoint,
     lambda db: ep.delete_endpoint(db, _state["endpoint"], actor="admin")),
    ("hook source create", ("core.intake.hooks.create_source",), None, _source),
    ("hook source secret rotate", ("core.intake.hooks.rotate_source_secret",), _source,
     lambda db: hooks.rotate_source_secret(db, "complyadvantage", actor="admin")),
    ("hook source old secrets dropped", ("core.intake.hooks.drop_old_secrets",),
     lambda db: (_source(db), hooks.rotate_source_secret(db, "complyadvantage", actor="admin")),
     lambda db: hooks.drop_old_secrets(db, "complyadvantage", actor="admin")),
    ("hook source disable", ("core.intake.hooks.set_source_enabled",), _source,
     lambda db: hooks.set_source_enabled(db, "complyadvantage", False, actor="admin")),
    ("hook source mapping", ("core.intake.hooks.set_source_mapping",), _source,
     lambda db: hooks.set_source_mapping(db, "complyadvantage", COMPLYADVANTAGE_MAPPING,
                                         actor="admin")),
    ("vendor callback (screening)", ("core.intake.hooks.receive",), _hooked_case, _callback),
    ("push (the API's intake)", ("core.intake.importer.push_cases",), None,
     lambda db: push_cases(db, {"cases": [{"id": "P-1", "workflow": "onboarding",
                                           "entity": {"type": "business", "name": "Pushco",
                                                      "country": "DE"}}]}, actor="admin")),
    ("process started", (E + "start_process",), _case,
     lambda db: events.start_process(db, "C-1", "registry_lookup")),
    ("process finished", (E + "finish_process",),
     lambda db: _case(db, processes=("pending",)),
     lambda db: events.finish_process(db, "C-1", "registry_lookup_0")),
    ("KYC sent", (E + "send_kyc",), lambda db: _case(db, ubos=1, kyc_state="not_sent"),
     lambda db: events.send_kyc(db, "C-1", _ubo_id(db, "C-1"))),
    ("KYC completed", (E + "complete_kyc",), lambda db: _case(db, ubos=1, kyc_state="pending"),
     lambda db: events.complete_kyc(db, "C-1", _ubo_id(db, "C-1"), {"outcome": "clear"})),
    ("document uploaded", (E + "upload_document", "core.cases.case_keys.add_document_key",
                           "core.intake.documents.store_blob"), _case,
     lambda db: events.upload_document(db, "C-1", _doc_id(db), "passport.pdf", b"%PDF-1.4 x")),
    ("relationship ended", (E + "relationship_ended",), _case,
     lambda db: events.relationship_ended(db, "C-1")),
    ("undo a re-upload request", ("core.cases.actions.undo_reupload_request",),
     _asked_to_reupload,
     lambda db: ca.undo_reupload_request(db, "C-1", f"document:{_doc_id(db)}", actor="reviewer",
                                         expected_version=version_of(db, "C-1"))),
    ("edit document properties", ("core.cases.actions.edit_document_properties",), _case,
     lambda db: ca.edit_document_properties(db, "C-1", _doc_id(db), {"number": "X-1"},
                                            actor="reviewer",
                                            expected_version=version_of(db, "C-1"))),
    ("applicant's re-upload", ("core.intake.reupload.submit_reupload",
                              "core.notifications.reupload_tokens.consume_reupload_token"), _in_revisions,
     lambda db: submit_reupload(db, _state["token"],
                                {f"document:{_doc_id(db)}": ("new.pdf", b"%PDF-1.4 new")})),
    ("case viewed (access log)", ("core.records.access_log.case_viewed",), _case,
     lambda db: access_log.case_viewed(db, "C-1", actor="analyst")),
    ("file downloaded (access log)", ("core.records.access_log.document_downloaded",),
     lambda db: (_case(db), events.upload_document(db, "C-1", _doc_id(db), "passport.pdf",
                                                   b"%PDF-1.4 x")),
     lambda db: access_log.document_downloaded(db, _file_id(db), actor="analyst")),
    ("search (access log)", ("core.records.access_log.search_performed",), None,
     lambda db: access_log.search_performed(db, "acme", actor="analyst", key=b"k" * 32)),
    ("case file for an examiner", ("core.records.case_file.export_case_file",
                                   "core.records.access_log.case_exported",
                                   "core.records.checkpoint.write_checkpoint"), _case,
     lambda db: export_case_file(db, "C-1", profile="examiner", actor="admin",
                                 recipient="FCA supervision")),
    ("legal hold placed", ("core.records.retention.place_hold",), _case,
     lambda db: retention.place_hold(db, "C-1", actor="admin", reason="Matter 2024-17")),
    ("legal hold released", ("core.records.retention.release_hold",), _held,
     lambda db: retention.release_hold(db, "C-1", actor="admin", reason="Settled")),
    ("erasure requested", ("core.records.retention.request_erasure",), _case,
     lambda db: retention.request_erasure(db, "C-1", actor="admin", reason="Art. 17")),
    ("erasure", ("core.records.retention_erase.erase_case",
                 "core.records.retention_erase.erase_in"), _case_ended_long_ago, _erase),
    ("daily retention dry run", ("core.records.retention_daily.review_if_due",), None,
     lambda db: retention_daily.review_if_due(db)),
    ("true match signed off", ("core.screening.dispositions.sign_off_true_match",),
     _true_match,
     lambda db: sign_off_true_match(db, hits_of(db, "S-1")[0].id, actor="lead",
                                    expected_version=version_of(db, "S-1"))),
    ("monitoring review opened", ("core.screening.monitoring.record_on_review",), _approved,
     _review_opened),
    ("sign-in with a password", ("core.signin.password.sign_in_with_password",
                                 "core.signin.sessions.open_session",
                                 "core.access.users.verify_login"),
     lambda db: users.add_user(db, "rui", "Rui", "reviewer", PASSWORD),
     lambda db: sign_in_with_password(db, "rui", PASSWORD, client=CLIENT, key_id="k" * 16)),
    ("sign-in failed", ("core.signin.password.record_failure",
                        "core.access.users.count_failure"), _admin_ada,
     _failed_sign_in),
    ("second factor enrolled", ("core.signin.mfa.confirm_enrolment",), _signed_in,
     lambda db: mfa.confirm_enrolment(db, _state["start"].token,
                                      pyotp.TOTP(_state["secret"]).now())),
    ("second factor used", ("core.signin.mfa.verify_second_factor",), _enrolled,
     lambda db: mfa.verify_second_factor(db, _state["start"].token, _state["codes"][0])),
    ("second factor reset", ("core.signin.mfa.reset_mfa",), _enrolled,
     lambda db: mfa.reset_mfa(db, "ada", actor="admin")),
    ("first of two approvals", ("core.cases.approvals.record_first",), _four_eyes,
     lambda db: ca.approve_case(db, "C-1", actor="reviewer",
                                expected_version=version_of(db, "C-1"))),
    ("second approval", ("core.cases.approvals.record_final",), _first_approval,
     _second_approval),
    ("delivery replayed", ("core.notifications.deliveries.replay_delivery",), _failed_delivery,
     lambda db: replay_delivery(db, _state["delivery"], actor="admin")),
    ("failed deliveries replayed", ("core.notifications.deliveries.replay_failed",),
     _failed_delivery, lambda db: replay_failed(db, actor="admin")),
    ("integration test message", ("core.notifications.integration_check.send_test",), None,
     lambda db: send_test(db, "email", actor="admin", recipient="ops@example.com")),
    ("signed out", ("core.signin.sessions.sign_out",), _session,
     lambda db: sign_out(db, _state["start"].token)),
    ("signed out everywhere", ("core.signin.sessions.sign_out_everywhere",), _session,
     lambda db: sign_out_everywhere(db, "rui", actor="admin")),
    ("session ended by an admin", ("core.signin.sessions.end_session",), _session,
     lambda db: end_session(db, session_id(_state["start"].token), actor="admin")),
    ("recovery codes renewed", ("core.signin.mfa.renew_recovery_codes",),
     lambda db: (_enrolled(db), mfa.verify_second_factor(db, _state["start"].token,
                                                         _state["codes"][0])),
     lambda db: mfa.renew_recovery_codes(db, _state["start"].token, pyotp.TOTP(
         _state["secret"]).at(time.time() + 30))),
]


def _file_id(db) -> int:
    from core.store.models import DocumentFile
    with db.read() as s:
        return s.scalars(select(DocumentFile.id).order_by(DocumentFile.id)).first()
