"""Saved filters ("My views"): a user keeps the case list's sidebar filters under a name and
gets them back in one click, with the live count of the cases they match.

A saved filter belongs to one user (its owner) and only they see it. It holds what the
sidebar holds — the view (its id; None: the first view), statuses, assignee mode, workflows,
search, created range, tags, "overdue only", open hits, sort and order — as a JSON object checked whole
by `clean_filters` before anything is written (every problem listed, nothing written on a
refusal). At most MAX_SAVED per user, names 1 to MAX_NAME characters, unique per owner.
Saving, renaming and deleting are audited (`saved_filter.saved|renamed|deleted`, not case
events). A saved filter whose view was deleted since keeps its other filters:
`case_filter_of` answers it over the first view and says so (`SavedFilter.view_missing`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access.actors import active_user
from core.cases.status import CaseStatus
from core.cases.tags import clean_tag
from core.errors import DocketError, InvalidInput, NotFound
from core.store import audit
from core.store.db import Database
from core.store.models import View, Workflow
from core.store.worklist_models import SavedFilter as SavedFilterRow
from core.workflows.risk_model import LEVELS as RISK_LEVELS
from core.worklist.query import (
    ASSIGNEE_MODES,
    MAX_SEARCH,
    OPEN_HITS_MODES,
    CaseFilter,
    count_cases,
)
from core.worklist.sort_keys import SORT_KEYS
from core.worklist.views import ViewInfo, list_views

MAX_SAVED = 20      # per user
MAX_NAME = 60       # characters
MAX_FILTER_TAGS = 20
ORDERS = ("asc", "desc")
DEFAULTS: dict[str, Any] = {
    "view": None, "statuses": [], "assignee": "anyone", "workflows": [], "search": "",
    "created_from": None, "created_to": None, "tags": [], "overdue": False,
    "open_hits": None, "risk_levels": [], "sort": "created_at", "order": "desc",
}


@dataclass(frozen=True)
class SavedFilter:
    id: int
    owner: str
    name: str
    filters: dict[str, Any]  # every key of DEFAULTS, as `clean_filters` returns them
    created_at: datetime

    @property
    def view(self) -> int | None:
        return self.filters["view"]


def _info(row: SavedFilterRow) -> SavedFilter:
    return SavedFilter(row.id, row.owner, row.name, {**DEFAULTS, **(row.filters or {})},
                       row.created_at)


def clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a saved filter needs a name")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise InvalidInput(f"a saved filter's name is at most {MAX_NAME} characters; this one "
                           f"has {len(name)}")
    return name


def _iso_date(value: Any, name: str, problems: list[str]) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        problems.append(f"{name} must be a date (YYYY-MM-DD)")
        return None


def _text_list(value: Any, name: str, problems: list[str]) -> list[str] | None:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        problems.append(f"{name} must be a list of texts")
        return None
    return list(dict.fromkeys(value))


def clean_filters(session: Session, filters: Any) -> dict[str, Any]:
    """The filters as stored: every key of DEFAULTS, checked against what exists now (views,
    workflows, statuses, sort keys); InvalidInput listing every problem otherwise."""
    if not isinstance(filters, dict):
        raise InvalidInput("the filters must be an object")
    problems: list[str] = []
    unknown = sorted(set(filters) - set(DEFAULTS))
    if unknown:
        problems.append(f"unknown filter {unknown[0]!r}; filters: {', '.join(DEFAULTS)}")
    f = {**DEFAULTS, **filters}
    out: dict[str, Any] = dict(DEFAULTS)

    view = f["view"]
    if view is not None:
        if isinstance(view, bool) or not isinstance(view, int) or session.get(View, view) is None:
            problems.append(f"view {view!r} does not exist")
        else:
            out["view"] = view
    statuses = _text_list(f["statuses"], "statuses", problems)
    known_statuses = [s.value for s in CaseStatus]
    if statuses is not None:
        bad = [s for s in statuses if s not in known_statuses]
        if bad:
            problems.append(f"unknown status {bad[0]!r}; statuses: {', '.join(known_statuses)}")
        out["statuses"] = [s for s in statuses if s in known_statuses]
    if f["assignee"] not in ASSIGNEE_MODES:
        problems.append(f"assignee must be one of {', '.join(ASSIGNEE_MODES)}")
    else:
        out["assignee"] = f["assignee"]
    workflows = _text_list(f["workflows"], "workflows", problems)
    if workflows:
        known = set(session.scalars(select(Workflow.name)))
        bad = [w for w in workflows if w not in known]
        if bad:
            problems.append(f"workflow {bad[0]!r} does not exist")
        out["workflows"] = [w for w in workflows if w in known]
    search = f["search"]
    if not isinstance(search, str) or len(search.strip()) > MAX_SEARCH:
        problems.append(f"search is a text of at most {MAX_SEARCH} characters")
    else:
        out["search"] = search.strip()
    out["created_from"] = _iso_date(f["created_from"], "created_from", problems)
    out["created_to"] = _iso_date(f["created_to"], "created_to", problems)
    if out["created_from"] and out["created_to"] and out["created_from"] > out["created_to"]:
        problems.append("the created date range ends before it starts")
    tags = _text_list(f["tags"], "tags", problems)
    if tags is not None:
        if len(tags) > MAX_FILTER_TAGS:
            problems.append(f"at most {MAX_FILTER_TAGS} tags")
        cleaned = []
        for tag in tags:
            try:
                cleaned.append(clean_tag(tag))
            except InvalidInput as e:
                problems.append(str(e))
        out["tags"] = list(dict.fromkeys(cleaned))
    if not isinstance(f["overdue"], bool):
        problems.append("overdue must be true or false")
    else:
        out["overdue"] = f["overdue"]
    if f["open_hits"] is not None and f["open_hits"] not in OPEN_HITS_MODES:
        problems.append(f"open_hits must be one of {', '.join(OPEN_HITS_MODES)}, or null")
    else:
        out["open_hits"] = f["open_hits"]
    levels = _text_list(f["risk_levels"], "risk_levels", problems)
    if levels is not None:
        if set(levels) - set(RISK_LEVELS):
            problems.append(f"risk_levels must be among {', '.join(RISK_LEVELS)}")
        out["risk_levels"] = [v for v in RISK_LEVELS if v in levels]
    if f["sort"] not in SORT_KEYS:
        problems.append(f"cannot sort by {f['sort']!r}; sort by one of {', '.join(SORT_KEYS)}")
    else:
        out["sort"] = f["sort"]
    if f["order"] not in ORDERS:
        problems.append("order must be asc or desc")
    else:
        out["order"] = f["order"]
    if problems:
        raise InvalidInput("the saved filter was refused", problems)
    return out


def _owned(session: Session, owner: str, filter_id: int) -> SavedFilterRow:
    row = session.get(SavedFilterRow, filter_id)
    if row is None or row.owner != owner:  # someone else's is as good as missing
        raise NotFound(f"saved filter {filter_id} not found")
    return row


def _name_taken(session: Session, owner: str, name: str, but: int | None = None) -> bool:
    stmt = select(SavedFilterRow.id).where(SavedFilterRow.owner == owner,
                                          SavedFilterRow.name == name)
    return any(found != but for found in session.scalars(stmt))


def save_filter(db: Database, owner: str, name: str, filters: dict[str, Any]) -> int:
    """Saves the filters under `name` for `owner`; returns the new id. Refused (InvalidInput,
    nothing written) on a bad name or filter, a name the owner already uses, or MAX_SAVED."""
    try:
        with db.unit_of_work() as s:
            active_user(s, owner)
            name = clean_name(name)
            cleaned = clean_filters(s, filters)
            if _name_taken(s, owner, name):
                raise InvalidInput(f"you already have a saved filter named {name!r}")
            have = s.scalar(select(func.count()).select_from(SavedFilterRow)
                            .where(SavedFilterRow.owner == owner)) or 0
            if have >= MAX_SAVED:
                raise InvalidInput(f"you can keep at most {MAX_SAVED} saved filters; delete "
                                   "one first")
            row = SavedFilterRow(owner=owner, name=name, filters=cleaned)
            s.add(row)
            s.flush()
            audit.record(s, case_id=None, actor=owner, kind="saved_filter.saved",
                         after={"saved_filter": row.id, "name": name, "filters": cleaned})
            return row.id
    except IntegrityError:  # the same name saved at the same moment by another session
        raise InvalidInput(f"you already have a saved filter named {name!r}") from None


def rename_saved_filter(db: Database, owner: str, filter_id: int, name: str) -> None:
    with db.unit_of_work() as s:
        active_user(s, owner)
        row = _owned(s, owner, filter_id)
        name = clean_name(name)
        if name == row.name:
            return
        if _name_taken(s, owner, name, but=row.id):
            raise InvalidInput(f"you already have a saved filter named {name!r}")
        audit.record(s, case_id=None, actor=owner, kind="saved_filter.renamed",
                     before={"saved_filter": row.id, "name": row.name},
                     after={"saved_filter": row.id, "name": name})
        row.name = name


def delete_saved_filter(db: Database, owner: str, filter_id: int) -> None:
    """Deletes one of the owner's saved filters (NotFound for anyone else's)."""
    with db.unit_of_work() as s:
        active_user(s, owner)
        row = _owned(s, owner, filter_id)
        audit.record(s, case_id=None, actor=owner, kind="saved_filter.deleted",
                     before={"saved_filter": row.id, "name": row.name, "filters": row.filters})
        s.delete(row)


def list_saved_filters(db: Database, owner: str) -> list[SavedFilter]:
    """The owner's saved filters, by name."""
    with db.read() as s:
        rows = s.scalars(select(SavedFilterRow).where(SavedFilterRow.owner == owner)
                         .order_by(SavedFilterRow.name, SavedFilterRow.id))
        return [_info(r) for r in rows]


def count_saved_filters(db: Database, owner: str) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(SavedFilterRow)
                            .where(SavedFilterRow.owner == owner)) or 0)


def view_missing(saved: SavedFilter, views: list[ViewInfo]) -> bool:
    """Its view was deleted since it was saved."""
    return saved.view is not None and saved.view not in {v.id for v in views}


def case_filter_of(saved: SavedFilter, views: list[ViewInfo], me: str) -> CaseFilter:
    """The list's filter for a saved filter (a deleted view: the first view instead)."""
    f = saved.filters
    by_id = {v.id: v for v in views}
    view = by_id.get(f["view"]) if f["view"] is not None else None
    if view is None:
        view = views[0] if views else None
    return CaseFilter(
        view=view, statuses=tuple(f["statuses"]), assignee=f["assignee"], me=me,
        search=f["search"], workflows=tuple(f["workflows"]), tags=tuple(f["tags"]),
        created_from=date.fromisoformat(f["created_from"]) if f["created_from"] else None,
        created_to=date.fromisoformat(f["created_to"]) if f["created_to"] else None,
        overdue=bool(f["overdue"]), open_hits=f.get("open_hits"),
        risk_levels=tuple(f.get("risk_levels") or ()))


def saved_filter_counts(db: Database, owner: str,
                        views: list[ViewInfo] | None = None) -> dict[int, int | None]:
    """Saved filter id -> how many cases it matches now (counted in SQL like the list's
    total; None if it cannot be counted, e.g. a workflow deleted since)."""
    views = list_views(db) if views is None else views
    counts: dict[int, int | None] = {}
    for saved in list_saved_filters(db, owner):
        try:
            counts[saved.id] = count_cases(db, case_filter_of(saved, views, owner))
        except DocketError:
            counts[saved.id] = None
    return counts
