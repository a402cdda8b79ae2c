"""The tags in use (core/worklist/tag_list.py), counted in SQL on both databases."""
from __future__ import annotations

import pytest

from core.errors import InvalidInput
from core.store.models import Case
from core.worklist.tag_list import tag_counts, tags_in_use
from tests.factories import make_case


def _tag(db, case_id: str, *tags: str) -> None:
    with db.unit_of_work() as s:
        s.get(Case, case_id).tags = list(tags)


def test_distinct_tags_with_their_counts(db):
    for i, tags in enumerate([("vip", "sar-filed"), ("vip",), ("Batch 7",), ()]):
        make_case(db, f"T-{i}")
        _tag(db, f"T-{i}", *tags)
    assert tag_counts(db) == {"vip": 2, "Batch 7": 1, "sar-filed": 1}
    assert tags_in_use(db) == ["Batch 7", "sar-filed", "vip"]


def test_the_most_used_first_when_limited(db):
    for i in range(3):
        make_case(db, f"T-{i}")
    _tag(db, "T-0", "a", "z")
    _tag(db, "T-1", "z")
    _tag(db, "T-2", "z", "m")
    assert tags_in_use(db, limit=2) == ["a", "z"]  # z (3), then a and m (1 each): a first


def test_no_tags_no_cases_and_a_bad_limit(db):
    assert tags_in_use(db) == []
    make_case(db, "T-1")
    assert tags_in_use(db) == []
    with pytest.raises(InvalidInput):
        tags_in_use(db, limit=0)
