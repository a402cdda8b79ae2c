"""Single-use, short-lived download links for the Cases page's CSV export.

Why this exists: a Streamlit download button hands the browser bytes the server already
holds, so "Download CSV" of a million cases kept a ~200 MB file in the session's memory. The
page instead asks here for a link (`create_export_link`), and a plain route of the same server
(`api/downloads.py`) redeems it (`redeem_export_link`) and streams `export.export_cases`
straight to the browser: constant memory, the rows in the list's order, formula-safe.

A link is a random token (`secrets.token_urlsafe(32)`) in the URL. The database keeps only its
SHA-256, with the user, the list's filter (JSON; the view as it was when the link was made, so
the file is the list the user was looking at), the sort, and when it expires (EXPIRES_AFTER).
Redeeming marks it used in one UPDATE that only an unused, unexpired link passes, so it works
exactly once, on whichever app server receives it: a URL left in the browser's history or a
proxy's log is worthless. Redeeming re-checks that the user is active and may export, and
records the export in the audit log (`cases.exported`: the filter without its search text,
the sort, the rows matching as the download starts; docs/RECORDS.md, "Access log"). Rows are
pruned when new links are made, a day after they expired. Any refusal is a typed error and writes nothing.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date, timedelta
from typing import Any, NamedTuple

from sqlalchemy import delete, select, update

from core.access.actors import active_user
from core.access.roles import Permission, require
from core.errors import DocketError, InvalidInput
from core.store import audit
from core.store.db import Database
from core.store.models import utcnow
from core.store.worklist_models import ExportLink
from core.worklist.export import check_export_allowed
from core.worklist.query import CaseFilter, count_cases, filter_clauses, sort_columns
from core.worklist.views import ViewInfo

DOWNLOAD_PATH = "/downloads/cases.csv"  # the server's route (api/downloads.py)
TOKEN_PARAM = "t"
EXPIRES_AFTER = timedelta(minutes=10)
PRUNE_AFTER = timedelta(days=1)  # rows are deleted this long after they expired
TOKEN_BYTES = 32
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


class InvalidExportLink(DocketError):
    """A link that cannot be redeemed. `reason`: `malformed` (not a token at all), `unknown`
    (never made, or pruned), `expired`, `used` (single use)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


MESSAGES = {
    "malformed": "This is not a Docket download link.",
    "unknown": "This download link does not exist. Export the list again on the Cases page.",
    "expired": "This download link has expired (links work for 10 minutes). Export the list "
               "again on the Cases page.",
    "used": "This download link was already used (links work once). Export the list again on "
            "the Cases page.",
}


class ExportRequest(NamedTuple):
    """What a redeemed link asks for: `export_cases(db, flt, actor=actor, sort=sort,
    descending=descending)`."""
    actor: str
    flt: CaseFilter
    sort: str
    descending: bool


def download_url(token: str) -> str:
    """The link's address on the server (relative to its root)."""
    return f"{DOWNLOAD_PATH}?{TOKEN_PARAM}={token}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def filter_to_json(flt: CaseFilter) -> dict[str, Any]:
    """A CaseFilter as a JSON object (`filter_from_json` reads it back)."""
    view = flt.view
    return {
        "view": None if view is None else {
            "id": view.id, "name": view.name, "position": view.position,
            "workflows": list(view.workflows), "predicates": [dict(p) for p in view.predicates],
            "statuses": list(view.statuses)},
        "statuses": list(flt.statuses), "assignee": flt.assignee, "me": flt.me,
        "search": flt.search, "workflows": list(flt.workflows), "tags": list(flt.tags),
        "created_from": flt.created_from.isoformat() if flt.created_from else None,
        "created_to": flt.created_to.isoformat() if flt.created_to else None,
        "overdue": flt.overdue, "open_hits": flt.open_hits, "risk_levels": list(flt.risk_levels),
    }


def filter_from_json(data: dict[str, Any]) -> CaseFilter:
    view = data.get("view")
    return CaseFilter(
        view=None if view is None else ViewInfo(
            view["id"], view["name"], view["position"], tuple(view["workflows"]),
            tuple(view["predicates"]), tuple(view["statuses"])),
        statuses=tuple(data["statuses"]), assignee=data["assignee"], me=data["me"],
        search=data["search"], workflows=tuple(data["workflows"]), tags=tuple(data["tags"]),
        created_from=date.fromisoformat(data["created_from"]) if data["created_from"] else None,
        created_to=date.fromisoformat(data["created_to"]) if data["created_to"] else None,
        overdue=bool(data["overdue"]), open_hits=data.get("open_hits"),
        risk_levels=tuple(data.get("risk_levels") or ()))


def create_export_link(db: Database, *, actor: str, flt: CaseFilter, sort: str = "created_at",
                       descending: bool = True) -> str:
    """A new download link's token for `actor`'s export of `flt` in this order. Refused
    (NotAllowed, InvalidInput; nothing written) as `export_cases` would refuse the export: a
    user who may not export, a filter or sort the list does not have."""
    check_export_allowed(db, actor)
    if not isinstance(descending, bool):
        raise InvalidInput("descending must be true or false")
    sort_columns(sort, descending)  # InvalidInput for a sort the list does not have
    filter_clauses(flt, db.dialect)  # InvalidInput for a filter the list cannot run
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    with db.unit_of_work() as s:
        s.execute(delete(ExportLink).where(ExportLink.expires_at < now - PRUNE_AFTER))
        s.add(ExportLink(token_hash=token_hash(token), username=actor,
                         filters=filter_to_json(flt), sort=sort, descending=descending,
                         created_at=now, expires_at=now + EXPIRES_AFTER, used_at=None))
    return token


def export_link_state(db: Database, token: str) -> str:
    """`ready` (it would be redeemed now), `used`, `expired` or `unknown`: for the page that
    offers the link, to stop offering it once it was used. Writes nothing."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        return "unknown"
    with db.read() as s:
        row = s.execute(select(ExportLink.used_at, ExportLink.expires_at)
                        .where(ExportLink.token_hash == token_hash(token))).first()
    if row is None:
        return "unknown"
    if row.used_at is not None:
        return "used"
    return "expired" if row.expires_at <= utcnow() else "ready"


def described_filter(filters: dict[str, Any]) -> dict[str, Any]:
    """The filter as the audit log keeps it: without the search text (a name typed there is
    personal data; the search itself is logged as a keyed hash, `search.performed`)."""
    described = {k: v for k, v in filters.items() if k != "search"}
    return {**described, "searched": bool(filters.get("search"))}


def _rows_asked(db: Database, digest: str) -> int | None:
    """How many cases a usable link's filter matches now (None: no usable link, or a filter
    the list cannot run): counted before the write transaction, for the audit event."""
    with db.read() as s:
        filters = s.scalar(select(ExportLink.filters).where(
            ExportLink.token_hash == digest, ExportLink.used_at.is_(None),
            ExportLink.expires_at > utcnow()))
    try:
        return None if filters is None else count_cases(db, filter_from_json(filters))
    except DocketError:
        return None


def redeem_export_link(db: Database, token: str) -> ExportRequest:
    """What the link asks for, marking it used: once, before it expires, for a user who is
    still active and may export (NotAllowed otherwise). Records `cases.exported`. A link that
    cannot be used raises InvalidExportLink (its `reason`); a refusal writes nothing."""
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        raise InvalidExportLink("malformed", MESSAGES["malformed"])
    digest = token_hash(token)
    rows = _rows_asked(db, digest)
    with db.unit_of_work() as s:
        now = utcnow()
        taken = s.execute(
            update(ExportLink)
            .where(ExportLink.token_hash == digest, ExportLink.used_at.is_(None),
                   ExportLink.expires_at > now)
            .values(used_at=now).execution_options(synchronize_session=False))
        if taken.rowcount != 1:
            row = s.execute(select(ExportLink.used_at, ExportLink.expires_at)
                            .where(ExportLink.token_hash == digest)).first()
            reason = ("unknown" if row is None else "used" if row.used_at is not None
                      else "expired")
            raise InvalidExportLink(reason, MESSAGES[reason])
        link = s.get(ExportLink, digest)
        user = active_user(s, link.username)
        require(user.username, user.role, Permission.EXPORT)
        audit.record(s, case_id=None, actor=user.username, kind="cases.exported",
                     after={"filter": described_filter(link.filters), "sort": link.sort,
                            "order": "desc" if link.descending else "asc", "rows": rows,
                            "link_created_at": link.created_at.isoformat(sep=" ")})
        return ExportRequest(user.username, filter_from_json(link.filters), link.sort,
                             link.descending)
