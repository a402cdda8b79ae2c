"""Tags on a case (issue #10.6): added and removed as audited commands, by the right people,
on the version the actor saw; bad tags refused with nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.cases.commands import perform
from core.cases.history import describe
from core.cases.read import case_detail
from core.cases.tags import MAX_TAG_CHARS, MAX_TAGS, add_tag, clean_tag, remove_tag
from core.errors import CaseChanged, InvalidInput, NotAllowed
from core.store.models import AuditEvent, Case
from tests.factories import make_case, row_counts, version_of


def tags_of(db, case_id="C-1"):
    with db.read() as s:
        return list(s.get(Case, case_id).tags or [])


def tag_events(db, case_id="C-1"):
    with db.read() as s:
        return s.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                  AuditEvent.kind.like("case.%tagged"))
                         .order_by(AuditEvent.id)).all()


def test_a_lead_tags_any_case_and_the_change_is_audited_and_versioned(db):
    make_case(db, assignee="reviewer")
    v = version_of(db, "C-1")
    assert add_tag(db, "C-1", "  vip ", actor="lead", expected_version=v) is True
    assert tags_of(db) == ["vip"]
    assert version_of(db, "C-1") == v + 1
    [event] = tag_events(db)
    assert (event.kind, event.actor, event.before, event.after) == (
        "case.tagged", "lead", {"tags": []}, {"tags": ["vip"], "tag": "vip"})
    entry = describe({"at": event.at, "actor": "lead", "kind": event.kind,
                      "before": event.before, "after": event.after})
    assert "tagged the case vip" in entry

    assert remove_tag(db, "C-1", "vip", actor="admin", expected_version=v + 1) is True
    assert tags_of(db) == []
    assert [e.kind for e in tag_events(db)] == ["case.tagged", "case.untagged"]


def test_adding_a_tag_the_case_has_changes_nothing_not_even_the_version(db):
    make_case(db, assignee="reviewer")
    add_tag(db, "C-1", "vip", actor="lead", expected_version=version_of(db, "C-1"))
    before = row_counts(db), version_of(db, "C-1")
    assert add_tag(db, "C-1", "vip", actor="lead", expected_version=before[1]) is False
    assert remove_tag(db, "C-1", "other", actor="lead", expected_version=before[1]) is False
    assert (row_counts(db), version_of(db, "C-1")) == before


def test_a_reviewer_tags_only_their_own_cases_and_an_analyst_none(db):
    make_case(db, "C-1", assignee="reviewer")
    make_case(db, "C-2", assignee="reviewer2")
    make_case(db, "C-3")
    add_tag(db, "C-1", "follow-up", actor="reviewer", expected_version=version_of(db, "C-1"))
    assert tags_of(db, "C-1") == ["follow-up"]
    for case_id in ("C-2", "C-3"):
        with pytest.raises(NotAllowed, match="only the case's assignee"):
            add_tag(db, case_id, "x", actor="reviewer", expected_version=version_of(db, case_id))
        assert tags_of(db, case_id) == []
    with pytest.raises(NotAllowed):
        add_tag(db, "C-1", "x", actor="analyst", expected_version=version_of(db, "C-1"))
    assert tags_of(db, "C-1") == ["follow-up"]
    assert case_detail(db, "C-1", "reviewer").can_tag
    assert not case_detail(db, "C-2", "reviewer").can_tag
    assert case_detail(db, "C-2", "lead").can_tag
    assert not case_detail(db, "C-1", "analyst").can_tag


def test_a_stale_version_is_refused(db):
    make_case(db)
    v = version_of(db, "C-1")
    add_tag(db, "C-1", "a", actor="lead", expected_version=v)
    with pytest.raises(CaseChanged):
        add_tag(db, "C-1", "b", actor="lead", expected_version=v)
    assert tags_of(db) == ["a"]


@pytest.mark.parametrize("bad, message", [
    ("", "cannot be empty"), ("   ", "cannot be empty"), (None, "is text"),
    ("x" * (MAX_TAG_CHARS + 1), f"at most {MAX_TAG_CHARS}"), ("a\nb", "control characters"),
    ("a\x00b", "control characters"), ("a\u202eb", "control characters"),
])
def test_bad_tags_are_refused_and_nothing_is_written(db, bad, message):
    make_case(db)
    before = row_counts(db), version_of(db, "C-1")
    with pytest.raises(InvalidInput, match=message):
        add_tag(db, "C-1", bad, actor="lead", expected_version=before[1])
    assert (row_counts(db), version_of(db, "C-1")) == before


def test_a_case_carries_at_most_max_tags(db):
    make_case(db)
    for i in range(MAX_TAGS):
        add_tag(db, "C-1", f"t{i}", actor="lead", expected_version=version_of(db, "C-1"))
    with pytest.raises(InvalidInput, match=f"at most {MAX_TAGS} tags"):
        add_tag(db, "C-1", "one-more", actor="lead", expected_version=version_of(db, "C-1"))
    assert len(tags_of(db)) == MAX_TAGS


def test_tag_and_untag_by_name_as_the_cli_and_api_do(db):
    make_case(db)
    perform(db, "C-1", "tag", actor="lead", expected_version=version_of(db, "C-1"), tag="kyb")
    assert tags_of(db) == ["kyb"]
    with pytest.raises(InvalidInput, match="needs a tag"):
        perform(db, "C-1", "untag", actor="lead", expected_version=version_of(db, "C-1"))
    perform(db, "C-1", "untag", actor="lead", expected_version=version_of(db, "C-1"), tag="kyb")
    assert tags_of(db) == []


def test_clean_tag_keeps_unicode_labels():
    assert clean_tag(" Prüfung ") == "Prüfung"
    assert clean_tag("北京") == "北京"
