"""The CSV export's cells: the rules of the file (the formula rule, the quoting, the status
labels, the dates, the ages, the tags) and the code that applies them to a batch of rows.

Why a module of its own, and why this way: at 1M cases the export is mostly this code. The
database reads the columns nearly as stored (text as text, '' for NULL; counts as text; on
PostgreSQL the dates as `to_char` text of SQLite's stored form), the rows come from the DB-API
cursor as plain tuples (core/worklist/export.py), and Python works column by column over a
batch: a text column is tested once, in C, for anything to quote or neutralise (most columns
of most batches have nothing: they pass through as they are), and only a column that has is
made cell by cell; the dates are slices of their text; the ages a look-up per day; the tags a
split of their JSON text. Each line is then `",".join` of its cells. The former ways — the
cells in Python with `csv.writer` per row, then each whole line written in SQL — cost 6.8 and
5.8 times `sqlite3 -csv` of the same columns in CPU; docs/PERFORMANCE.md, "Export streamed",
has the measurements. Every shortcut falls back to the exact way for a value it does not
cover (tests/worklist/test_export_cells.py), and tests/worklist/test_export_same_bytes.py
holds the file byte for byte to the frozen oracle on both databases.

The rules, as Python's `csv.writer` (QUOTE_MINIMAL, `"` doubled, CRLF) and the export's cells
have them:

- a text cell: empty for NULL; a leading `'` when it starts with `=`, `+`, `-`, `@`, a tab,
  a CR or a LF (formula injection, `neutralise`); then quoted (`"…"`, every `"` doubled) when
  it contains `"`, `,`, CR or LF — the `'` contains none, so the test looks at the value;
- a date: `YYYY-MM-DD HH:MM:SS`, empty for NULL;
- an age: whole days from the value to the export's `now`, at least 0, as Python's
  `(now - value).days`;
- the status: its label, a text cell for any other value;
- the tags: the JSON array's elements joined with `; `, then a text cell;
- a count: the integer, 0 for NULL.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from operator import getitem, itemgetter

from sqlalchemy import String, Text, cast, func, literal_column, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from core.cases.status import CaseStatus
from core.store.models import Case, Entity

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
TAG_SEPARATOR = "; "


def neutralise(value: str) -> str:
    """A text cell made safe for spreadsheets: formula-looking text gets a leading `'`. The
    rule's one definition; `text_cells` applies it to a column at once, and
    tests/worklist/test_export_same_bytes.py keeps the file in step with the frozen oracle."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def python_cell(value: str) -> str:
    """A constant text cell as the export writes it: neutralised, then quoted as
    `csv.writer` quotes (used for the status labels, computed once here)."""
    out = io.StringIO()
    csv.writer(out).writerow([neutralise(value), ""])  # two cells: a lone empty cell would be quoted
    return out.getvalue()[:-3]  # without the second cell's "," and the CRLF


# What a row is read as, in this order (the CSV's columns, less the two ages, which are
# computed from created_at and status_changed_at); the sort value follows unless it is one.
# Text columns come as text, '' for NULL (the file writes both as nothing); the counts as the
# text of the integer, 0 for NULL. Neither needs a test per value in SQL.
_TEXT = (Case.id, Entity.name, Entity.kind, Entity.country, Case.workflow, Case.assignee,
         Case.decision, Case.decided_by, Case.decision_reason, Entity.email,
         Entity.registration_number, Case.risk_level)
KEY_AT = 20  # the sort value's place in a row, when it is not one of the columns read
SORT_IN_ROW = {"created_at": 7, "updated_at": 8}  # SQLite: sorts whose value is read as stored
ID_AT = 0  # the case id's place (never NULL: its text is the id)

assert all(len(p) == 1 for p in FORMULA_PREFIXES)
_FIRST = frozenset(FORMULA_PREFIXES)
_FIRST_CHAR = itemgetter(slice(0, 1))
_DAY, _SECOND, _CLOCK = itemgetter(slice(0, 10)), itemgetter(slice(0, 19)), itemgetter(slice(11, None))
_LABELS = {s.value: python_cell(s.label) for s in CaseStatus}
_DECODER = json.JSONDecoder()


def read_columns(dialect: str) -> tuple[ColumnElement, ...]:
    """The columns read per row, as `cells` takes them. Tags: their JSON text (SQLite stores
    it; PostgreSQL's json gives back the text it was given)."""
    def text(column):
        return func.coalesce(column, literal_column("''"), type_=String)

    def count(column):
        return cast(func.coalesce(column, literal_column("0")), String)

    if dialect == "sqlite":
        tags, stamp = type_coerce(Case.tags, Text), (lambda column: column)
    else:  # the text SQLite stores: psycopg's datetimes cost more to make and to format
        tags = cast(Case.tags, Text)

        def stamp(column):
            return func.to_char(column, literal_column("'YYYY-MM-DD HH24:MI:SS.US'"),
                                type_=String)
    (case_id, name, kind, country, workflow, assignee, decision, decided_by, reason, email,
     registration, level) = (text(c) for c in _TEXT)
    return (case_id, name, kind, country, workflow, Case.case_status, assignee,
            stamp(Case.created_at), stamp(Case.updated_at), decision, decided_by,
            stamp(Case.decided_at), reason, email, registration, tags.label("tags"),
            stamp(Case.status_changed_at), count(Case.open_hits), level, count(Case.risk_points))


def text_cell(value) -> str:
    """One text value as a finished CSV cell: `neutralise`, then quoted as `csv.writer`
    quotes (QUOTE_MINIMAL: a `"`, a comma, a CR or a LF; `"` doubled)."""
    value = neutralise("" if value is None else str(value))
    if '"' in value:
        return '"' + value.replace('"', '""') + '"'
    if "," in value or "\r" in value or "\n" in value:
        return '"' + value + '"'
    return value


def text_cells(values) -> list | tuple:
    """A column of text values as finished cells. Most columns of most batches need nothing
    done: that is tested once for the whole column, in C (its values joined, searched for
    each character that quotes; the set of their first characters against the formula's); a
    column that does need it is made cell by cell."""
    try:
        joined = "".join(values)
    except TypeError:  # a value that is not text (None, a number)
        return [text_cell(v) for v in values]
    if ('"' in joined or "," in joined or "\r" in joined or "\n" in joined
            or not _FIRST.isdisjoint(map(_FIRST_CHAR, values))):
        first = _FIRST
        return [v if v[:1] not in first and '"' not in v and "," not in v and "\r" not in v
                and "\n" not in v else text_cell(v) for v in values]
    return values


def _status(values) -> list:
    labels = _LABELS
    return [labels.get(v) or text_cell(v) for v in values]


def tag_texts(values) -> list:
    """The tags cells' texts before the formula rule and quoting: the JSON array's elements
    joined by `; `. The array as the app writes it (`json.dumps`: `["a", "b"]`, non-ASCII
    escaped) is split without decoding — when, once split, no `"` is left (each was a
    delimiter) and it had no escape; anything else is decoded (`_tag_text`)."""
    return ["" if v is None or v == "[]"
            else j if (v.__class__ is str and len(v) > 3 and v[:2] == '["' and v[-2:] == '"]'
                       and "\\" not in v
                       and '"' not in (j := v[2:-2].replace('", "', TAG_SEPARATOR)))
            else _tag_text(v) for v in values]


def _tag_text(raw) -> str:
    if raw is None:
        return ""
    if raw.__class__ is not str:  # a driver that decoded the JSON already
        return _joined(raw)
    try:
        value, end = _DECODER.raw_decode(raw)
        if end != len(raw):
            value = json.loads(raw)  # surrounding whitespace, or its error
    except ValueError:
        value = json.loads(raw)
    return _joined(value)


def _joined(tags) -> str:
    if not isinstance(tags, list):
        return "" if tags is None else str(tags)
    return TAG_SEPARATOR.join(str(t) for t in tags)


class Times:
    """Dates and ages from the values as the driver gives them: SQLite's stored text
    (`YYYY-MM-DD HH:MM:SS.ffffff`, what SQLAlchemy writes) or a datetime (PostgreSQL, or a
    text of another form, which `parse` — the column type's own reading — turns into one)."""

    def __init__(self, now: datetime, parse):
        self.now = now
        self.parse = parse
        self.clock = now.strftime("%H:%M:%S.%f")
        self.by_date = _Days(now)

    def _datetime(self, v) -> datetime:
        return v if isinstance(v, datetime) else self.parse(v)

    def texts(self, values) -> list:
        """`YYYY-MM-DD HH:MM:SS`, '' for NULL."""
        if is_stored_form(values):
            return list(map(_SECOND, values))
        text = self._text
        return [v[:19] if v.__class__ is str and len(v) == 26 and v[10] == " " and v[0] != "0"
                else v.isoformat(" ", "seconds") if v.__class__ is datetime and v.year >= 1000
                else text(v) for v in values]

    def _text(self, v) -> str:
        if v is None:
            return ""
        v = self._datetime(v)
        return v.isoformat(" ", "seconds") if v.year >= 1000 else v.strftime("%Y-%m-%d %H:%M:%S")

    def ages(self, values) -> list:
        """Whole days from each value to `now`, at least 0 (as `(now - value).days`), as
        text; '' for NULL. From SQLite's text: the difference of the day numbers, one less
        when the value's time of day is later than now's (compared as text of the same
        form), both answers kept per date (`_Days`)."""
        days, clock, slow = self.by_date, self.clock, self._age
        if is_stored_form(values):  # in C: a day's pair of answers, indexed by "later than now"
            return list(map(getitem, map(days.__getitem__, map(_DAY, values)),
                            map(clock.__lt__, map(_CLOCK, values))))
        return [days[v[:10]][v[11:] > clock] if v.__class__ is str and len(v) == 26
                and v[10] == " " else slow(v) for v in values]

    def _age(self, v) -> str:
        if v is None:
            return ""
        n = (self.now - self._datetime(v)).days
        return "0" if n <= 0 else str(n)


def is_stored_form(values) -> bool:
    """Whether every value is the text of a date as SQLAlchemy stores it in SQLite (and
    PostgreSQL's `to_char` writes it here): `YYYY-MM-DD HH:MM:SS.ffffff` from the year 1000 on
    (before, the file's form differs), tested for the whole column at once."""
    try:
        joined = "".join(values)
    except TypeError:  # NULL, or a datetime
        return False
    n = len(values)
    return (set(map(len, values)) == {26} and "0" not in joined[0::26]  # years from 1000
            and joined[10::26] == " " * n
            and joined[4::26] == "-" * n and joined[19::26] == "." * n)


class _Days(dict):
    """Date text (`YYYY-MM-DD`) -> the age's text in whole days for a time of that date no
    later in the day than now, and for one later (a day less); made on first use."""

    def __init__(self, now: datetime):
        super().__init__()
        self.today = now.toordinal()

    def __missing__(self, day: str) -> tuple[str, str]:
        n = self.today - date.fromisoformat(day).toordinal()
        pair = self[day] = (str(max(0, n)), str(max(0, n - 1)))
        return pair


def lines(rows, times: Times) -> str:
    """The CSV text of a batch of rows read as `read_columns` (CRLF after each line)."""
    if not rows:
        return ""
    (ids, names, kinds, countries, workflows, statuses, assignees, created, updated, decisions,
     deciders, decided, reasons, emails, registrations, tags, changed, hits, levels,
     points) = list(zip(*rows))[:KEY_AT]
    columns = (
        text_cells(ids), text_cells(names), text_cells(kinds), text_cells(countries),
        text_cells(workflows),
        _status(statuses), text_cells(assignees), times.texts(created), times.texts(updated),
        times.ages(created), text_cells(decisions), text_cells(deciders), times.texts(decided),
        text_cells(reasons), text_cells(emails), text_cells(registrations),
        text_cells(tag_texts(tags)),
        times.ages(changed), hits, text_cells(levels), points)
    return "\r\n".join(map(",".join, zip(*columns))) + "\r\n"
