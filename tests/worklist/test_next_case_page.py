"""page_of_case (core/worklist/next_case.py): the page of a list that shows a case, so the
Cases page can show the case Next case opened highlighted in its list. Checked against the
pages list_cases returns, for every sort both ways (a NULL due time included)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.store.models import Case, utcnow
from core.worklist.next_case import page_of_case
from core.worklist.query import SORT_COLUMNS, CaseFilter, list_cases
from tests.factories import make_case

NOW = utcnow()


@pytest.fixture
def seven(db):
    for i in range(7):
        make_case(db, f"P-{i}", name=f"Entity {(i * 3) % 7}", country="HK" if i % 2 else "DE")
    with db.unit_of_work() as s:
        for i in range(7):
            due = None if i in (2, 5) else NOW + timedelta(hours=(i * 5) % 7 - 3)
            s.execute(update(Case).where(Case.id == f"P-{i}").values(due_at=due))
    return db


@pytest.mark.parametrize("sort", sorted(SORT_COLUMNS))
@pytest.mark.parametrize("descending", [False, True])
def test_the_page_is_the_one_list_cases_shows_it_on(seven, sort, descending):
    flt = CaseFilter()
    for page in (1, 2, 3):
        listed = list_cases(seven, flt, sort=sort, descending=descending, page=page, page_size=3)
        for row in listed.rows:
            assert page_of_case(seven, flt, row.id, sort=sort, descending=descending,
                                page_size=3) == page, (row.id, page)


def test_a_case_outside_the_filter_has_no_page(seven):
    flt = CaseFilter(search="P-1")
    assert page_of_case(seven, flt, "P-1", sort="created_at", descending=True,
                        page_size=50) == 1
    assert page_of_case(seven, flt, "P-2", sort="created_at", descending=True,
                        page_size=50) is None
    assert page_of_case(seven, CaseFilter(), "NOPE", sort="id", descending=False,
                        page_size=50) is None
