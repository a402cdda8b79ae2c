"""Saved filters, "My views" (core/worklist/saved_filters.py): checked whole, one owner's
only, at most 20 a user, audited; their live counts are the list's counts."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from core.access.users import set_disabled
from core.errors import InvalidInput, NotAllowed, NotFound
from core.store.models import AuditEvent, Case, utcnow
from core.store.worklist_models import SavedFilter as SavedFilterRow
from core.worklist.query import CaseFilter, real_count
from core.worklist.saved_filters import (
    DEFAULTS,
    MAX_SAVED,
    case_filter_of,
    count_saved_filters,
    delete_saved_filter,
    list_saved_filters,
    rename_saved_filter,
    save_filter,
    saved_filter_counts,
    view_missing,
)
from core.worklist.views import delete_view, ensure_default_views, list_views, save_view
from tests.factories import make_case

URGENT = {"statuses": ["manual_review"], "assignee": "me", "tags": ["urgent"],
          "sort": "due_at", "order": "asc"}


@pytest.fixture
def cases(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    make_case(db, "S-1", assignee="reviewer", name="Alpha Ltd")
    make_case(db, "S-2", assignee="reviewer", name="Beta Ltd")
    make_case(db, "S-3", assignee="reviewer2", name="Gamma Ltd")
    make_case(db, "S-4", name="Delta Ltd", country="GB", collection_completed=False)
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id.in_(["S-1", "S-3", "S-4"])).values(tags=["urgent"]))
    return db


def _rows(db) -> int:
    with db.read() as s:
        return len(list(s.scalars(select(SavedFilterRow.id))))


def test_save_list_and_delete(cases):
    fid = save_filter(cases, "reviewer", "  My   urgent ", URGENT)
    [saved] = list_saved_filters(cases, "reviewer")
    assert (saved.id, saved.owner, saved.name) == (fid, "reviewer", "My urgent")
    assert saved.filters == {**DEFAULTS, **URGENT}
    assert count_saved_filters(cases, "reviewer") == 1
    delete_saved_filter(cases, "reviewer", fid)
    assert list_saved_filters(cases, "reviewer") == []
    with cases.read() as s:
        kinds = [(e.kind, e.case_id, e.actor) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.kind.like("saved_filter.%")).order_by(AuditEvent.id))]
    assert kinds == [("saved_filter.saved", None, "reviewer"),
                     ("saved_filter.deleted", None, "reviewer")]


def test_only_the_owner_sees_renames_and_deletes_it(cases):
    fid = save_filter(cases, "reviewer", "Mine", URGENT)
    assert list_saved_filters(cases, "reviewer2") == []
    assert saved_filter_counts(cases, "reviewer2") == {}
    with pytest.raises(NotFound):
        delete_saved_filter(cases, "reviewer2", fid)
    with pytest.raises(NotFound):
        rename_saved_filter(cases, "reviewer2", fid, "Taken over")
    save_filter(cases, "reviewer2", "Mine", {})  # names are unique per owner only
    rename_saved_filter(cases, "reviewer", fid, "Still mine")
    assert [s.name for s in list_saved_filters(cases, "reviewer")] == ["Still mine"]


def test_the_live_count_is_the_lists_count(cases):
    views = list_views(cases)
    hk = next(v for v in views if v.name == "Hong Kong companies")
    filters = {"urgent": URGENT, "hk": {"view": hk.id, "tags": ["urgent"]},
               "all": {}, "dated": {"created_from": utcnow().date().isoformat(), "search": "Gamma"}}
    ids = {name: save_filter(cases, "reviewer", name, f) for name, f in filters.items()}
    counts = saved_filter_counts(cases, "reviewer")
    for saved in list_saved_filters(cases, "reviewer"):
        flt = case_filter_of(saved, views, "reviewer")
        assert counts[saved.id] == real_count(cases, flt), saved.name
    assert counts[ids["urgent"]] == 1   # S-1: the reviewer's, Manual review, tagged
    assert counts[ids["hk"]] == 2       # S-1, S-3 (S-4 is in GB)
    assert counts[ids["all"]] == 4
    assert counts[ids["dated"]] == 1
    assert case_filter_of(list_saved_filters(cases, "reviewer")[0], views, "reviewer") \
        == CaseFilter(view=views[0], me="reviewer")  # "all": the first view, nothing else


@pytest.mark.parametrize(("filters", "problem"), [
    ({"statuses": ["bogus"]}, "unknown status 'bogus'"),
    ({"assignee": "boss"}, "assignee must be one of"),
    ({"view": 9999}, "view 9999 does not exist"),
    ({"view": "1"}, "view '1' does not exist"),
    ({"workflows": ["payroll"]}, "workflow 'payroll' does not exist"),
    ({"search": "x" * 201}, "search is a text of at most 200"),
    ({"created_from": "2025-13-01"}, "created_from must be a date"),
    ({"created_from": "2025-03-01", "created_to": "2025-02-01"}, "ends before it starts"),
    ({"tags": ["ok", " "]}, "a tag cannot be empty"),
    ({"tags": ["x" * 51]}, "a tag is at most 50 characters"),
    ({"tags": "vip"}, "tags must be a list of texts"),
    ({"overdue": "yes"}, "overdue must be true or false"),
    ({"sort": "risk_score"}, "cannot sort by 'risk_score'"),
    ({"order": "up"}, "order must be asc or desc"),
    ({"colour": "red"}, "unknown filter 'colour'"),
])
def test_bad_filters_are_refused_whole(cases, filters, problem):
    with pytest.raises(InvalidInput) as e:
        save_filter(cases, "reviewer", "Bad", filters)
    assert any(problem in p for p in e.value.problems), e.value.problems
    assert _rows(cases) == 0


def test_every_problem_is_listed(cases):
    with pytest.raises(InvalidInput) as e:
        save_filter(cases, "reviewer", "Bad", {"statuses": ["bogus"], "sort": "risk_score"})
    assert len(e.value.problems) == 2


@pytest.mark.parametrize(("name", "message"), [
    ("", "needs a name"), ("   ", "needs a name"), (None, "needs a name"),
    ("x" * 61, "at most 60 characters"),
])
def test_names(cases, name, message):
    with pytest.raises(InvalidInput, match=message):
        save_filter(cases, "reviewer", name, {})
    assert _rows(cases) == 0
    save_filter(cases, "reviewer", "x" * 60, {})  # 60 is fine


def test_names_are_unique_per_owner_and_there_are_at_most_twenty(cases):
    save_filter(cases, "reviewer", "Mine", {})
    with pytest.raises(InvalidInput, match="already have a saved filter named 'Mine'"):
        save_filter(cases, "reviewer", "Mine", URGENT)
    for i in range(MAX_SAVED - 1):
        save_filter(cases, "reviewer", f"F{i}", {})
    with pytest.raises(InvalidInput, match=f"at most {MAX_SAVED} saved filters"):
        save_filter(cases, "reviewer", "One more", {})
    assert count_saved_filters(cases, "reviewer") == MAX_SAVED
    other = list_saved_filters(cases, "reviewer")[1].id
    with pytest.raises(InvalidInput, match="already have"):
        rename_saved_filter(cases, "reviewer", other, "Mine")


def test_a_disabled_or_unknown_user_saves_nothing(cases):
    set_disabled(cases, "reviewer2", True)
    for who in ("reviewer2", "nobody"):
        with pytest.raises(NotAllowed):
            save_filter(cases, who, "Mine", {})
    assert _rows(cases) == 0


def test_a_deleted_view_falls_back_to_the_first_view(cases):
    view = save_view(cases, "Urgent ones", [], [{"field": "tags", "op": "contains",
                                                 "value": "urgent"}], actor="admin")
    fid = save_filter(cases, "reviewer", "Via a view", {"view": view.id, "assignee": "someone"})
    assert saved_filter_counts(cases, "reviewer")[fid] == 2  # S-1, S-3
    delete_view(cases, view.id, actor="admin")
    views = list_views(cases)
    [saved] = list_saved_filters(cases, "reviewer")
    assert view_missing(saved, views)
    assert case_filter_of(saved, views, "reviewer").view == views[0]
    assert saved_filter_counts(cases, "reviewer")[fid] == 3  # every assigned case
