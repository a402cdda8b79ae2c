"""A search's page and its capped total in one pass over its matches.

The Cases page counts a search up to COUNT_CAP (10,000) and then reads page 1, newest first:
two statements, each finding every match again through the full-text index and reading
each one's row ("golden", 9,827 of 1M cases: 9,827 rows read twice, 52-62 ms on SQLite
within a view). Here the matches, at most cap + 1 of them, are read once with their created
time; the database numbers them (`count(*) OVER ()`) and sorts them for the page in the same
statement. When there are at most `cap`, that is the exact total and the page, sorted by the
database itself as `core.worklist.query.page_query` sorts (same ORDER BY, so the same
collation and ties). Above the cap the page read is incomplete: the caller then knows the
total is "cap+" and reads the page its usual way — the same cost as its capped count.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class FirstPass:
    total: int  # the exact total when `complete`; else more than the cap
    page_ids: list[str]  # the page's case ids, in the list's order (when `complete`)
    complete: bool
    page: int = 1  # the page read: the last one when the page asked for lies past the end


def search_first_pass(s: Session, matching: Select, cap: int, descending: bool,
                      page: int, page_size: int) -> FirstPass:
    """`matching`: SELECT page_id, created_at of the filter's cases (unordered). Read at most
    cap + 1 of them once; newest first (or oldest) with the case id as tie-breaker, as
    `core.worklist.query.sort_columns` orders "created_at"."""
    found = matching.limit(cap + 1).subquery("matches")
    if descending:
        order = (found.c.created_at.desc(), found.c.page_id.desc())
    else:
        order = (found.c.created_at.asc(), found.c.page_id.asc())
    numbered = select(found.c.page_id, func.count().over().label("total")).order_by(*order)
    rows = s.execute(numbered.limit(page_size).offset((page - 1) * page_size)).all()
    if not rows and page == 1:  # nothing matches
        return FirstPass(0, [], True)
    if not rows:  # a page past the end: count the matches (at most cap + 1)
        total = int(s.scalar(select(func.count()).select_from(found)) or 0)
        if total == 0 or total > cap:
            return FirstPass(total, [], total <= cap)
        last = -(-total // page_size)  # the list shows the last page instead
        return search_first_pass(s, matching, cap, descending, last, page_size)
    total = int(rows[0].total)
    if total > cap:
        return FirstPass(total, [], False)
    return FirstPass(total, [r.page_id for r in rows], True, page)
