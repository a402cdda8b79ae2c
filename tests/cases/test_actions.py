"""The service layer on a real database: roles, assignee, version, rules, and what it writes."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.cases import actions as ca
from core.cases.read import case_detail
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound
from core.store.models import AuditEvent, Decision, OutboxMessage, Ubo
from tests.factories import make_case, row_counts, status_of, version_of


def take(db, case_id, user="reviewer"):
    ca.assign_case(db, case_id, user, actor=user, expected_version=version_of(db, case_id))
    return version_of(db, case_id)


def test_approve_writes_decision_audit_and_outbox_together(db):
    make_case(db, reviewed=True)
    v = take(db, "C-1")
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=v, reason="all good")
    assert status_of(db, "C-1") == "approved"
    assert version_of(db, "C-1") == v + 1
    with db.read() as s:
        decision = s.scalars(select(Decision)).one()
        assert (decision.action, decision.reason, decision.actor) == ("approve", "all good", "reviewer")
        rows = s.scalars(select(OutboxMessage)).all()
        assert {r.channel for r in rows} == {"webhook", "email"}
        payload = rows[0].payload
        assert payload["type"] == "case.approved"
        assert payload["data"]["decision"]["reason"] == "all good"
        assert payload["data"]["case"]["status"] == "approved"
        kinds = [e.kind for e in s.scalars(select(AuditEvent).where(AuditEvent.case_id == "C-1"))]
    assert "case.approved" in kinds and kinds.count("notification.queued") == 2
    assert ("case.status_changed" in kinds)


@pytest.mark.parametrize("command,kwargs,error", [
    (ca.approve_case, {}, NotAllowed),                       # not assigned to the actor
    (ca.reject_case, {"reason": "x"}, NotAllowed),
    (ca.approve_block, {"block": "document:1"}, NotAllowed),
])
def test_only_the_assignee_decides(db, command, kwargs, error):
    make_case(db)
    take(db, "C-1", "reviewer2")
    before = row_counts(db)
    with pytest.raises(error, match="assignee"):
        command(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"), **kwargs)
    assert row_counts(db) == before


def test_analyst_cannot_act_or_take_cases(db):
    make_case(db, assignee="analyst")
    with pytest.raises(NotAllowed, match="analyst"):
        ca.approve_case(db, "C-1", actor="analyst", expected_version=1)
    with pytest.raises(NotAllowed):
        ca.assign_case(db, "C-1", "analyst", actor="analyst", expected_version=1)


def test_disabled_or_unknown_user_cannot_act(db):
    from core.access.users import set_disabled
    make_case(db, assignee="reviewer")
    set_disabled(db, "reviewer", True)
    with pytest.raises(NotAllowed, match="disabled"):
        ca.approve_case(db, "C-1", actor="reviewer", expected_version=1)
    with pytest.raises(NotAllowed):
        ca.approve_case(db, "C-1", actor="mallory", expected_version=1)


def test_stale_version_is_refused_and_nothing_written(db):
    make_case(db)
    v = take(db, "C-1")
    before = row_counts(db)
    with pytest.raises(CaseChanged, match="This case changed since you opened it"):
        ca.approve_case(db, "C-1", actor="reviewer", expected_version=v - 1)
    assert row_counts(db) == before and version_of(db, "C-1") == v


def test_reject_needs_a_reason(db):
    make_case(db)
    v = take(db, "C-1")
    before = row_counts(db)
    with pytest.raises(InvalidInput, match="reason"):
        ca.reject_case(db, "C-1", actor="reviewer", expected_version=v, reason="   ")
    assert row_counts(db) == before


def test_collection_flow_offers_nothing(db):
    make_case(db, collection_completed=False)
    v = take(db, "C-1")
    assert status_of(db, "C-1") == "collection_flow"
    for command, kw in ((ca.approve_case, {}), (ca.reject_case, {"reason": "x"}),
                        (ca.ask_for_reuploads, {})):
        with pytest.raises(ActionNotAllowed, match="Collection flow"):
            command(db, "C-1", actor="reviewer", expected_version=v, **kw)
    with pytest.raises(ActionNotAllowed, match="Collection flow"):
        ca.approve_block(db, "C-1", "document:1", actor="reviewer", expected_version=v)


def test_reupload_round_trip_marks_counts_and_sends(db):
    make_case(db, documents=2, reviewed=True)  # undo puts the approval back
    v = take(db, "C-1")
    ca.ask_to_reupload_block(db, "C-1", "document:1", actor="reviewer", expected_version=v,
                             reason="Bad image quality")
    d = case_detail(db, "C-1", "reviewer")
    assert d.reupload_needed_count == 1
    assert not d.action("approve").allowed and "Re-upload needed" in d.action("approve").reason
    assert d.action("ask_for_reuploads").allowed
    # undo, then mark again and send
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer", expected_version=d.version)
    d = case_detail(db, "C-1", "reviewer")
    assert d.reupload_needed_count == 0 and d.action("approve").allowed
    ca.ask_to_reupload_block(db, "C-1", "document:2", actor="reviewer",
                             expected_version=d.version, reason="Expired document")
    n = ca.ask_for_reuploads(db, "C-1", actor="reviewer", expected_version=d.version + 1)
    assert n == 1
    d = case_detail(db, "C-1", "reviewer")
    assert d.status == "revisions"
    assert [a.action for a in d.case_actions if a.allowed] == ["reject"]
    assert d.block("document:2").status == "pending_reupload"
    assert not any(a.allowed for a in d.block("document:2").actions)
    with db.read() as s:
        payload = s.scalars(select(OutboxMessage).where(
            OutboxMessage.event_type == "case.revision_requested")).first().payload
    assert payload["data"]["reuploads"] == [{"block": "document:2", "reason": "Expired document",
                                            "document_type": "passport"}]


def test_ask_for_all_reuploads_refused_when_none_marked(db):
    make_case(db)
    v = take(db, "C-1")
    with pytest.raises(ActionNotAllowed, match="none is marked yet"):
        ca.ask_for_reuploads(db, "C-1", actor="reviewer", expected_version=v)


def test_document_reupload_needs_a_reason(db):
    make_case(db)
    v = take(db, "C-1")
    with pytest.raises(InvalidInput, match="reason"):
        ca.ask_to_reupload_block(db, "C-1", "document:1", actor="reviewer", expected_version=v,
                                 reason="")


def test_kyc_reupload_is_immediate_and_emails_the_ubo(db):
    make_case(db, ubos=1)
    v = take(db, "C-1")
    ca.ask_to_reupload_block(db, "C-1", "kyc:1", actor="reviewer", expected_version=v, reason=None)
    assert status_of(db, "C-1") == "revisions"
    with db.read() as s:
        row = s.scalars(select(OutboxMessage)).one()
        assert (row.channel, row.event_type) == ("email", "kyc.reupload_requested")
        assert row.payload["data"]["ubo"]["email"] == "o0@acme.example"
        assert s.get(Ubo, 1).block_status == "pending_reupload"


def test_kyc_block_cannot_be_approved_before_its_result(db):
    make_case(db, ubos=1, kyc_state="sent", kyc_result=False)
    v = take(db, "C-1")
    assert status_of(db, "C-1") == "pending_id_verification"
    with pytest.raises(ActionNotAllowed, match="KYC result"):
        ca.approve_block(db, "C-1", "kyc:1", actor="reviewer", expected_version=v)


def test_block_approval_is_kept_and_shows_who(db):
    make_case(db)
    v = take(db, "C-1")
    ca.approve_block(db, "C-1", "document:1", actor="reviewer", expected_version=v)
    ca.reject_case(db, "C-1", actor="reviewer", expected_version=v + 1, reason="sanctions hit")
    block = case_detail(db, "C-1").block("document:1")
    assert (block.status, block.reviewed_by) == ("approved", "reviewer")
    assert block.reviewed_at is not None


def test_final_statuses_stay_final(db):
    make_case(db, reviewed=True)
    v = take(db, "C-1")
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=v)
    v += 1
    for command, kw in ((ca.reject_case, {"reason": "x"}), (ca.approve_case, {}),
                        (ca.approve_block, {"block": "document:1"})):
        with pytest.raises(ActionNotAllowed, match="Approved"):
            command(db, "C-1", actor="reviewer", expected_version=v, **kw)
    with pytest.raises(ActionNotAllowed, match="final"):
        ca.assign_case(db, "C-1", "reviewer2", actor="admin", expected_version=v)


def test_assignment_rules(db):
    make_case(db)
    ca.assign_case(db, "C-1", "reviewer", actor="reviewer", expected_version=1)
    with pytest.raises(NotAllowed, match="only an admin"):
        ca.assign_case(db, "C-1", "reviewer2", actor="reviewer2", expected_version=2)
    with pytest.raises(NotAllowed, match="themself"):
        ca.assign_case(db, "C-1", "reviewer2", actor="reviewer", expected_version=2)
    with pytest.raises(InvalidInput, match="analyst"):
        ca.assign_case(db, "C-1", "analyst", actor="admin", expected_version=2)
    ca.assign_case(db, "C-1", "reviewer2", actor="admin", expected_version=2)
    with db.read() as s:
        events = [(e.before, e.after) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind == "case.assigned").order_by(AuditEvent.id))]
    assert events == [({"assignee": None}, {"assignee": "reviewer"}),
                      ({"assignee": "reviewer"}, {"assignee": "reviewer2"})]


def test_edit_user_data_is_audited_field_by_field(db):
    make_case(db, user_data={"industry": "trading", "website": "acme.example"})
    v = take(db, "C-1")
    ca.edit_user_data(db, "C-1", {"industry": "logistics", "website": "acme.example",
                                  "employees": 40}, actor="reviewer", expected_version=v)
    d = case_detail(db, "C-1")
    assert d.user_data == {"industry": "logistics", "website": "acme.example", "employees": 40}
    edits = [(e["before"], e["after"], e["actor"]) for e in d.timeline if e["kind"] == "user_data.edited"]
    assert sorted(edits, key=str) == sorted([
        ({"field": "industry", "value": "trading"}, {"field": "industry", "value": "logistics"}, "reviewer"),
        ({"field": "employees", "value": None}, {"field": "employees", "value": 40}, "reviewer"),
    ], key=str)


@pytest.mark.parametrize("changes,message", [
    ({}, "no changes"),
    ({"x": {"nested": 1}}, "value must be"),
    ({"x" * 101: "v"}, "field name"),
    ({"x": "v" * 10_001}, "at most 10,000 characters"),
])
def test_bad_edits_are_refused(db, changes, message):
    make_case(db)
    v = take(db, "C-1")
    before = row_counts(db)
    with pytest.raises(InvalidInput, match=message):
        ca.edit_user_data(db, "C-1", changes, actor="reviewer", expected_version=v)
    assert row_counts(db) == before


def test_notes_by_any_reviewer_not_by_analysts(db):
    make_case(db)
    ca.add_note(db, "C-1", "Called the applicant", actor="reviewer2", expected_version=1)
    with pytest.raises(NotAllowed):
        ca.add_note(db, "C-1", "hi", actor="analyst", expected_version=2)
    assert case_detail(db, "C-1").notes[0]["body"] == "Called the applicant"


def test_unknown_case_and_block(db):
    with pytest.raises(NotFound):
        ca.approve_case(db, "nope", actor="reviewer", expected_version=1)
    make_case(db)
    v = take(db, "C-1")
    with pytest.raises(NotFound):
        ca.approve_block(db, "C-1", "document:99", actor="reviewer", expected_version=v)
    with pytest.raises(InvalidInput, match="document:ID"):
        ca.approve_block(db, "C-1", "passport", actor="reviewer", expected_version=v)


def test_case_detail_explains_disabled_buttons_per_viewer(db):
    make_case(db, reviewed=True)
    analyst = case_detail(db, "C-1", "analyst")
    assert not analyst.action("approve").allowed and "analyst" in analyst.action("approve").reason
    reviewer = case_detail(db, "C-1", "reviewer")
    assert reviewer.can_assign_to_self
    assert "assign the case to yourself" in reviewer.action("approve").reason
    take(db, "C-1")
    reviewer = case_detail(db, "C-1", "reviewer")
    assert [a.allowed for a in reviewer.case_actions] == [True, True, False]  # N = 0
