"""The case list's state as URL query parameters: what a link, a reload and the back button
carry. Plain Python (no Streamlit), so the scheme can be read and tested on its own.

The scheme (README.md, "Links to the case list"; the Overview page builds its drill-down
links with it):

    view=<view id>           a sidebar view (absent: the first view, "All cases")
    status=<status value>    repeated for several: ?status=manual_review&status=rejected
    assignee=me|unassigned|someone   (absent: anyone)
    workflow=<workflow name> repeated for several
    tag=<tag>                repeated for several: the case carries every one
    q=<search>               at most core's MAX_SEARCH characters
    from=YYYY-MM-DD, to=YYYY-MM-DD   created between (either may be absent)
    overdue=1                only cases past their SLA due time (absent: every case)
    open_hits=open|none      cases with open screening hits / without (absent: any), as the
                             API's `open_hits`; `hits=` (older links) is read the same way
    risk=low|medium|high     repeated for several: cases at any of these risk levels
    sort=<SORT_COLUMNS key>, order=asc|desc   (absent: created_at, desc)
    page=N                   (absent: 1)
    case=<case id>           the open case (kept by the case table, not here)

A bad value is left out and described in a note (Markdown for the page to show, the value
escaped and shortened); it never raises. Values that depend on the database (does view 7 exist? which workflows?) are checked
by the caller, which knows them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Iterable, Mapping

from core.cases.status import CaseStatus
from core.cases.tags import clean_tag
from core.errors import InvalidInput
from core.worklist.query import (
    ASSIGNEE_MODES,
    MAX_SEARCH,
    OPEN_HITS_MODES,
    RISK_LEVELS,
    SORT_COLUMNS,
)
from ui.text import esc

DEFAULT_SORT = "created_at"
DEFAULT_ORDER = "desc"
ORDERS = ("asc", "desc")
LIST_KEYS = ("view", "status", "assignee", "workflow", "tag", "q", "from", "to", "overdue",
             "open_hits", "hits", "risk", "sort", "order", "page")
OPEN_HITS_KEYS = ("open_hits", "hits")   # the name, then the older links' alias
MAX_TAGS = 20  # tags chosen at once (a saved filter keeps as many)
CASE_KEY = "case"
EARLIEST_DATE = date(2000, 1, 1)   # the date pickers' lower bound

# The Sort box: each (column, order) the core can sort by, in this order, with its label.
SORT_LABELS = {
    ("created_at", "desc"): "Newest first",
    ("created_at", "asc"): "Oldest first",
    ("due_at", "asc"): "Due soonest first",
    ("due_at", "desc"): "Due latest first",
    ("risk", "desc"): "Highest risk first",
    ("risk", "asc"): "Lowest risk first",
    ("updated_at", "desc"): "Recently updated",
    ("updated_at", "asc"): "Least recently updated",
    ("name", "asc"): "Entity name A–Z",
    ("name", "desc"): "Entity name Z–A",
    ("status", "asc"): "Status A–Z",
    ("status", "desc"): "Status Z–A",
    ("id", "asc"): "Case ID A–Z",
    ("id", "desc"): "Case ID Z–A",
}


def sort_options() -> list[tuple[str, str]]:
    """Every (column, order) of core's SORT_COLUMNS, the labelled ones first."""
    known = [k for k in SORT_LABELS if k[0] in SORT_COLUMNS]
    extra = [(c, o) for c in SORT_COLUMNS for o in ("asc", "desc") if (c, o) not in SORT_LABELS]
    return known + extra


def sort_label(option: tuple[str, str]) -> str:
    column, order = option
    return SORT_LABELS.get(option, f"{column.replace('_', ' ').capitalize()} ({order})")


@dataclass(frozen=True)
class ListParams:
    """What the reviewer asked the list for. `view` None: the first view."""
    view: int | None = None
    statuses: tuple[str, ...] = ()
    assignee: str = "anyone"
    workflows: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    search: str = ""
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool = False
    open_hits: str | None = None  # "open" | "none" (core's OPEN_HITS_MODES); None: any
    risk_levels: tuple[str, ...] = ()  # among core's RISK_LEVELS, in their order; (): any
    sort: str = DEFAULT_SORT
    order: str = DEFAULT_ORDER
    page: int = 1

    @property
    def descending(self) -> bool:
        return self.order == "desc"

    def list_part(self) -> "ListParams":
        """The same list, on page 1 (what a filter change keeps)."""
        return replace(self, page=1)


def cases_count(n: int, capped: bool = False) -> str:
    """'1 case', '2 cases', '10,000+ cases' (`capped`: at least n) — the list's wording."""
    if capped:
        return f"{n:,}+ cases"
    return f"{n:,} case" if n == 1 else f"{n:,} cases"


def cut_search(text: str) -> tuple[str, str | None]:
    """The search text at most MAX_SEARCH characters long, and a note when it was cut."""
    if len(text) <= MAX_SEARCH:
        return text, None
    return text[:MAX_SEARCH], (f"Search is limited to {MAX_SEARCH} characters: the text was "
                               f"cut to its first {MAX_SEARCH}.")


def _shown(value: str) -> str:
    """A value from the URL, for a note: short and escaped (the URL is anyone's text)."""
    return esc(value if len(value) <= 40 else value[:40] + "…")


def _one(query: Mapping[str, list[str]], key: str) -> str | None:
    values = query.get(key) or []
    return values[-1] if values else None


def _date(text: str | None, name: str, notes: list[str], today: date) -> date | None:
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        notes.append(f"The link's {name} date is not a date (YYYY-MM-DD); it was ignored.")
        return None
    if not EARLIEST_DATE <= value <= today:
        notes.append(f"The link's {name} date must be between {EARLIEST_DATE:%Y-%m-%d} and "
                     f"today; it was ignored.")
        return None
    return value


def parse_query(query: Mapping[str, list[str]], *, views: Mapping[int, str],
                workflows: Iterable[str], today: date) -> tuple[ListParams, list[str]]:
    """The list the URL asks for (query: every key's values; views: id -> name, the first
    is the default), and a note per value left out."""
    notes: list[str] = []
    params = ListParams()

    view_text = _one(query, "view")
    if view_text:
        view_id = int(view_text) if view_text.isdigit() else None
        if view_id in views:
            params = replace(params, view=view_id)
        else:
            first = esc(next(iter(views.values()), "the first view"))
            notes.append(f"The link's view {_shown(view_text)} does not exist; showing {first}.")

    known_statuses = [s.value for s in CaseStatus]
    statuses = []
    for value in query.get("status") or []:
        if value in known_statuses:
            if value not in statuses:
                statuses.append(value)
        else:
            notes.append(f"The link's status {_shown(value)} is not a case status; it was "
                         f"ignored.")
    params = replace(params, statuses=tuple(statuses))

    assignee = _one(query, "assignee")
    if assignee in ASSIGNEE_MODES:
        params = replace(params, assignee=assignee)
    elif assignee:
        notes.append(f"The link's assignee {_shown(assignee)} is not one of me, unassigned, "
                     f"someone; showing anyone's cases.")

    known_workflows = set(workflows)
    chosen = []
    for value in query.get("workflow") or []:
        if value in known_workflows:
            if value not in chosen:
                chosen.append(value)
        else:
            notes.append(f"The link's workflow {_shown(value)} does not exist; it was ignored.")
    params = replace(params, workflows=tuple(chosen))

    tags: list[str] = []
    for value in query.get("tag") or []:
        try:
            tag = clean_tag(value)
        except InvalidInput:
            notes.append(f"The link's tag {_shown(value)} is not a tag (1 to 50 characters, "
                         f"no line breaks); it was ignored.")
            continue
        if tag not in tags:
            if len(tags) == MAX_TAGS:
                notes.append(f"At most {MAX_TAGS} tags at once; the link's others were ignored.")
                break
            tags.append(tag)
    params = replace(params, tags=tuple(tags))

    search, cut = cut_search(_one(query, "q") or "")
    if cut:
        notes.append(cut)
    params = replace(params, search=search)

    created_from = _date(_one(query, "from"), "from", notes, today)
    created_to = _date(_one(query, "to"), "to", notes, today)
    if created_from and created_to and created_from > created_to:
        notes.append("The link's date range ends before it starts; its end was ignored.")
        created_to = None
    params = replace(params, created_from=created_from, created_to=created_to)

    overdue = _one(query, "overdue")
    if overdue in ("1", "0"):
        params = replace(params, overdue=overdue == "1")
    elif overdue is not None:
        notes.append(f"The link's overdue {_shown(overdue)} is not 1 or 0; showing every case.")

    key = next((k for k in OPEN_HITS_KEYS if _one(query, k) is not None), OPEN_HITS_KEYS[0])
    hits = _one(query, key)
    if hits in OPEN_HITS_MODES:
        params = replace(params, open_hits=hits)
    elif hits is not None:
        notes.append(f"The link's {key} {_shown(hits)} is not open or none; showing every "
                     f"case.")

    levels = set()
    for value in query.get("risk") or []:
        if value in RISK_LEVELS:
            levels.add(value)
        else:
            notes.append(f"The link's risk {_shown(value)} is not low, medium or high; it was "
                         f"ignored.")
    params = replace(params, risk_levels=tuple(v for v in RISK_LEVELS if v in levels))

    sort, order = _one(query, "sort"), _one(query, "order")
    if sort is not None and sort not in SORT_COLUMNS:
        notes.append(f"The list cannot be sorted by {_shown(sort)}; sorted newest first.")
        sort = None
    if order is not None and order not in ORDERS:
        notes.append(f"The link's order {_shown(order)} is not asc or desc; it was ignored.")
        order = None
    params = replace(params, sort=sort or DEFAULT_SORT, order=order or DEFAULT_ORDER)

    page_text = _one(query, "page")
    if page_text:
        if page_text.isdigit() and int(page_text) >= 1:
            params = replace(params, page=int(page_text))
        else:
            notes.append(f"The link's page {_shown(page_text)} is not a page number; showing "
                         f"page 1.")
    return params, notes


def to_query(params: ListParams, *, default_view: int | None) -> dict[str, list[str]]:
    """The URL's list parameters for `params` (defaults left out, so a plain list has none)."""
    query: dict[str, list[str]] = {}
    if params.view is not None and params.view != default_view:
        query["view"] = [str(params.view)]
    if params.statuses:
        query["status"] = list(params.statuses)
    if params.assignee != "anyone":
        query["assignee"] = [params.assignee]
    if params.workflows:
        query["workflow"] = list(params.workflows)
    if params.tags:
        query["tag"] = list(params.tags)
    if params.search:
        query["q"] = [params.search]
    if params.created_from:
        query["from"] = [params.created_from.isoformat()]
    if params.created_to:
        query["to"] = [params.created_to.isoformat()]
    if params.overdue:
        query["overdue"] = ["1"]
    if params.open_hits:
        query["open_hits"] = [params.open_hits]
    if params.risk_levels:
        query["risk"] = list(params.risk_levels)
    if (params.sort, params.order) != (DEFAULT_SORT, DEFAULT_ORDER):
        query["sort"], query["order"] = [params.sort], [params.order]
    if params.page > 1:
        query["page"] = [str(params.page)]
    return query
