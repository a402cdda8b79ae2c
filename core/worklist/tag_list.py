"""The tags in use: every distinct tag the cases carry, for the sidebar's tag filter.

One `GROUP BY` over the tags of every case, in SQL (SQLite `json_each`, PostgreSQL
`jsonb_array_elements_text`): the most used first when there are more than `limit`, returned
in alphabetical order. It reads every case's tags (no index answers "which tags exist"), so
callers cache it (the app: a minute).
"""
from __future__ import annotations

from sqlalchemy import text

from core.errors import InvalidInput
from core.store.db import Database

MAX_LIMIT = 1000

_SQLITE = text(
    "SELECT t.value AS tag, count(*) AS n FROM cases, json_each(cases.tags) AS t "
    "WHERE json_type(cases.tags) = 'array' AND t.type = 'text' "
    "GROUP BY t.value ORDER BY n DESC, t.value LIMIT :limit")
_POSTGRESQL = text(
    "SELECT t AS tag, count(*) AS n FROM cases, "
    "jsonb_array_elements_text(CASE WHEN jsonb_typeof(CAST(cases.tags AS jsonb)) = 'array' "
    "THEN CAST(cases.tags AS jsonb) ELSE '[]'::jsonb END) AS t "
    "GROUP BY t ORDER BY n DESC, t LIMIT :limit")


def tag_counts(db: Database, limit: int = 200) -> dict[str, int]:
    """Tag -> how many cases carry it, the `limit` most used (ties: alphabetical)."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    stmt = _POSTGRESQL if db.dialect == "postgresql" else _SQLITE
    with db.read() as s:
        return {str(tag): int(n) for tag, n in s.execute(stmt, {"limit": limit})}


def tags_in_use(db: Database, limit: int = 200) -> list[str]:
    """The `limit` most used tags, alphabetically (case-insensitive)."""
    return sorted(tag_counts(db, limit), key=lambda t: (t.casefold(), t))
