"""Case actions over HTTP, as the key's user, with the version they saw."""
from __future__ import annotations

from sqlalchemy import select

from core.store.models import AuditEvent, Decision, Note, OutboxMessage
from core.workflows import admin as wa
from tests.api.conftest import a_case, new_id, push


def _version(c, case_id) -> int:
    return c.get(f"/cases/{case_id}").json()["version"]


def test_take_then_approve_as_the_keys_user(api):
    case_id = push(api, a_case(new_id("ACT")))
    with api.client("act-reviewer") as c:
        took = c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        assert took.json() == {"case_id": case_id, "action": "assign",
                               "status": "manual_review", "version": 2,
                               "reuploads_requested": None, "approval": None}
        done = c.post(f"/cases/{case_id}/actions/approve",
                      json={"expected_version": 2, "reason": "all documents verified"})
        assert done.status_code == 200 and done.json()["status"] == "approved"
        after = c.get(f"/cases/{case_id}").json()
    assert (after["assignee"], after["decided_by"], after["decision_reason"]) == (
        "rev", "rev", "all documents verified")
    with api.db.read() as s:
        decision = s.scalars(select(Decision).where(Decision.case_id == case_id)).one()
        vias = set(s.scalars(select(AuditEvent.via).where(AuditEvent.case_id == case_id,
                                                          AuditEvent.actor == "rev")))
    assert decision.actor == "rev" and vias == {"api key act-reviewer"}


def test_a_stale_version_is_409_with_the_current_one_and_changes_nothing(api):
    case_id = push(api, a_case(new_id("STALE")))
    with api.client("act-reviewer") as c:
        c.post(f"/cases/{case_id}/actions/note", json={"expected_version": 1, "text": "first"})
        r = c.post(f"/cases/{case_id}/actions/note", json={"expected_version": 1,
                                                             "text": "second"})
        assert r.status_code == 409
        assert r.json()["current_version"] == 2 and "Reload" in r.json()["detail"]
        assert _version(c, case_id) == 2
    with api.db.read() as s:
        assert list(s.scalars(select(Note.body).where(Note.case_id == case_id))) == ["first"]


def test_the_status_rules_refuse_with_their_reason(api):
    case_id = push(api, a_case(new_id("RULES"), collection_completed=False))
    with api.client("act-reviewer") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        r = c.post(f"/cases/{case_id}/actions/approve", json={"expected_version": 2})
    assert r.status_code == 409 and "Collection flow" in r.json()["detail"]


def test_someone_elses_case_is_403(api):
    case_id = push(api, a_case(new_id("OTHER")))
    with api.client("act-reviewer") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
    with api.client("act-reviewer2") as c:
        r = c.post(f"/cases/{case_id}/actions/reject", json={"expected_version": 2,
                                                               "reason": "not mine"})
    assert r.status_code == 403 and "assigned to rev" in r.json()["detail"]


def test_bad_requests_name_the_field(api):
    case_id = push(api, a_case(new_id("BAD")))
    with api.client("act-reviewer") as c:
        unknown = c.post(f"/cases/{case_id}/actions/launch", json={"expected_version": 1})
        no_version = c.post(f"/cases/{case_id}/actions/note", json={"text": "x"})
        no_reason = c.post(f"/cases/{case_id}/actions/reject", json={"expected_version": 1})
        no_block = c.post(f"/cases/{case_id}/actions/approve-block",
                          json={"expected_version": 1})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "action"
    assert no_version.status_code == 422
    assert no_version.json()["errors"][0]["field"] == "expected_version"
    assert no_reason.status_code in (403, 422)
    assert no_block.status_code == 422 and "needs a block" in no_block.json()["detail"]
    with api.client("act-reviewer") as c:
        assert _version(c, case_id) == 1


def test_a_nul_character_in_an_action_is_refused_and_writes_nothing(api):
    # Found by schemathesis on PostgreSQL: a NUL in a note, a reason or an assignee reached
    # the database (a 500). Refused as bad input on both databases; nothing is written.
    case_id = push(api, a_case(new_id("NUL")))
    with api.client("all-admin") as c:
        note = c.post(f"/cases/{case_id}/actions/note", json={"expected_version": 1,
                                                               "text": "call\x00back"})
        assign = c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1,
                                                                   "to": "rev\x00"})
        took = c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        reject = c.post(f"/cases/{case_id}/actions/reject", json={"expected_version": 2,
                                                                   "reason": "fraud\x00"})
        after = c.get(f"/cases/{case_id}").json()
    for r in (note, assign, reject):
        assert r.status_code == 422 and "NUL character" in r.json()["detail"], r.text
    assert took.status_code == 200
    assert (after["version"], after["status"], after["assignee"]) == (2, "manual_review", "svc")
    with api.db.read() as s:
        assert list(s.scalars(select(Note.body).where(Note.case_id == case_id))) == []
        assert s.scalars(select(Decision).where(Decision.case_id == case_id)).first() is None


def _four_eyes_workflow(api) -> str:
    """A workflow of its own whose four-eyes rule asks two approvers for Iranian entities."""
    name = f"four_eyes_{new_id().lower().replace('-', '_')}"
    definition = wa.new_definition(name, "Four eyes")
    definition["four_eyes"] = {"countries": ["IR"]}
    wa.save_workflow(api.db, definition, actor="boss", create=True)
    return name


def test_four_eyes_approve_twice_with_two_keys(api):
    """The first approve answers 200 with approval 1 of 2 and the case still in manual
    review, nothing notified; the same key again is 409; a second user's key decides."""
    case = a_case(new_id("4EYES"), workflow=_four_eyes_workflow(api))
    case["entity"]["country"] = "IR"
    case_id = push(api, case)
    with api.client("act-reviewer") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        first = c.post(f"/cases/{case_id}/actions/approve",
                       json={"expected_version": 2, "reason": "documents verified"})
        assert first.status_code == 200, first.text
        assert first.json() == {"case_id": case_id, "action": "approve",
                                "status": "manual_review", "version": 3,
                                "reuploads_requested": None,
                                "approval": {"given": 1, "needed": 2, "final": False}}
        again = c.post(f"/cases/{case_id}/actions/approve", json={"expected_version": 3})
        assert again.status_code == 409 and "you gave approval 1 of 2" in again.json()["detail"]
        shown = c.get(f"/cases/{case_id}").json()
    assert shown["approvals_needed"] == 2 and shown["awaiting_second_approver"] == "rev"
    assert [(a["step"], a["approver"]) for a in shown["approvals"]] == [(1, "rev")]
    assert "country IR" in shown["four_eyes_rule"]
    with api.db.read() as s:
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all() == []
    with api.client("act-reviewer2") as c:  # not the assignee: a second approver need not be
        final = c.post(f"/cases/{case_id}/actions/approve", json={"expected_version": 3})
    assert final.status_code == 200, final.text
    assert final.json()["status"] == "approved"
    assert final.json()["approval"] == {"given": 2, "needed": 2, "final": True}
    with api.db.read() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
        assert {r.event_type for r in rows} == {"case.approved"} and len(rows) == 2
        assert s.scalars(select(Decision).where(Decision.case_id == case_id)).one().actor == "rev2"
