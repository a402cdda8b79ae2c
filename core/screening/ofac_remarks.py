"""What an OFAC SDN row's Remarks say about the entry: birth dates, nationalities and other
names, read from OFAC's free text ("DOB 12 Jan 1960; nationality Iran; a.k.a. 'ABU X'.").

Remarks are clauses separated by ';'. Read: `DOB ...` (also `alt. DOB`): "12 Jan 1960",
"Jan 1960", "1960", "circa 1960", and ranges "1959 to 1961" (each year of a range up to ten
years, else its two ends); `nationality X`, `citizen X`, `Nationality of Registration X`
(also with `alt.`), looked up to an ISO code with `rigour.territories`; `a.k.a. 'NAME'`,
`f.k.a. 'NAME'`, `n.k.a. 'NAME'`. Anything else, or a date in another form, is left out:
remarks are free text and an odd clause is no reason to refuse a list.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rigour.territories import lookup_territory

MONTHS = {m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug",
                                      "sep", "oct", "nov", "dec"), start=1)}
DATE = re.compile(r"^(?:(\d{1,2})\s+)?(?:([A-Za-z]{3,9})\.?\s+)?(\d{4})$")
DOB = re.compile(r"^(?:alt\.\s+)?DOB\s+(.+)$", re.I)
COUNTRY = re.compile(r"^(?:alt\.\s+)?(?:nationality\s+of\s+registration|nationality|citizen)"
                     r"\s+(.+)$", re.I)
ALIAS = re.compile(r"^(?:a\.k\.a\.|f\.k\.a\.|n\.k\.a\.)\s*['\"‘’“”](.+)['\"‘’“”]", re.I)
MAX_RANGE_YEARS = 10


@dataclass(frozen=True)
class Remarks:
    birth_dates: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@lru_cache(maxsize=4096)
def country_of(value: str) -> str:
    """A country as Docket stores it: "ru" or "Russia" -> "RU"; another code rigour knows
    ("ua-cri", Crimea) upper case; a name it does not know, as written."""
    territory = lookup_territory(value)
    code = territory.code if territory is not None else ""
    if len(code) == 2:
        return code.upper()
    return value.upper() if code and value.lower() == code else value


def _date(text: str) -> str | None:
    """"12 Jan 1960" -> "1960-01-12", "Jan 1960" -> "1960-01", "1960" -> "1960"."""
    m = DATE.match(text.strip())
    if not m:
        return None
    day, month, year = m.groups()
    if month is None:
        return year if day is None else None
    number = MONTHS.get(month[:3].lower())
    if number is None:
        return None
    if day is None:
        return f"{year}-{number:02d}"
    if not 1 <= int(day) <= 31:
        return None
    return f"{year}-{number:02d}-{int(day):02d}"


def birth_dates(text: str) -> list[str]:
    """The dates of a DOB clause's value."""
    text = re.sub(r"^(?:circa|approximately|about)\s+", "", text.strip(), flags=re.I)
    if re.search(r"\s+to\s+", text):
        start, _, end = re.split(r"\s+(to)\s+", text, maxsplit=1)
        first, last = _date(start), _date(end)
        if first is None or last is None:
            return []
        years = range(int(first[:4]), int(last[:4]) + 1)
        if first == last:
            return [first]
        if 0 < len(years) <= MAX_RANGE_YEARS + 1:
            return [str(y) for y in years]
        return [first, last]
    found = _date(text)
    return [found] if found else []


def read(remarks: str) -> Remarks:
    dates: list[str] = []
    countries: list[str] = []
    aliases: list[str] = []
    for clause in remarks.split(";"):
        clause = clause.strip().removesuffix(".").strip()
        if not clause:
            continue
        if m := DOB.match(clause):
            dates.extend(birth_dates(m.group(1)))
        elif m := COUNTRY.match(clause):
            countries.append(country_of(m.group(1).strip()))
        elif m := ALIAS.match(clause):
            aliases.append(m.group(1).strip())
    return Remarks(tuple(dict.fromkeys(dates)), tuple(dict.fromkeys(countries)),
                   tuple(dict.fromkeys(a for a in aliases if a)))
