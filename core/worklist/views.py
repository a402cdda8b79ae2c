"""Sidebar views: saved segments of cases, stored as data and compiled to SQL.

A view is a set of workflows plus predicates on entity properties (`country equals HK`,
`tags contains vip`, `risk_score range 50..100`, `user_data.industry in [...]`, `open_hits
range 1..` for the cases with open screening hits, `risk_level in [high]`). Predicates are
validated when a view is saved and compiled to SQLAlchemy clauses when it is queried; cases
are never filtered in Python.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.status import CaseStatus
from core.errors import InvalidInput, NotFound
from core.store import audit
from core.store.counter_models import CaseTag
from core.store.db import Database
from core.store.models import Case, Entity, View, Workflow
from core.workflows.risk_model import LEVELS as RISK_LEVELS

OPERATORS = ("equals", "in", "contains", "range")
FIELDS = {  # field name -> (column, kind)
    # the entity's country, kind and name as copied onto the case (migration 0011): no join
    "country": (Case.entity_country, "text"),
    "entity_type": (Case.entity_kind, "text"),
    "name": (Case.entity_name, "text"),
    "email": (Entity.email, "text"),
    "registration_number": (Entity.registration_number, "text"),
    "risk_score": (Case.risk_score, "number"),
    "tags": (Case.tags, "list"),
    # screening hits needing work (core/screening/ keeps the counter on the case):
    # `open_hits range [1, null]` segments the cases with open hits
    "open_hits": (Case.open_hits, "number"),
    # the explained risk score (core/cases/risk.py): `risk_level in [high, medium]`
    "risk_level": (Case.risk_level, "text"),
    "risk_points": (Case.risk_points, "number"),
}
USER_FIELD = re.compile(r"^user_data\.([A-Za-z0-9_]{1,100})$")
ENTITY_FIELDS = {"email", "registration_number"}  # read from `entities` (a join)

DEFAULT_VIEWS = (
    {"name": "All cases", "workflows": [], "predicates": []},
    {"name": "Onboarding", "workflows": ["onboarding"], "predicates": []},
    {"name": "Ongoing monitoring", "workflows": ["ongoing_monitoring"], "predicates": []},
    {"name": "Hong Kong companies", "workflows": [],
     "predicates": [{"field": "country", "op": "equals", "value": "HK"},
                    {"field": "entity_type", "op": "equals", "value": "business"}]},
    {"name": "China companies", "workflows": [],
     "predicates": [{"field": "country", "op": "equals", "value": "CN"},
                    {"field": "entity_type", "op": "equals", "value": "business"}]},
)


@dataclass(frozen=True)
class ViewInfo:
    id: int
    name: str
    position: int
    workflows: tuple[str, ...]
    predicates: tuple[dict[str, Any], ...]
    statuses: tuple[str, ...] = field(default=())

    @property
    def needs_entity_join(self) -> bool:
        return any(p["field"] in ENTITY_FIELDS for p in self.predicates)


def _info(v: View) -> ViewInfo:
    return ViewInfo(v.id, v.name, v.position, tuple(v.workflows or ()),
                    tuple(v.predicates or ()), tuple(v.statuses or ()))


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_predicates(predicates: Any) -> list[str]:
    """Every problem with a list of predicates, as sentences; empty when they are valid."""
    if not isinstance(predicates, list):
        return ["predicates must be a list"]
    problems = []
    for i, p in enumerate(predicates):
        where = f"predicate {i + 1}"
        if not isinstance(p, dict) or set(p) - {"field", "op", "value"}:
            problems.append(f"{where}: must be an object with field, op, value")
            continue
        name, op, value = p.get("field"), p.get("op"), p.get("value")
        if not isinstance(name, str) or not (name in FIELDS or USER_FIELD.match(name)):
            problems.append(f"{where}: unknown field {name!r} (fields: {', '.join(FIELDS)}, "
                            "user_data.<name>)")
            continue
        kind = FIELDS[name][1] if name in FIELDS else "text"
        if op not in OPERATORS:
            problems.append(f"{where}: unknown operator {op!r} (operators: {', '.join(OPERATORS)})")
        elif op == "range":
            numeric_field = kind == "number" or name.startswith("user_data.")
            ok = (isinstance(value, list) and len(value) == 2 and value != [None, None]
                  and all(v is None or _is_number(v) for v in value))
            if not numeric_field:
                problems.append(f"{where}: range works on number fields (risk_score, open_hits, risk_points) and user_data fields only")
            elif not ok:
                problems.append(f"{where}: range needs [min, max] numbers (one may be null)")
            elif None not in value and value[0] > value[1]:
                problems.append(f"{where}: range minimum {value[0]} is above maximum {value[1]}")
        elif op == "in":
            if kind == "list":  # a tag list has no "one of" (a view of several: one each)
                problems.append(f"{where}: use 'contains' on {name}")
            elif not (isinstance(value, list) and value and all(isinstance(v, (str, int, float)) for v in value)):
                problems.append(f"{where}: 'in' needs a non-empty list of values")
        elif op == "contains":
            if not isinstance(value, str) or not value:
                problems.append(f"{where}: 'contains' needs a non-empty text")
        elif op == "equals":
            if not isinstance(value, (str, int, float)) or isinstance(value, bool) or value == "":
                problems.append(f"{where}: 'equals' needs a text or a number")
            elif kind == "list":
                problems.append(f"{where}: use 'contains' on {name}")
        if kind == "number" and op in ("equals", "in"):
            values = value if isinstance(value, list) else [value]
            if not all(_is_number(v) for v in values):
                problems.append(f"{where}: {name} compares with numbers")
        if name == "risk_level":
            values = value if isinstance(value, list) else [value]
            if op not in ("equals", "in"):
                problems.append(f"{where}: risk_level takes equals or in")
            elif any(v not in RISK_LEVELS for v in values):
                problems.append(f"{where}: risk_level is one of {', '.join(RISK_LEVELS)}")
        if name == "country" and op in ("equals", "in"):
            values = value if isinstance(value, list) else [value]
            if any(not (isinstance(v, str) and re.fullmatch(r"[A-Z]{2}", v)) for v in values):
                problems.append(f"{where}: country must be 2 capital letters (e.g. HK)")
    return problems


def _number_or_text(text: str) -> int | float | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def predicate_from_text(name: str, op: str, value: str = "", low: str = "",
                        high: str = "") -> dict[str, Any]:
    """A predicate from what a person typed (the admin page): `in` takes comma-separated
    values, `range` a low and/or high bound, risk_score values become numbers. Nothing is
    judged here: `validate_predicates` says what is wrong with the result."""
    name, value = (name or "").strip(), (value or "").strip()
    numeric = name in FIELDS and FIELDS[name][1] == "number"
    if op == "range":
        bounds = [(b or "").strip() for b in (low, high)]
        return {"field": name, "op": op,
                "value": [None if not b else _number_or_text(b) for b in bounds]}
    if op == "in":
        items = [v.strip() for v in value.split(",") if v.strip()]
        return {"field": name, "op": op,
                "value": [_number_or_text(v) if numeric else v for v in items]}
    return {"field": name, "op": op,
            "value": _number_or_text(value) if numeric and value else value}


def describe_predicate(p: dict[str, Any]) -> str:
    """One line for a person: `country equals HK`, `risk_score between 50 and 100`."""
    name, op, value = p.get("field"), p.get("op"), p.get("value")
    if op == "range" and isinstance(value, list) and len(value) == 2:
        low, high = value
        if low is None:
            return f"{name} at most {high}"
        if high is None:
            return f"{name} at least {low}"
        return f"{name} between {low} and {high}"
    if op == "in" and isinstance(value, list):
        return f"{name} in {', '.join(str(v) for v in value)}"
    return f"{name} {op} {value}"


def _field_column(name: str):
    if name in FIELDS:
        return FIELDS[name][0]
    key = USER_FIELD.match(name).group(1)
    return Case.user_data[key]


def has_tag(tag: str, per_case: bool = False) -> ColumnElement[bool]:
    """The case carries `tag` in its tag list: through `case_tags`, the tags as rows kept by
    triggers (migration 0011), an index instead of parsing every case's JSON list. As
    `IN (its cases)`, or `per_case`, as EXISTS tested on each case (a common tag: see
    `core.worklist.query.walk_is_cheaper`); the same rows either way. Each call binds its own
    parameter, so several tags can be combined."""
    if per_case:
        return exists(select(1).select_from(CaseTag)
                      .where(CaseTag.tag == tag, CaseTag.case_id == Case.id))
    return Case.id.in_(select(CaseTag.case_id).where(CaseTag.tag == tag))


def _predicate_clause(p: dict[str, Any], dialect: str) -> ColumnElement[bool]:
    name, op, value = p["field"], p["op"], p["value"]
    column = _field_column(name)
    is_user = name.startswith("user_data.")
    if name == "tags":
        return has_tag(value)
    if op == "range":
        col = column.as_float() if is_user else column
        lo, hi = value
        parts = [c for c in ((col >= lo) if lo is not None else None,
                             (col <= hi) if hi is not None else None) if c is not None]
        return and_(*parts)
    col = column.as_string() if is_user else column
    numeric = not is_user and FIELDS[name][1] == "number"
    if op == "equals":
        return col == (value if numeric else str(value))
    if op == "in":
        return col.in_([v if numeric else str(v) for v in value])
    if op == "contains":
        return func.lower(col).contains(value.lower(), autoescape=True)
    raise AssertionError(op)


def view_clauses(view: ViewInfo, dialect: str) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    if view.workflows:
        clauses.append(Case.workflow.in_(view.workflows))
    if view.statuses:
        clauses.append(Case.case_status.in_(view.statuses))
    clauses.extend(_predicate_clause(p, dialect) for p in view.predicates)
    return clauses


def list_views(db: Database) -> list[ViewInfo]:
    with db.read() as s:
        return [_info(v) for v in s.scalars(select(View).order_by(View.position, View.id))]


def get_view(db: Database, view_id: int) -> ViewInfo:
    with db.read() as s:
        v = s.get(View, view_id)
        if v is None:
            raise NotFound(f"view {view_id} not found")
        return _info(v)


def find_view(db: Database, name_or_id: str) -> ViewInfo:
    for v in list_views(db):
        if str(v.id) == str(name_or_id) or v.name.lower() == str(name_or_id).lower():
            return v
    raise NotFound(f"no view named {name_or_id!r}")


def validate_view(session: Session, name: str, workflows: Any, predicates: Any,
                  statuses: Any = ()) -> list[str]:
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        problems.append("a view needs a name of 1 to 100 characters")
    known = set(session.scalars(select(Workflow.name)))
    if not isinstance(workflows, (list, tuple)) or any(w not in known for w in workflows):
        problems.append(f"workflows must be among: {', '.join(sorted(known))}")
    if not isinstance(statuses, (list, tuple)) or any(
            s not in {c.value for c in CaseStatus} for s in statuses):
        problems.append("statuses must be among: " + ", ".join(c.value for c in CaseStatus))
    problems.extend(validate_predicates(predicates))
    return problems


def save_view(db: Database, name: str, workflows: list[str], predicates: list[dict[str, Any]],
              statuses: list[str] | None = None, *, view_id: int | None = None,
              actor: str = "system") -> ViewInfo:
    """Creates or updates a view after validating it whole (nothing written on error)."""
    statuses = list(statuses or [])
    with db.unit_of_work() as s:
        _admin(s, actor)
        problems = validate_view(s, name, workflows, predicates, statuses)
        clash = s.scalars(select(View).where(View.name == (name or "").strip())).first()
        if clash is not None and clash.id != view_id:
            problems.append(f"a view named {name!r} already exists")
        if problems:
            raise InvalidInput("the view was refused", problems)
        if view_id is None:
            position = (s.scalar(select(func.max(View.position))) or 0) + 1
            view = View(name=name.strip(), position=position)
            s.add(view)
        else:
            view = s.get(View, view_id)
            if view is None:
                raise NotFound(f"view {view_id} not found")
        before = {"view": view.name, "workflows": view.workflows, "predicates": view.predicates,
                  "statuses": view.statuses} if view_id else None
        view.name, view.workflows = name.strip(), list(workflows)
        view.predicates, view.statuses = list(predicates), statuses
        s.flush()
        audit.record(s, case_id=None, actor=actor, kind="view.saved", before=before,
                     after={"view": view.name, "workflows": view.workflows,
                            "predicates": view.predicates, "statuses": view.statuses})
        return _info(view)


def _admin(session: Session, actor: str) -> None:
    require_permission(session, actor, Permission.MANAGE_VIEWS)


def delete_view(db: Database, view_id: int, *, actor: str = "system") -> None:
    """Removes a view from the sidebar (cases are untouched); audited."""
    with db.unit_of_work() as s:
        _admin(s, actor)
        view = s.get(View, view_id)
        if view is None:
            raise NotFound(f"view {view_id} not found")
        audit.record(s, case_id=None, actor=actor, kind="view.deleted",
                     before={"view": view.name, "workflows": view.workflows,
                             "predicates": view.predicates, "statuses": view.statuses})
        s.delete(view)


def move_view(db: Database, view_id: int, steps: int, *, actor: str = "system") -> list[ViewInfo]:
    """Moves a view up (steps < 0) or down (steps > 0) the sidebar; returns the new order.
    Positions are rewritten 0..n-1, so the order stays total whatever it was before."""
    with db.unit_of_work() as s:
        _admin(s, actor)
        views = list(s.scalars(select(View).order_by(View.position, View.id)))
        index = next((i for i, v in enumerate(views) if v.id == view_id), None)
        if index is None:
            raise NotFound(f"view {view_id} not found")
        target = min(max(0, index + int(steps)), len(views) - 1)
        before = [v.name for v in views]
        views.insert(target, views.pop(index))
        for position, v in enumerate(views):
            v.position = position
        if target != index:
            audit.record(s, case_id=None, actor=actor, kind="view.moved",
                         before={"order": before}, after={"order": [v.name for v in views]})
        s.flush()
        return [_info(v) for v in views]


def draft_view(name: str, workflows: list[str], predicates: list[dict[str, Any]],
               statuses: list[str] | None = None) -> ViewInfo:
    """An unsaved view, for a preview count (`CaseFilter(view=draft_view(...))`)."""
    return ViewInfo(0, name, 0, tuple(workflows), tuple(predicates), tuple(statuses or ()))


def ensure_default_views(session: Session) -> None:
    if session.scalar(select(func.count()).select_from(View)):
        return
    for position, v in enumerate(DEFAULT_VIEWS):
        session.add(View(name=v["name"], position=position, workflows=v["workflows"],
                         predicates=v["predicates"], statuses=[]))
    session.flush()
