"""Workflow definitions as data: checks, saving with audit, YAML round trip, and the rules
that keep existing cases whole (no rename, removed document types keep their documents,
no delete while cases or views use a workflow)."""
from __future__ import annotations

import copy

import pytest
import yaml
from sqlalchemy import select

from core.cases import actions as case_actions
from core.cases.read import case_detail
from core.errors import InvalidInput, NotAllowed, NotFound
from core.store.models import AuditEvent, Workflow
from core.workflows import admin as wa
from core.worklist.views import save_view
from tests.factories import make_case, row_counts, version_of


def _onboarding(db):
    return wa.get_workflow(db, "onboarding")


def test_defaults_read_back_whole(db):
    d = _onboarding(db)
    assert d["name"] == "onboarding" and d["title"] == "Onboarding"
    assert d["document_types"]["passport"] == "Passport"
    assert d["notifications"] == {"approve": ["webhook", "email"], "reject": ["webhook", "email"],
                                  "ask_for_reuploads": ["webhook", "email"],
                                  "kyc_reupload": ["email"]}
    assert wa.validate_definition(d) == []


@pytest.mark.parametrize("change, problem", [
    ({"name": "Bad Name"}, "name: 1 to 64 characters"),
    ({"title": ""}, "title: a text of 1 to 200"),
    ({"document_types": {"Pass port": "Passport"}}, "type 'Pass port' must be"),
    ({"document_types": {"passport": ""}}, "the label must be a text"),
    ({"document_types": ["passport"]}, "document_types: a mapping"),
    ({"reupload_reasons": []}, "reupload_reasons: a list of at least one reason"),
    ({"reupload_reasons": ["Blurry", "blurry"]}, "a reason appears twice"),
    ({"approve_needs_all_blocks_approved": "yes"}, "true or false"),
    ({"notifications": {"approve": ["fax"]}}, "notifications.approve: a list among"),
    ({"notifications": {"archive": ["email"]}}, "unknown action 'archive'"),
    ({"notifications": {"reject": ["email", "email"]}}, "a channel appears twice"),
    ({"blocks": ["photos"]}, "blocks: a list among"),
    ({"blocks": ["kyc", "kyc"]}, "a block appears twice"),
    ({"colour": "blue"}, "unknown field(s) colour"),
])
def test_invalid_definitions_are_refused_with_the_field_named(db, change, problem):
    d = {**_onboarding(db), **change}
    problems = wa.validate_definition(d)
    assert any(problem in p for p in problems), problems
    before = row_counts(db)
    with pytest.raises(InvalidInput) as e:
        wa.save_workflow(db, d, actor="admin")
    assert any(problem in p for p in e.value.problems)
    assert row_counts(db) == before


def test_save_changes_the_rules_cases_follow_and_is_audited(db):
    # ongoing monitoring: the rule is off by default (onboarding has it on)
    make_case(db, "C-1", assignee="reviewer", documents=1, workflow="ongoing_monitoring")
    d = wa.get_workflow(db, "ongoing_monitoring")
    d["approve_needs_all_blocks_approved"] = True
    d["document_types"]["utility_bill"] = "Utility bill"
    wa.save_workflow(db, d, actor="admin", create=False)
    assert wa.get_workflow(db, "ongoing_monitoring")["document_types"]["utility_bill"] == \
        "Utility bill"
    # core.cases.actions reads the rule from the definition
    detail = case_detail(db, "C-1", "reviewer")
    assert not detail.action("approve").allowed
    assert "every document and KYC block reviewed first" in detail.action("approve").reason
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "workflow.changed")).one()
        assert event.actor == "admin"
        assert event.before["approve_needs_all_blocks_approved"] is False
        assert event.after["approve_needs_all_blocks_approved"] is True


def test_notification_rules_drive_the_outbox(db):
    make_case(db, "C-1", assignee="reviewer")
    d = _onboarding(db)
    d["notifications"]["reject"] = ["sms", "crm"]
    wa.save_workflow(db, d, actor="admin")
    case_actions.reject_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"),
                             reason="Fraud")
    from core.store.models import OutboxMessage
    with db.read() as s:
        assert sorted(s.scalars(select(OutboxMessage.channel))) == ["crm", "sms"]


def test_only_admins_change_workflows(db):
    d = _onboarding(db)
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            wa.save_workflow(db, d, actor=who)
        with pytest.raises(NotAllowed):
            wa.import_yaml(db, wa.export_yaml(db), actor=who)
        with pytest.raises(NotAllowed):
            wa.delete_workflow(db, "ongoing_monitoring", actor=who)


def test_a_workflow_cannot_be_renamed(db):
    d = _onboarding(db)
    d["name"] = "onboarding_v2"
    with pytest.raises(NotFound, match="cannot be renamed"):
        wa.save_workflow(db, d, actor="admin", create=False)
    with pytest.raises(InvalidInput, match="already exists"):
        wa.save_workflow(db, _onboarding(db), actor="admin", create=True)


def test_removing_a_document_type_keeps_existing_documents_reviewable(db):
    make_case(db, "C-1", assignee="reviewer", documents=2)  # certificate + passport
    d = _onboarding(db)
    del d["document_types"]["passport"]
    notes = wa.change_notes(db, d)
    assert notes and "1 existing document(s) of type 'passport'" in notes[0]
    wa.save_workflow(db, d, actor="admin")
    detail = case_detail(db, "C-1", "reviewer")
    passport = next(b for b in detail.documents if b.document_type == "passport")
    assert passport.label == "Passport"  # falls back to a label made from the type
    assert next(a for a in passport.actions if a.action == "approve").allowed
    case_actions.approve_block(db, "C-1", passport.ref, actor="reviewer",
                               expected_version=version_of(db, "C-1"))


def test_delete_is_refused_while_cases_or_views_use_the_workflow(db):
    make_case(db, "C-1", workflow="ongoing_monitoring")
    with pytest.raises(InvalidInput, match="has 1 case"):
        wa.delete_workflow(db, "ongoing_monitoring", actor="admin")
    wa.save_workflow(db, wa.new_definition("trial", "Trial"), actor="admin", create=True)
    save_view(db, "Trial cases", ["trial"], [])
    with pytest.raises(InvalidInput, match="Trial cases"):
        wa.delete_workflow(db, "trial", actor="admin")
    wa.save_workflow(db, wa.new_definition("unused", "Unused"), actor="admin", create=True)
    wa.delete_workflow(db, "unused", actor="admin")
    with db.read() as s:
        assert s.get(Workflow, "unused") is None
        assert s.scalars(select(AuditEvent.kind).where(
            AuditEvent.kind == "workflow.deleted")).one()


def test_yaml_round_trip(db):
    text = wa.export_yaml(db)
    data = yaml.safe_load(text)
    assert data["format_version"] == 1
    assert [w["name"] for w in data["workflows"]] == ["onboarding", "ongoing_monitoring"]
    data["workflows"][0]["title"] = "Onboarding (EU)"
    data["workflows"].append({**copy.deepcopy(data["workflows"][1]), "name": "periodic_review",
                              "title": "Periodic review"})
    names = wa.import_yaml(db, yaml.safe_dump(data).encode(), actor="admin")
    assert names == ["onboarding", "ongoing_monitoring", "periodic_review"]
    assert wa.get_workflow(db, "onboarding")["title"] == "Onboarding (EU)"
    assert wa.get_workflow(db, "periodic_review")["document_types"] == \
        wa.get_workflow(db, "ongoing_monitoring")["document_types"]
    # exporting again gives the same text for an unchanged database
    assert wa.export_yaml(db) == wa.export_yaml(db)


def test_a_single_workflow_file_imports_too(db):
    one = yaml.safe_load(wa.export_yaml(db, ["onboarding"]))["workflows"][0]
    one["name"], one["title"] = "kyb_lite", "KYB lite"
    assert wa.import_yaml(db, yaml.safe_dump(one), actor="admin") == ["kyb_lite"]


@pytest.mark.parametrize("text, problem", [
    ("workflows: [", "line"),
    ("- just\n- a list\n", "expected a mapping"),
    ("workflows: []\n", "non-empty list"),
    ("format_version: 2\nworkflows:\n- {name: x, title: X, reupload_reasons: [a]}\n",
     "format_version: must be 1"),
    ("workflows:\n- &a {name: x, title: X, reupload_reasons: [a]}\n- *a\n", "anchors and aliases"),
    ("workflows:\n- !!python/object/apply:os.system ['echo hi']\n", "could not determine"),
    ("workflows:\n- {name: x, title: X, reupload_reasons: [a]}\n"
     "- {name: x, title: Y, reupload_reasons: [b]}\n", "x appear(s) twice"),
    ("workflows:\n- {name: x, title: X, reupload_reasons: [a]}\n- {name: Bad, title: Y}\n",
     "workflows[1] (Bad).name"),
])
def test_bad_yaml_is_refused_whole(db, text, problem):
    before = row_counts(db)
    with pytest.raises(InvalidInput) as e:
        wa.import_yaml(db, text, actor="admin")
    assert any(problem in p for p in e.value.problems), e.value.problems
    assert row_counts(db) == before


def test_oversized_or_binary_yaml_is_refused(db):
    with pytest.raises(InvalidInput, match="bytes"):
        wa.parse_yaml(b"#" * (wa.MAX_YAML_BYTES + 1))
    with pytest.raises(InvalidInput) as e:
        wa.parse_yaml(b"\xff\xfe\x00")
    assert "UTF-8" in e.value.problems[0]


def test_document_types_from_text():
    types, problems = wa.document_types_from_text(
        "passport: Passport\nUtility bill\n\nbad type: X\npassport: again\n")
    assert types == {"passport": "Passport", "utility_bill": "Utility bill"}
    assert problems == ["document types, line 4: type 'bad type' must be 1 to 64 characters "
                        "a-z, 0-9 and _", "document types, line 5: type 'passport' appears twice"]
    assert wa.document_types_text(types) == "passport: Passport\nutility_bill: Utility bill"


def test_a_workflow_chooses_which_blocks_a_case_shows(db):
    make_case(db, "WB-1")
    assert case_detail(db, "WB-1").blocks_shown == [
        "user_data", "registry_data", "enriched_data", "documents", "kyc"]
    wa.save_workflow(db, {**_onboarding(db), "blocks": ["kyc", "user_data"]}, actor="admin")
    detail = case_detail(db, "WB-1")
    assert detail.blocks_shown == ["user_data", "kyc"]  # stored in display order
    assert detail.shows("kyc") and not detail.shows("registry_data")
    text = wa.export_yaml(db)
    assert "blocks:" in text


def test_a_yaml_file_without_blocks_shows_them_all(db):
    d = _onboarding(db)
    d.pop("blocks")
    assert wa.validate_definition(d) == []
    wa.save_workflow(db, d, actor="admin")
    assert _onboarding(db)["blocks"] == ["user_data", "registry_data", "enriched_data",
                                         "documents", "kyc"]
