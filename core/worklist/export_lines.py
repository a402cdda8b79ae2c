"""The CSV export's rows written by the database: one SQL expression per dialect (SQLite,
PostgreSQL) that gives each case's finished CSV line, so Python only joins the lines.

Why a module of its own: at 1M cases the export computed its 21 cells a row in Python —
the formula protection, the status label, two dates, two ages in whole days, the tags —
and handed them to `csv.writer`; that was most of a download 4.2 times as long as
`sqlite3 -csv` of the same columns (docs/PERFORMANCE.md, "Export streamed"). Here the same
cells and the quoting `csv.writer` applies are SQL, evaluated in C by the database as it
reads the rows. The definition of the file stays the Python one: core/worklist/export.py's
`neutralise` and the RFC 4180 rules below; tests/worklist/test_export_same_bytes.py compares
every byte with a frozen copy of the Python cells, on both databases, every sort, hostile
values included.

The rules, as Python's `csv.writer` (QUOTE_MINIMAL, `"` doubled, CRLF) and the export's cells
have them:

- a text cell: empty for NULL; a leading `'` when it starts with `=`, `+`, `-`, `@`, a tab,
  a CR or a LF (formula injection); then quoted (`"…"`, every `"` doubled) when it contains
  `"`, `,`, CR or LF — the `'` contains none, so the test looks at the stored value;
- a date: `YYYY-MM-DD HH:MM:SS` (SQLite stores `YYYY-MM-DD HH:MM:SS.ffffff`, its first 19
  characters; PostgreSQL `to_char`), empty for NULL;
- an age: whole days from the value to `now`, at least 0, exactly as Python's
  `(now - value).days` (SQLite: the difference of the dates' day numbers, one less when the
  value's time of day is later than now's, compared as text — no floating point);
- the status: its label (a constant per status), the stored value as a text cell for any
  other;
- the tags: the JSON array's elements joined with `; `, then a text cell;
- a count: the integer, 0 for NULL.
"""
from __future__ import annotations

import csv
import io
from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import ColumnElement

from core.cases.status import CaseStatus
from core.store.models import Case, Entity

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
TAG_SEPARATOR = "; "
# The columns, in the file's order, as (kind, column); docs/EXPORT.md lists them.
CELLS = (("text", Case.id), ("text", Entity.name), ("text", Entity.kind),
         ("text", Entity.country), ("text", Case.workflow), ("status", Case.case_status),
         ("text", Case.assignee), ("date", Case.created_at), ("date", Case.updated_at),
         ("age", Case.created_at), ("text", Case.decision), ("text", Case.decided_by),
         ("date", Case.decided_at), ("text", Case.decision_reason), ("text", Entity.email),
         ("text", Entity.registration_number), ("tags", Case.tags),
         ("age", Case.status_changed_at), ("count", Case.open_hits), ("text", Case.risk_level),
         ("count", Case.risk_points))


def neutralise(value: str) -> str:
    """A text cell made safe for spreadsheets: formula-looking text gets a leading `'`. The
    rule's one Python form; the lines below apply it in SQL, and
    tests/worklist/test_export_same_bytes.py keeps the two in step."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def python_cell(value: str) -> str:
    """A constant text cell as the export writes it: neutralised, then quoted as
    `csv.writer` quotes (used for the status labels, computed once here)."""
    out = io.StringIO()
    csv.writer(out).writerow([neutralise(value), ""])  # two cells: a lone empty cell would be quoted
    return out.getvalue()[:-3]  # without the second cell's "," and the CRLF


class _Sql:
    """The few spellings that differ between the dialects."""

    def __init__(self, dialect: str):
        self.sqlite = dialect == "sqlite"
        char = "char" if self.sqlite else "chr"
        self.tab, self.cr, self.lf = (literal_column(f"{char}({n})") for n in (9, 13, 10))

    def first_code(self, value) -> ColumnElement[int]:
        """The first character's code point (NULL, or 0 on PostgreSQL, for an empty text)."""
        return func.unicode(value) if self.sqlite else func.ascii(value)

    def has(self, value, char) -> ColumnElement[bool]:
        return (func.instr(value, char) if self.sqlite else func.strpos(value, char)) > _n(0)


def _q(text: str):
    """A string constant written into the SQL (no bound parameter per use)."""
    return literal_column("'" + text.replace("'", "''") + "'", String)


def _n(number: int):
    """An integer constant written into the SQL."""
    return literal_column(str(number), Integer)


def _cat(*parts) -> ColumnElement[str]:
    """`a || b || …`: SQL's string concatenation, whatever SQLAlchemy makes of the types."""
    joined = parts[0]
    for part in parts[1:]:
        joined = joined.op("||", return_type=String)(part)
    return joined


def text_cell(sql: _Sql, value) -> ColumnElement[str]:
    """A text value as a finished CSV cell (see the module's rules). The common case — no
    character to quote, no formula — costs three searches and one code-point test."""
    formula = sql.first_code(value).in_([_n(ord(p)) for p in FORMULA_PREFIXES])
    prefix = case((formula, _q("'")), else_=_q(""))
    quoted = case(
        (sql.has(value, _q('"')),
         _cat(_q('"'), prefix, func.replace(value, _q('"'), _q('""')), _q('"'))),
        (or_(sql.has(value, _q(",")), sql.has(value, sql.cr), sql.has(value, sql.lf)),
         _cat(_q('"'), prefix, value, _q('"'))),
        (formula, _cat(_q("'"), value)),
        else_=value)
    return func.coalesce(quoted, _q(""), type_=String)


def date_cell(sql: _Sql, value) -> ColumnElement[str]:
    if sql.sqlite:
        return func.coalesce(func.substr(value, _n(1), _n(19)), _q(""), type_=String)
    return func.coalesce(func.to_char(value, _q("YYYY-MM-DD HH24:MI:SS")), _q(""),
                         type_=String)


def age_cell(sql: _Sql, value, now: datetime) -> ColumnElement[str]:
    if sql.sqlite:
        later_in_the_day = func.substr(value, _n(12)) > literal(now.strftime("%H:%M:%S.%f"), String)
        days = (cast(func.julianday(literal(now.strftime("%Y-%m-%d"), String))
                     - func.julianday(func.substr(value, _n(1), _n(10))), Integer)
                - case((later_in_the_day, _n(1)), else_=_n(0)))
        whole = func.max(_n(0), days, type_=Integer)
    else:
        whole = cast(func.greatest(_n(0), extract("day", literal(now) - value)),
                     Integer)
    return case((value.is_(None), _q("")), else_=cast(whole, String))


def status_cell(sql: _Sql, value) -> ColumnElement[str]:
    return case({s.value: _q(python_cell(s.label)) for s in CaseStatus}, value=value,
                else_=text_cell(sql, value))


def tags_cell(sql: _Sql, value) -> ColumnElement[str]:
    """The elements of the JSON array, joined, as one text cell: a correlated subquery whose
    aggregate is computed once however often the cell's expression names it."""
    if sql.sqlite:
        elements = func.json_each(value).table_valued("value")
        joined = func.group_concat(elements.c.value, _q(TAG_SEPARATOR), type_=String)
        cell = select(text_cell(sql, joined)).select_from(elements).scalar_subquery()
        raw = type_coerce(value, String)
        return case((or_(raw.is_(None), raw == _q("[]")), _q("")),
                    else_=func.coalesce(cell, _q(""), type_=String))
    elements = (func.json_array_elements_text(value)
                .table_valued("value", with_ordinality="n").render_derived())
    joined = func.string_agg(elements.c.value, aggregate_order_by(_q(TAG_SEPARATOR),
                                                                  elements.c.n), type_=String)
    cell = select(text_cell(sql, joined)).select_from(elements).scalar_subquery()
    return case((func.json_typeof(value) == _q("array"),
                 func.coalesce(cell, _q(""), type_=String)),
                else_=text_cell(sql, value.op("#>>", return_type=String)(_q("{}"))))


def count_cell(sql: _Sql, value) -> ColumnElement[str]:
    return cast(func.coalesce(value, _n(0)), String)


KINDS = {"text": text_cell, "date": date_cell, "status": status_cell, "tags": tags_cell,
         "count": count_cell}


def csv_line(dialect: str, now: datetime) -> ColumnElement[str]:
    """One case's CSV line (without its CRLF), as the export writes it, for `dialect`."""
    sql = _Sql(dialect)
    cells = [age_cell(sql, column, now) if kind == "age" else KINDS[kind](sql, column)
             for kind, column in CELLS]
    parts = [cells[0]]
    for cell in cells[1:]:
        parts += [_q(","), cell]
    return _cat(*parts)
