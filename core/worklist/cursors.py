"""Keyset paging of the case list: the API's cursors (`GET /cases?cursor=`).

Unlike page numbers, a cursor never skips or repeats a case when cases are added meanwhile:
it holds the last row's (sort value, case id) and the next page starts after it, in the same
order as `core.worklist.query.list_cases` (`keyset_after`)."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from core.errors import InvalidInput
from core.store.db import Database
from core.worklist.query import (
    ROW_COLUMNS,
    SORT_COLUMNS,
    CaseFilter,
    CaseRow,
    _matching,
    _row,
    count_cases,
    keyset_after,
    sort_columns,
)


@dataclass(frozen=True)
class KeysetPage:
    """Rows after a cursor; `next_cursor` continues the same walk (None: no more rows).
    Unlike page numbers, a cursor never skips or repeats a row when cases are added."""
    rows: list[CaseRow]
    total: int
    page_size: int
    next_cursor: str | None


def _cursor_value(sort: str, row: CaseRow) -> str:
    value = {"created_at": row.created_at, "updated_at": row.updated_at, "id": row.id,
             "status": row.status, "name": row.entity_name, "due_at": row.due_at,
             "risk": row.risk_points}[sort]
    if isinstance(value, int):
        return str(value)  # a cursor's value is text (JSON): read back as a number
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(sort: str, descending: bool, row: CaseRow) -> str:
    """An opaque token for "the rows after `row` in this sort"."""
    raw = json.dumps({"s": sort, "d": descending, "v": _cursor_value(sort, row), "i": row.id},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str, sort: str, descending: bool) -> tuple[object, str]:
    """The (sort value, case id) a cursor points after; InvalidInput when it is not one of
    ours or was made for another sort or order."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        made_for, value, case_id = (raw["s"], raw["d"]), raw["v"], raw["i"]
        if not isinstance(case_id, str) or not (
                isinstance(value, str) or (value is None and raw["s"] == "due_at")):
            raise ValueError
        if value is not None and SORT_COLUMNS[raw["s"]].type.python_type is datetime:
            value = datetime.fromisoformat(value)
        elif value is not None and SORT_COLUMNS[raw["s"]].type.python_type is int:
            value = int(value)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, NotImplementedError):
        raise InvalidInput("the cursor is not valid: use next_cursor exactly as a list "
                           "answer gave it") from None
    if made_for != (sort, descending):
        raise InvalidInput("the cursor was made for another sort or order: keep the sort "
                           "and order of the request that gave it") from None
    return value, case_id


def list_cases_after(db: Database, flt: CaseFilter, *, sort: str = "created_at",
                     descending: bool = True, cursor: str | None = None,
                     page_size: int = 50) -> KeysetPage:
    """The first `page_size` matching rows after `cursor` (None: from the start), ordered
    like `list_cases`, and the total from the same counters."""
    if page_size < 1 or page_size > 500:
        raise InvalidInput("page size must be between 1 and 500")
    order = sort_columns(sort, descending)
    stmt = _matching(flt, db.dialect, *ROW_COLUMNS)
    if cursor is not None:
        value, case_id = decode_cursor(cursor, sort, descending)
        stmt = stmt.where(keyset_after(SORT_COLUMNS[sort], value, case_id, descending))
    total = count_cases(db, flt)
    stmt = stmt.order_by(*order).limit(page_size + 1)
    with db.read() as s:
        rows = [_row(r) for r in s.execute(stmt)]
    more = len(rows) > page_size
    rows = rows[:page_size]
    return KeysetPage(rows, total, page_size,
                      encode_cursor(sort, descending, rows[-1]) if more else None)
