"""Reading a sanctions list file for the built-in screener, checked whole before anything is
written: OpenSanctions' `targets.simple.csv` and OFAC's `sdn.csv`.

`parse_list_file(data, fmt)` returns every entry of the file, or refuses the file with one
`InvalidInput` naming each problem by its line ("line 17: ..."; the first 50, then "... and N
more"). What is refused, exactly (docs/SCREENING.md, "The built-in screener: list files"):
a file over 512 MB or over 2,000,000 entries, bytes that are not UTF-8 (a UTF-8 BOM and
OFAC's closing SUB character are fine), a line over 64 KiB, a header that is not
OpenSanctions' (the missing and the unknown columns named), a row with the wrong number of
cells, an empty id or name, an id seen twice, control characters, a formula cell, a text
over its limit, a birth date that is not YYYY, YYYY-MM or YYYY-MM-DD (OpenSanctions), and a
file without any entry. Control characters are looked for in the cells Docket keeps only
(the columns it ignores, such as addresses and phones, are never stored or shown); formulas in
every cell of an OFAC row and in OpenSanctions' kept cells (its phone numbers start with +).
OFAC's remarks are free text: what they say beyond a birth date, a nationality and an alias
is ignored, and a date they give in another form is left out rather than refused.
"""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass

from core.errors import InvalidInput
from core.screening import ofac_remarks
from core.screening.inputs import (
    MAX_ALIASES,
    MAX_COUNTRIES,
    MAX_COUNTRY,
    MAX_DATES,
    MAX_ENTRY_ID,
    MAX_NAME,
    MAX_PROGRAMME,
)

OPENSANCTIONS = "opensanctions"
OFAC_SDN = "ofac_sdn"
FORMATS = (OPENSANCTIONS, OFAC_SDN)
FORMAT_LABELS = {OPENSANCTIONS: "OpenSanctions targets.simple.csv", OFAC_SDN: "OFAC SDN sdn.csv"}
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_ENTRIES = 2_000_000
MAX_LINE_BYTES = 64 * 1024
MAX_PROBLEMS = 50
REFUSED = "the list file was refused"

# OpenSanctions' simplified CSV (zavod/exporters/simplecsv.py): `program_ids` came later, so
# files with and without it are read; any other column is unknown.
OS_COLUMNS = ("id", "schema", "name", "aliases", "birth_date", "countries", "addresses",
              "identifiers", "sanctions", "phones", "emails", "program_ids", "dataset",
              "first_seen", "last_seen", "last_change")
OS_OPTIONAL = frozenset({"program_ids"})
OS_ORGANIZATION = frozenset({"Organization", "Company", "LegalEntity", "PublicBody"})
# OFAC's sdn.csv: no header, these 12 columns, "-0-" for an empty value
SDN_COLUMNS = ("ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign",
               "Vess_type", "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks")
SDN_EMPTY = "-0-"
SDN_SCHEMA = {"individual": "person", "": "organization", "vessel": "other",
              "aircraft": "other"}

BIRTH_DATE = re.compile(r"^[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?$")
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LONG_LINE = re.compile(rb"(?m)^[^\n]{%d}" % (MAX_LINE_BYTES + 1))  # tried at line starts only
FORMULA_FIRST = frozenset("=+@-\t\r ")


@dataclass(frozen=True)
class ParsedEntry:
    """One entry of a list file, as stored in `screening_entries`."""
    entry_id: str
    schema: str                       # person | organization | other
    name: str
    aliases: tuple[str, ...] = ()
    birth_dates: tuple[str, ...] = ()  # YYYY, YYYY-MM or YYYY-MM-DD
    countries: tuple[str, ...] = ()    # ISO 3166-1 alpha-2 upper case, or as the file wrote it
    programme: str | None = None
    url: str | None = None
    line: int = 0                     # where the entry starts in the file

    def fields(self) -> dict:
        return {"entry_id": self.entry_id, "schema": self.schema, "name": self.name,
                "aliases": list(self.aliases), "birth_dates": list(self.birth_dates),
                "countries": list(self.countries), "programme": self.programme,
                "url": self.url}

    @property
    def entry_hash(self) -> str:
        """SHA-256 of the canonical JSON of the fields (lists as sets: a reordered alias
        list is not a change)."""
        seen = {**self.fields(), "aliases": sorted(self.aliases),
                "birth_dates": sorted(self.birth_dates), "countries": sorted(self.countries)}
        text = json.dumps(seen, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


class _Problems:
    """Problems found so far, each naming its line; the first MAX_PROBLEMS are kept."""

    def __init__(self) -> None:
        self.listed: list[tuple[int, str]] = []
        self.count = 0

    def add(self, line: int, text: str) -> None:
        self.count += 1
        if len(self.listed) < MAX_PROBLEMS:
            self.listed.append((line, text))

    def refuse_if_any(self) -> None:
        if self.count:
            more = self.count - len(self.listed)
            listed = [f"line {line}: {text}" for line, text in
                      sorted(self.listed, key=lambda p: p[0])]
            raise InvalidInput(REFUSED, listed + ([f"... and {more:,} more"] if more else []))


def normalise_format(fmt: str) -> str:
    """"opensanctions", "ofac_sdn" (or "ofac-sdn", as the CLI writes it)."""
    value = (fmt or "").strip().lower().replace("-", "_")
    if value not in FORMATS:
        raise InvalidInput(REFUSED, [f"format: {str(fmt)[:40]!r} is not a list format "
                                     f"({', '.join(FORMATS)})"])
    return value


# --- bytes and lines -------------------------------------------------------------------------

def _line_of(data: bytes, pos: int, cache: list[int]) -> int:
    """1-based line of byte `pos`, counting on from the last position asked (ascending)."""
    last_pos, last_line = cache
    if pos < last_pos:
        last_pos, last_line = 0, 1
    line = last_line + data.count(b"\n", last_pos, pos)
    cache[:] = [pos, line]
    return line


def _decode(data: bytes, problems: _Problems) -> str:
    """The file as text: size, UTF-8 (each bad byte's line), lines over the limit."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(REFUSED, [f"the file has {len(data) / 2**20:,.0f} MB; at most "
                                     f"{MAX_FILE_BYTES // 2**20} MB"])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    end = data.rstrip(b"\r\n")
    if end.endswith(b"\x1a"):  # OFAC's files end with a SUB (end of file) character
        data = end[:-1]
    cache = [0, 1]
    for m in LONG_LINE.finditer(data):
        end = data.find(b"\n", m.start())
        length = (len(data) if end < 0 else end) - m.start()
        problems.add(_line_of(data, m.start(), cache),
                     f"the line has {length / 1024:,.0f} KiB; at most "
                     f"{MAX_LINE_BYTES // 1024} KiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    pos, cache, view = 0, [0, 1], memoryview(data)
    while pos < len(data):
        try:
            codecs.utf_8_decode(view[pos:], "strict", True)
            break
        except UnicodeDecodeError as e:
            bad = pos + e.start
            problems.add(_line_of(data, bad, cache),
                         f"not UTF-8 text (byte 0x{data[bad]:02X}); save the file as UTF-8")
            if problems.count > MAX_PROBLEMS:
                break
            pos = data.find(b"\n", bad)  # one problem per line is enough
            if pos < 0:
                break
    return data.decode("utf-8", errors="replace")


def _rows(text: str, problems: _Problems):
    """(line where the row starts, its cells) for each non-blank row; a CSV syntax error
    stops the reading (the rest of the file cannot be trusted)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            problems.add(reader.line_num, f"not a well-formed CSV row ({e})")
            return
        line, start = start, reader.line_num + 1
        if cells and any(c.strip() for c in cells):
            yield line, cells


# --- cells -------------------------------------------------------------------------------------

def _formula(value: str) -> bool:
    """A spreadsheet would run it: it starts with =, +, @, a tab or CR, or - followed by
    something other than a digit, a space or "0-" (OFAC's "-0-" is an empty value)."""
    if value[:1] not in FORMULA_FIRST:
        return False
    if value[:1] in ("\t", "\r"):
        return True
    value = value.lstrip(" ")
    if value[:1] in ("=", "+", "@"):
        return True
    return (value[:1] == "-" and len(value) > 1 and not value[1].isdigit()
            and value[1] != " " and not value.startswith("-0-"))


def _text(value: str, column: str, limit: int, line: int, problems: _Problems,
          required: bool = False) -> str | None:
    """A kept cell (or one value of it): checked, stripped; None when empty."""
    if _formula(value):
        problems.add(line, f"{column}: {value[:40]!r} starts like a spreadsheet formula "
                           "(=, +, -, @, tab); refused so no spreadsheet runs it")
        return None
    value = value.strip()
    if not value:
        if required:
            problems.add(line, f"{column}: empty; every entry needs one")
        return None
    if CONTROL.search(value):
        problems.add(line, f"{column}: contains control characters or line breaks")
        return None
    if len(value) > limit:
        problems.add(line, f"{column}: at most {limit} characters; this one has {len(value):,}")
        return None
    return value


def _multi(cell: str) -> list[str]:
    """OpenSanctions' multi-value cell: values joined by ';' with CSV quoting."""
    if '"' not in cell:  # no quoting: the csv module would split it just so
        return cell.split(";") if cell.strip() else []
    return next(csv.reader([cell], delimiter=";"), [])


def _unique(values, most: int) -> tuple[str, ...]:
    """In order, without repeats, at most `most` (more are dropped: the same limits as a hit)."""
    return tuple(dict.fromkeys(v for v in values if v))[:most]


def _programme(values: list[str]) -> str | None:
    text = "; ".join(dict.fromkeys(v for v in values if v))
    if len(text) > MAX_PROGRAMME:
        text = text[:MAX_PROGRAMME - 1] + "…"
    return text or None


# --- OpenSanctions targets.simple.csv -----------------------------------------------------------

def _opensanctions_header(cells: list[str], line: int, problems: _Problems) -> dict[str, int]:
    names = [c.strip() for c in cells]
    missing = [c for c in OS_COLUMNS if c not in names and c not in OS_OPTIONAL]
    unknown = [c for c in names if c not in OS_COLUMNS]
    twice = sorted({c for c in names if names.count(c) > 1})
    if len(cells) == len(SDN_COLUMNS) and names[0].isdigit():
        problems.add(line, "this looks like OFAC's sdn.csv (no header, 12 cells, a number "
                           "first): load it with the OFAC SDN format")
        problems.refuse_if_any()
    if missing or unknown or twice:
        problems.add(line, "not the header of OpenSanctions' targets.simple.csv ("
                     + "; ".join(part for part in (
                         f"missing: {', '.join(missing)}" if missing else "",
                         f"unknown: {', '.join(repr(c[:40]) for c in unknown[:10])}"
                         if unknown else "",
                         f"twice: {', '.join(twice)}" if twice else "") if part)
                     + f"). Expected: {','.join(OS_COLUMNS)}")
        problems.refuse_if_any()
    return {c: names.index(c) for c in names}


def _opensanctions_entry(cells: list[str], at: dict[str, int], line: int,
                         problems: _Problems) -> ParsedEntry | None:
    if len(cells) != len(at):
        problems.add(line, f"{len(at)} cells expected (one per column of the header), "
                           f"found {len(cells)}")
        return None
    before = problems.count

    def cell(column: str) -> str:
        return cells[at[column]] if column in at else ""

    def values(column: str, limit: int) -> list[str]:
        found = []
        for v in _multi(cell(column)):
            v = _text(v, column, limit, line, problems)
            if v:
                found.append(v)
        return found

    entry_id = _text(cell("id"), "id", MAX_ENTRY_ID, line, problems, required=True)
    name = _text(cell("name"), "name", MAX_NAME, line, problems, required=True)
    schema = _text(cell("schema"), "schema", 60, line, problems) or ""
    aliases = [a for a in values("aliases", MAX_NAME) if a != name]
    dates = []
    for d in values("birth_date", 10):
        if BIRTH_DATE.match(d):
            dates.append(d)
        else:
            problems.add(line, f"birth_date: {d[:40]!r} is not a date as YYYY, YYYY-MM or "
                               "YYYY-MM-DD")
    countries = [ofac_remarks.country_of(c) for c in values("countries", MAX_COUNTRY)]
    programme = _programme(values("program_ids", MAX_PROGRAMME) or
                           values("sanctions", 10_000))
    values("dataset", 10_000)  # checked (it is kept nowhere, but it is the list's own name)
    if problems.count > before:
        return None
    kind = ("person" if schema == "Person" else
            "organization" if schema in OS_ORGANIZATION else "other")
    return ParsedEntry(entry_id, kind, name, _unique(aliases, MAX_ALIASES),
                       _unique(dates, MAX_DATES), _unique(countries, MAX_COUNTRIES),
                       programme, None, line)


def _opensanctions(rows, problems: _Problems):
    at = None
    for line, cells in rows:
        if at is None:
            at = _opensanctions_header(cells, line, problems)
            continue
        yield _opensanctions_entry(cells, at, line, problems)
    if at is None:
        problems.add(1, "the file is empty (an OpenSanctions file starts with its header)")


# --- OFAC sdn.csv -------------------------------------------------------------------------------

def _sdn_value(value: str) -> str:
    value = value.strip()
    return "" if value == SDN_EMPTY else value


def _sdn_entry(cells: list[str], line: int, problems: _Problems) -> ParsedEntry | None:
    if len(cells) != len(SDN_COLUMNS):
        problems.add(line, f"{len(SDN_COLUMNS)} cells expected (an OFAC sdn.csv row: "
                           f"{', '.join(SDN_COLUMNS)}), found {len(cells)}")
        return None
    before = problems.count
    col = dict(zip(SDN_COLUMNS, cells))
    for column in ("Title", "Call_Sign", "Vess_type", "Tonnage", "GRT", "Vess_flag",
                   "Vess_owner"):  # not kept, but refused as formulas all the same
        if _formula(col[column]):
            _text(col[column], column, 10_000, line, problems)
    entry_id = _text(col["ent_num"], "ent_num", MAX_ENTRY_ID, line, problems, required=True)
    if entry_id is not None and not entry_id.isdigit():
        problems.add(line, f"ent_num: {entry_id[:40]!r} is not a whole number")
    raw_name = _sdn_value(col["SDN_Name"])
    name = _text(raw_name, "SDN_Name", MAX_NAME, line, problems, required=True)
    sdn_type = (_text(col["SDN_Type"], "SDN_Type", 40, line, problems) or "").lower()
    programmes = [p.strip() for p in re.split(r"\]\s*\[", _sdn_value(col["Program"]).strip("[] "))]
    programme = _programme([_text(p, "Program", MAX_PROGRAMME, line, problems) or ""
                            for p in programmes])
    remarks = _text(_sdn_value(col["Remarks"]), "Remarks", 20_000, line, problems) or ""
    if problems.count > before:
        return None
    schema = SDN_SCHEMA.get("" if sdn_type == SDN_EMPTY else sdn_type, "other")
    said = ofac_remarks.read(remarks)
    aliases = list(said.aliases)
    if schema == "person" and name.count(",") >= 1:  # "LAST, First Middle"
        last, _, first = name.partition(",")
        if first.strip() and last.strip():
            aliases.insert(0, f"{first.strip()} {last.strip()}")
    aliases = [a for a in aliases if a != name and len(a) <= MAX_NAME]
    return ParsedEntry(entry_id, schema, name, _unique(aliases, MAX_ALIASES),
                       _unique(said.birth_dates, MAX_DATES),
                       _unique((c for c in said.countries if len(c) <= MAX_COUNTRY),
                               MAX_COUNTRIES), programme, None, line)


def _ofac_sdn(rows, problems: _Problems):
    for line, cells in rows:
        if line == 1 and cells and cells[0].strip().lower() == "ent_num":
            continue  # a header row someone added: OFAC's own file has none
        yield _sdn_entry(cells, line, problems)


# --- the file --------------------------------------------------------------------------------

def parse_list_file(data: bytes, fmt: str) -> list[ParsedEntry]:
    """Every entry of the file, checked whole; InvalidInput("the list file was refused",
    problems) names each problem by its line, and nothing is kept of a refused file."""
    fmt = normalise_format(fmt)
    problems = _Problems()
    text = _decode(data, problems)
    reader = (_opensanctions if fmt == OPENSANCTIONS else _ofac_sdn)(_rows(text, problems),
                                                                     problems)
    entries: list[ParsedEntry] = []
    first_line: dict[str, int] = {}
    for entry in reader:
        if entry is None:
            continue
        seen = first_line.setdefault(entry.entry_id, entry.line)
        if seen != entry.line:
            problems.add(entry.line, f"id {entry.entry_id[:60]!r} appears twice (also line "
                                     f"{seen})")
            continue
        entries.append(entry)
        if len(entries) > MAX_ENTRIES:
            problems.add(entry.line, f"more than {MAX_ENTRIES:,} entries; split the list")
            break
    if not entries and not problems.count:
        problems.add(1, "the file has no entries")
    problems.refuse_if_any()
    return entries
