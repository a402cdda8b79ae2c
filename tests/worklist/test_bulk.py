"""Bulk actions (core/worklist/bulk.py): each case through its service function, refusals
listed with the core's reason while the others go on; whole requests refused up front write
nothing; "select all" reads the list's ids in its sort order."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.access.users import set_disabled
from core.cases import actions as ca
from core.cases.tags import MAX_TAG_CHARS, add_tag
from core.errors import InvalidInput, NotAllowed
from core.store.models import AuditEvent, Case, utcnow
from core.worklist.bulk import (
    BULK_ACTIONS,
    MAX_BULK,
    BulkResult,
    bulk_act,
    case_ids_for,
    may_bulk,
    still_listed,
)
from core.worklist.query import CaseFilter
from tests.factories import make_case, row_counts, status_of, version_of


def _cases(db, n: int, prefix: str = "B", **kw) -> list[str]:
    return [make_case(db, f"{prefix}-{i:03d}", **kw) for i in range(n)]


def _assignee(db, case_id):
    with db.read() as s:
        return s.get(Case, case_id).assignee


def _tags(db, case_id):
    with db.read() as s:
        return list(s.get(Case, case_id).tags or [])


def _events(db, kind: str) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(AuditEvent.case_id, func.count()).where(
            AuditEvent.kind == kind).group_by(AuditEvent.case_id)).all())


def test_the_actions_each_role_may_take_in_bulk():
    assert may_bulk("analyst") == ()
    assert may_bulk("reviewer") == ("assign",)
    assert may_bulk("lead") == BULK_ACTIONS == may_bulk("admin")
    assert may_bulk(None) == ()


def test_bulk_assign_does_each_case_and_lists_the_refused_with_why(db):
    ids = _cases(db, 5)
    make_case(db, "B-DONE")
    ca.assign_case(db, "B-DONE", "reviewer", actor="lead", expected_version=version_of(db, "B-DONE"))
    ca.reject_case(db, "B-DONE", actor="reviewer", expected_version=version_of(db, "B-DONE"),
                   reason="sanctions")
    make_case(db, "B-THEIRS", assignee="reviewer")
    seen = []
    result = bulk_act(db, [*ids, "B-DONE", "B-THEIRS", "B-NOPE", ids[0]], "assign",
                      actor="lead", to="reviewer2", on_progress=lambda d, t: seen.append((d, t)))
    assert result.done == [*ids, "B-THEIRS"]  # a lead reassigns someone else's case
    assert result.unchanged == []
    assert [c for c, _ in result.refused] == ["B-DONE", "B-NOPE"]
    assert "Rejected, which is final" in dict(result.refused)["B-DONE"]
    assert "not found" in dict(result.refused)["B-NOPE"]
    assert result.summary() == "6 assigned, 0 unchanged, 2 refused"
    assert seen == [(n, 8) for n in range(1, 9)]  # the duplicate id is folded
    assert all(_assignee(db, c) == "reviewer2" for c in [*ids, "B-THEIRS"])
    assert _assignee(db, "B-DONE") == "reviewer"
    events = _events(db, "case.assigned")
    assert all(events[c] == 1 for c in ids) and events["B-THEIRS"] == 1


def test_a_case_already_so_is_unchanged_and_nothing_is_written_for_it(db):
    make_case(db, "B-1", assignee="reviewer")
    make_case(db, "B-2")
    before = version_of(db, "B-1")
    result = bulk_act(db, ["B-1", "B-2"], "assign", actor="lead", to="reviewer")
    assert (result.done, result.unchanged, result.refused) == (["B-2"], ["B-1"], [])
    assert version_of(db, "B-1") == before and "B-1" not in _events(db, "case.assigned")
    result = bulk_act(db, ["B-1", "B-2"], "unassign", actor="admin")
    assert result.done == ["B-1", "B-2"] and _assignee(db, "B-1") is None
    assert bulk_act(db, ["B-1"], "unassign", actor="admin").unchanged == ["B-1"]


def test_bulk_tag_and_untag(db):
    ids = _cases(db, 3)
    add_tag(db, ids[0], "vip", actor="lead", expected_version=version_of(db, ids[0]))
    result = bulk_act(db, ids, "tag", actor="lead", tag="  vip ")
    assert (result.done, result.unchanged) == (ids[1:], ids[:1])
    assert all(_tags(db, c) == ["vip"] for c in ids)
    assert set(_events(db, "case.tagged")) == set(ids)
    result = bulk_act(db, [*ids, "B-NOPE"], "untag", actor="admin", tag="vip")
    assert result.done == ids and [c for c, _ in result.refused] == ["B-NOPE"]
    assert all(_tags(db, c) == [] for c in ids)
    assert bulk_act(db, ids, "untag", actor="admin", tag="vip").unchanged == ids


def test_bulk_reject_decides_only_the_actors_own_cases(db):
    mine = _cases(db, 3, "M", assignee="lead")
    make_case(db, "THEIRS", assignee="reviewer")
    make_case(db, "NOBODYS")
    make_case(db, "WAITING", collection_completed=False, assignee="lead")
    result = bulk_act(db, [*mine, "THEIRS", "NOBODYS", "WAITING"], "reject", actor="lead",
                      reason="  shell companies  ")
    assert result.done == mine
    refused = dict(result.refused)
    assert list(refused) == ["THEIRS", "NOBODYS", "WAITING"]
    assert refused["THEIRS"].startswith("only the case's assignee may do this; case THEIRS is "
                                        "assigned to reviewer")
    assert "is unassigned" in refused["NOBODYS"]
    assert refused["WAITING"].startswith("cannot Reject")
    assert all(status_of(db, c) == "rejected" for c in mine)
    assert status_of(db, "THEIRS") == status_of(db, "NOBODYS") == "manual_review"
    with db.read() as s:
        reasons = set(s.scalars(select(Case.decision_reason).where(Case.id.in_(mine))))
    assert reasons == {"shell companies"}
    assert set(_events(db, "case.rejected")) == set(mine)
    # rejected already: refused by the status rules, nothing written
    again = bulk_act(db, mine, "reject", actor="lead", reason="again")
    assert again.done == [] and len(again.refused) == 3


def test_the_lead_assigns_a_batch_to_themself_then_rejects_it(db):
    ids = _cases(db, 4, assignee="reviewer")
    assert bulk_act(db, ids, "reject", actor="lead", reason="r").done == []
    assert bulk_act(db, ids, "assign", actor="lead").done == ids  # "to" defaults to the actor
    assert bulk_act(db, ids, "reject", actor="lead", reason="r").done == ids


def test_a_reviewer_may_only_take_cases_for_themself(db):
    make_case(db, "FREE")
    make_case(db, "MINE", assignee="reviewer")
    make_case(db, "THEIRS", assignee="reviewer2")
    result = bulk_act(db, ["FREE", "MINE", "THEIRS"], "assign", actor="reviewer",
                      to="reviewer")
    assert result.done == ["FREE"] and result.unchanged == ["MINE"]
    assert result.refused == [("THEIRS", "case THEIRS is assigned to reviewer2; only an admin "
                                         "can reassign it")]
    assert _assignee(db, "THEIRS") == "reviewer2"


@pytest.mark.parametrize("action, kw, error, words", [
    ("assign", {"to": "reviewer2"}, NotAllowed, "only assign cases to themself"),
    ("unassign", {}, NotAllowed, "may not unassign cases in bulk"),
    ("tag", {"tag": "vip"}, NotAllowed, "may not tag cases in bulk"),
    ("untag", {"tag": "vip"}, NotAllowed, "may not untag"),
    ("reject", {"reason": "r"}, NotAllowed, "may not reject cases in bulk"),
])
def test_reviewer_limits_refuse_the_whole_request(db, action, kw, error, words):
    ids = _cases(db, 3, assignee="reviewer")
    counts = row_counts(db)
    with pytest.raises(error, match=words):
        bulk_act(db, ids, action, actor="reviewer", **kw)
    assert row_counts(db) == counts


@pytest.mark.parametrize("ids, action, actor, kw, error, words", [
    ([], "assign", "lead", {}, InvalidInput, "at least one case"),
    (["B-000"], "approve", "lead", {}, InvalidInput, "unknown bulk action 'approve'"),
    (["B-000"], "assign", "analyst", {}, NotAllowed, r"analyst \(analyst\) may not assign"),
    (["B-000"], "assign", "ghost", {}, NotAllowed, "does not exist or is disabled"),
    (["B-000"], "assign", "lead", {"to": "analyst"}, InvalidInput, "is an analyst"),
    (["B-000"], "assign", "lead", {"to": "nobody"}, NotAllowed, "'nobody' does not exist"),
    (["B-000"], "tag", "lead", {"tag": "  "}, InvalidInput, "cannot be empty"),
    (["B-000"], "tag", "lead", {}, InvalidInput, "cannot be empty"),
    (["B-000"], "untag", "lead", {"tag": "x" * (MAX_TAG_CHARS + 1)}, InvalidInput, "at most"),
    (["B-000"], "reject", "lead", {"reason": " "}, InvalidInput, "a reason is required"),
    (["B-000"], "reject", "lead", {"reason": "x" * (ca.MAX_REASON + 1)}, InvalidInput,
     "a reason is at most 2,000"),
    ("B-000", "assign", "lead", {}, InvalidInput, "as a list"),
])
def test_bad_requests_are_refused_whole_and_write_nothing(db, ids, action, actor, kw, error,
                                                          words):
    make_case(db, "B-000")
    counts = row_counts(db)
    with pytest.raises(error, match=words):
        bulk_act(db, ids, action, actor=actor, **kw)
    assert row_counts(db) == counts


def test_more_than_500_cases_are_refused_and_duplicates_fold(db):
    ids = _cases(db, 2)
    counts = row_counts(db)
    with pytest.raises(InvalidInput, match="at most 500 cases at once; 501 were selected"):
        bulk_act(db, [f"X-{i}" for i in range(MAX_BULK + 1)], "assign", actor="lead")
    assert row_counts(db) == counts
    many = ids * 300  # 600 ids, two cases
    assert bulk_act(db, many, "assign", actor="lead").done == ids


def test_a_disabled_actor_is_refused(db):
    make_case(db, "B-1")
    set_disabled(db, "lead", True, actor="admin")
    with pytest.raises(NotAllowed, match="disabled"):
        bulk_act(db, ["B-1"], "assign", actor="lead")


def test_a_result_summary():
    result = BulkResult("reject", done=["a"] * 187, unchanged=["b"] * 3,
                        refused=[("c", "why")] * 10)
    assert result.summary() == "187 rejected, 3 unchanged, 10 refused"
    assert result.total == 200


def test_select_all_gives_the_lists_ids_in_its_order(db):
    now = utcnow()
    for i, name in enumerate(["Cobalt", "Amber", "Birch"]):
        make_case(db, f"S-{i}", name=f"{name} Selectall Ltd")
        with db.unit_of_work() as s:
            s.execute(update(Case).where(Case.id == f"S-{i}").values(
                created_at=now - timedelta(days=3 - i)))
    make_case(db, "OTHER", name="Elsewhere Ltd")
    flt = CaseFilter(search="Selectall")
    assert case_ids_for(db, flt) == ["S-2", "S-1", "S-0"]  # newest first
    assert case_ids_for(db, flt, sort="name", descending=False) == ["S-1", "S-2", "S-0"]
    assert case_ids_for(db, CaseFilter(assignee="unassigned"), sort="id",
                        descending=False) == ["OTHER", "S-0", "S-1", "S-2"]
    with pytest.raises(InvalidInput, match="cannot sort by"):
        case_ids_for(db, flt, sort="nope")


def test_select_all_refuses_a_list_over_the_limit(db):
    _cases(db, 4)
    assert len(case_ids_for(db, CaseFilter(), limit=4)) == 4
    with pytest.raises(InvalidInput, match="this list has 4 cases; a bulk action takes at most 3"):
        case_ids_for(db, CaseFilter(), limit=3)


def test_select_all_of_501_cases_is_refused(db):
    _cases(db, MAX_BULK + 1, "L", documents=0)
    with pytest.raises(InvalidInput, match="this list has 501 cases; a bulk action takes at "
                                           "most 500"):
        case_ids_for(db, CaseFilter())


def test_still_listed_keeps_the_selected_cases_the_list_still_holds(db):
    make_case(db, "A", assignee="reviewer")
    make_case(db, "B")
    make_case(db, "C")
    flt = CaseFilter(assignee="unassigned")
    assert still_listed(db, flt, ["C", "A", "B", "NOPE"]) == ["C", "B"]
    assert still_listed(db, flt, []) == []


def test_a_case_changed_by_someone_else_meanwhile_is_refused_and_the_rest_goes_on(
        db, monkeypatch):
    ids = _cases(db, 3)
    real = ca.assign_case

    def racing(db_, case_id, to, **kw):  # someone else acts on B-001 just before it is done
        if case_id == "B-001":
            real(db_, case_id, "reviewer2", actor="admin",
                 expected_version=version_of(db_, case_id))
        return real(db_, case_id, to, **kw)

    monkeypatch.setattr("core.worklist.bulk.assign_case", racing)
    result = bulk_act(db, ids, "assign", actor="lead", to="reviewer")
    assert result.done == ["B-000", "B-002"]
    assert result.refused == [("B-001", "the case changed while the bulk action ran (someone "
                                         "else acted on it); nothing was done to it: run the "
                                         "action again for it")]
    assert _assignee(db, "B-001") == "reviewer2"
