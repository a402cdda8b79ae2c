"""Birth date and country beside a name: the points the built-in screener's matcher adds to
(or takes from) a name score, and which of them matched (docs/SCREENING.md, "Birth date and
country"). Split from core/screening/matching.py, which asks `evidence` about every candidate.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from rigour.territories import lookup_territory, territories_intersect

# Evidence beside the name (docs/SCREENING.md, "How names are matched"); the name score
# itself is core/screening/names.py's `NameComparison`.
BIRTH_DATE_SAME_DAY = 10   # points added for the same full birth date
BIRTH_DATE_SAME_MONTH = 7  # ... the same year and month, where one side knows no day
BIRTH_DATE_SAME_YEAR = 5   # ... the same year, where one side knows only the year
BIRTH_DATE_SAME_YEAR_OTHER_DAY = -5   # the same year, another month or day
BIRTH_DATE_OTHER_YEAR = -30           # another year: not the same person
COUNTRY_SAME = 4           # points added when a country agrees (no penalty otherwise)
EVIDENCE_NAME_FLOOR = 70   # birth date and country raise only names scoring at least this
MOST_RAISED = BIRTH_DATE_SAME_DAY + COUNTRY_SAME

_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def _parse_date(text: str) -> tuple[int, int | None, int | None] | None:
    found = _DATE.match(text.strip()) if text else None
    if not found:
        return None
    year, month, day = found.groups()
    return int(year), int(month) if month else None, int(day) if day else None


def _date_points(listed: tuple, wanted: tuple) -> int | None:
    """Points for one birth date of the list against the subject's, compared as far as both
    are known: None for another year; the same year, month or day as far as both know it:
    BIRTH_DATE_SAME_YEAR, _MONTH or _DAY; a known month or day that differs:
    BIRTH_DATE_SAME_YEAR_OTHER_DAY."""
    if listed[0] != wanted[0]:
        return None
    known = 1
    for mine, theirs in zip(listed[1:], wanted[1:]):
        if mine is None or theirs is None:
            break
        if mine != theirs:
            return BIRTH_DATE_SAME_YEAR_OTHER_DAY
        known += 1
    return (BIRTH_DATE_SAME_YEAR, BIRTH_DATE_SAME_MONTH, BIRTH_DATE_SAME_DAY)[known - 1]


def _territories(values: Iterable[str]) -> set[str]:
    codes = set()
    for value in values:
        territory = lookup_territory(value.strip()) if value and value.strip() else None
        if territory is not None:
            codes.add(territory.code)
    return codes


def evidence(entry: Any, query: Any, name_score: int) -> tuple[int, tuple[str, ...]]:
    """Points added to (or taken from) a name score by birth date and country, and which of
    them matched (`entry`: the matcher's ListEntry, `query`: its Query; not imported, the
    matcher imports this module)."""
    points, fields = 0, []
    wanted = _parse_date(query.birth_date)
    listed = [d for d in (_parse_date(text) for text in entry.birth_dates) if d]
    if wanted and listed:
        agreements = [_date_points(date, wanted) for date in listed]
        best = max((p for p in agreements if p is not None), default=None)
        if best is None:
            points += BIRTH_DATE_OTHER_YEAR
        elif best > 0:
            fields.append("birth_date")
            points += best if name_score >= EVIDENCE_NAME_FLOOR else 0
        else:
            points += best
    if query.country and entry.countries:
        if territories_intersect(_territories([query.country]), _territories(entry.countries)):
            fields.append("country")
            points += COUNTRY_SAME if name_score >= EVIDENCE_NAME_FLOOR else 0
    return points, tuple(fields)
