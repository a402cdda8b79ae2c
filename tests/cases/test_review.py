"""Issues #10 and #18 in core: Undo restores the review it replaced, Approve waits for every
block to be reviewed (a workflow setting, on for onboarding) and says which, the preview's
refusals are sentences for people, and a stale actor learns what changed since."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.cases import actions as ca
from core.cases.commands import perform
from core.cases.history import block_names, describe
from core.cases.read import case_detail, events_since
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput
from core.store.models import AuditEvent, Document
from core.workflows import admin as wa
from tests.factories import make_case, row_counts, version_of


def take(db, case_id, user="reviewer"):
    ca.assign_case(db, case_id, user, actor=user, expected_version=version_of(db, case_id))
    return version_of(db, case_id)


def review(db, case_id="C-1"):
    with db.read() as s:
        d = s.scalars(select(Document).where(Document.case_id == case_id)
                      .order_by(Document.id)).first()
        return d.block_status, d.reviewed_by, d.reviewed_at, d.reupload_reason


def approve_then_mark_then_undo(db, marker="reviewer2"):
    make_case(db, documents=1)
    take(db, "C-1")
    ca.approve_block(db, "C-1", "document:1", actor="reviewer",
                     expected_version=version_of(db, "C-1"))
    approved = review(db)
    ca.assign_case(db, "C-1", marker, actor="admin", expected_version=version_of(db, "C-1"))
    ca.ask_to_reupload_block(db, "C-1", "document:1", actor=marker, reason="Missing page",
                             expected_version=version_of(db, "C-1"))
    assert review(db)[:2] == ("reupload_needed", marker)
    return approved


# --- Undo restores the block's previous review ----------------------------------------------

def test_undo_restores_a_prior_approval_exactly(db):
    approved = approve_then_mark_then_undo(db)
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer2",
                             expected_version=version_of(db, "C-1"))
    assert review(db) == approved  # approved, by reviewer, at the time they approved
    assert approved[:2] == ("approved", "reviewer") and approved[2] is not None
    d = case_detail(db, "C-1", "reviewer2")
    assert d.block("document:1").status_label == "Approved"
    with db.read() as s:
        undone = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "block.reupload_request_undone")).one()
    assert undone.after["status"] == "approved" and undone.after["reviewed_by"] == "reviewer"


def test_undo_of_a_block_never_reviewed_leaves_it_awaiting_review(db):
    make_case(db, documents=1)
    v = take(db, "C-1")
    ca.ask_to_reupload_block(db, "C-1", "document:1", actor="reviewer", reason="Missing page",
                             expected_version=v)
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer",
                             expected_version=v + 1)
    assert review(db) == (None, None, None, None)
    assert case_detail(db, "C-1").block("document:1").status_label == "Awaiting review"


def test_undo_of_a_request_recorded_before_the_fix_finds_the_approval_in_the_log(db):
    """A request recorded by an older Docket kept only the status it replaced: the approval's
    own audit event gives who and when."""
    approve_then_mark_then_undo(db)
    with db.unit_of_work() as s:
        s.execute(update(AuditEvent).where(AuditEvent.kind == "block.reupload_requested")
                  .values(before={"block": "document:1", "status": "approved"}))
        approval = s.scalars(select(AuditEvent).where(AuditEvent.kind == "block.approved")).one()
        at = approval.at
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer2",
                             expected_version=version_of(db, "C-1"))
    assert review(db) == ("approved", "reviewer", at, None)


def test_undo_after_a_second_request_restores_the_state_before_that_one(db):
    approve_then_mark_then_undo(db)
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer2",
                             expected_version=version_of(db, "C-1"))
    ca.ask_to_reupload_block(db, "C-1", "document:1", actor="reviewer2", reason="Expired document",
                             expected_version=version_of(db, "C-1"))
    approved_again = None
    with db.read() as s:
        approved_again = s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "block.reupload_requested").order_by(AuditEvent.id.desc())).first()
    assert approved_again.before["status"] == "approved"
    assert approved_again.before["reviewed_by"] == "reviewer"
    ca.undo_reupload_request(db, "C-1", "document:1", actor="reviewer2",
                             expected_version=version_of(db, "C-1"))
    assert review(db)[:2] == ("approved", "reviewer")


# --- Approve waits for every block to be reviewed ---------------------------------------------

def test_onboarding_refuses_approve_until_every_block_is_reviewed_and_names_them(db):
    make_case(db, documents=2, ubos=1)
    v = take(db, "C-1")
    d = case_detail(db, "C-1", "reviewer")
    approve = d.action("approve")
    assert not approve.allowed
    assert approve.reason == ("Approve needs every document and KYC block reviewed first "
                              "(3 awaiting review: Certificate of incorporation, Passport, "
                              "KYC · Owner 0)")
    assert d.unreviewed_blocks == ["Certificate of incorporation (Awaiting review)",
                                   "Passport (Awaiting review)", "KYC · Owner 0 (Awaiting review)"]
    assert approve.reason in d.action_notes
    before = row_counts(db)
    for call in (lambda: ca.approve_case(db, "C-1", actor="reviewer", expected_version=v),
                 lambda: perform(db, "C-1", "approve", actor="reviewer", expected_version=v)):
        with pytest.raises(ActionNotAllowed, match="reviewed first .*Passport"):
            call()
    assert row_counts(db) == before
    for i, block in enumerate(("document:1", "document:2", "kyc:1")):
        ca.approve_block(db, "C-1", block, actor="reviewer", expected_version=v + i)
    d = case_detail(db, "C-1", "reviewer")
    assert d.action("approve").allowed and d.unreviewed_blocks == []
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=d.version)


def test_the_setting_off_allows_approve_and_still_lists_the_unreviewed_blocks(db):
    make_case(db, workflow="ongoing_monitoring", documents=1)
    take(db, "C-1")
    d = case_detail(db, "C-1", "reviewer")
    assert d.action("approve").allowed
    assert d.unreviewed_blocks == ["Certificate of incorporation (Awaiting review)"]


def test_the_setting_is_on_for_onboarding_by_default_and_can_be_turned_off(db):
    onboarding = wa.get_workflow(db, "onboarding")
    assert onboarding["approve_needs_all_blocks_approved"] is True
    assert wa.get_workflow(db, "ongoing_monitoring")["approve_needs_all_blocks_approved"] is False
    make_case(db, documents=1)
    v = take(db, "C-1")
    wa.save_workflow(db, {**onboarding, "approve_needs_all_blocks_approved": False},
                     actor="admin", create=False)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=v)


def test_a_block_sent_back_counts_as_reviewed_but_still_refuses_approve(db):
    make_case(db, documents=1)
    v = take(db, "C-1")
    ca.ask_to_reupload_block(db, "C-1", "document:1", actor="reviewer", reason="Missing page",
                             expected_version=v)
    d = case_detail(db, "C-1", "reviewer")
    assert d.unreviewed_blocks == []
    assert 'Re-upload needed' in d.action("approve").reason


# --- refusals in words ----------------------------------------------------------------------

def test_an_analyst_gets_one_read_only_line(db):
    make_case(db, assignee="reviewer")
    d = case_detail(db, "C-1", "analyst")
    assert d.action_notes == ["Read-only: analysts can view cases but not act on them"]
    assert all(not a.allowed for a in d.case_actions)


def test_a_reviewer_is_told_to_take_the_case_first_then_each_refusal(db):
    make_case(db)
    d = case_detail(db, "C-1", "reviewer")
    assert d.action_notes[0] == "Assign the case to yourself first."
    assert any(n.startswith("Approve needs every document") for n in d.action_notes)
    assert any(n.startswith("Ask for all re-uploads needs") for n in d.action_notes)


def test_a_decided_case_says_no_action_remains_in_one_line(db):
    make_case(db, reviewed=True)
    v = take(db, "C-1")
    ca.reject_case(db, "C-1", actor="reviewer", expected_version=v, reason="fake papers")
    assert case_detail(db, "C-1", "reviewer").action_notes == [
        "No case action is available while the case is Rejected."]


def test_a_stale_version_is_refused_in_words_with_the_versions_kept_apart(db):
    make_case(db)
    v = take(db, "C-1")
    with pytest.raises(CaseChanged) as refused:
        ca.add_note(db, "C-1", "hello", actor="reviewer", expected_version=v - 1)
    message = str(refused.value)
    assert message == ("This case changed since you opened it (someone else acted on it). "
                       "Reload to see the change.")
    assert "version" not in message
    assert refused.value.actual == v and refused.value.expected == v - 1
    assert f"is at version {v}" in refused.value.detail


def test_what_changed_since_a_reader_saw_the_case(db):
    make_case(db, user_data={"industry": "trading"})
    take(db, "C-1")
    seen = case_detail(db, "C-1", "reviewer")
    ca.add_note(db, "C-1", "Called the applicant", actor="reviewer2",
                expected_version=seen.version)
    ca.edit_user_data(db, "C-1", {"industry": "mining"}, actor="reviewer",
                      expected_version=seen.version + 1)
    ca.approve_block(db, "C-1", "document:1", actor="reviewer",
                     expected_version=seen.version + 2)
    since = events_since(db, "C-1", seen.last_event_id)
    assert [e["kind"] for e in since] == ["note.added", "user_data.edited", "block.approved"]
    sentences = [describe(e, block_names(seen)) for e in since]
    assert sentences[0].startswith("reviewer2 added a note")
    assert sentences[2] == "reviewer approved Certificate of incorporation"
    assert events_since(db, "C-1", case_detail(db, "C-1").last_event_id) == []


@pytest.mark.parametrize("command,message", [
    (lambda db, v: ca.add_note(db, "C-1", "n" * 10_001, actor="reviewer", expected_version=v),
     "a note is at most 10,000 characters; this one has 10,001"),
    (lambda db, v: ca.reject_case(db, "C-1", actor="reviewer", expected_version=v,
                                  reason="r" * 2_001),
     "a reason is at most 2,000 characters; this one has 2,001"),
    (lambda db, v: ca.edit_user_data(db, "C-1", {"industry": "i" * 10_001}, actor="reviewer",
                                     expected_version=v),
     "industry: a value is at most 10,000 characters; this one has 10,001"),
])
def test_text_over_a_limit_is_refused_saying_by_how_much(db, command, message):
    make_case(db)
    v = take(db, "C-1")
    before = row_counts(db)
    with pytest.raises(InvalidInput) as refused:
        command(db, v)
    assert message in str(refused.value)
    assert row_counts(db) == before
