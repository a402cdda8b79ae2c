"""The built-in screener's lists: loading a list file as a new version of a list, what each
version changed, and the reads the matcher builds its index from.

`load_list` is an admin's command (Permission.MANAGE_SCREENING_LISTS; "system" for the demo
and the shell). The file is parsed and checked whole first (core/screening/list_files.py:
nothing is written on a refusal). The same bytes as the current version write nothing
("unchanged"). Otherwise one unit of work: the list (created on its first load, its format
fixed from then on), the entries compared with the current ones by `entry_hash` — new ids
added (an id that had been removed and comes back counts as added), another hash changed,
ids no longer in the file removed (kept, with `removed_version`, for the history) — written
in bulk (multi-row INSERTs and executemany UPDATEs, no ORM object per entry), the version
row with up to 50 entry ids per kind of change, the audit event `screening.list_loaded`,
and, when an entry changed, every case that is not Rejected queued for rescreening
(reason `list_reload`, one INSERT ... SELECT: core/cases/screening_queue.py).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any, Iterator

from sqlalchemy import and_, bindparam, insert, select, update
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.screening_queue import enqueue_rescreen_all
from core.errors import InvalidInput, NotFound
from core.screening.list_files import FORMATS, ParsedEntry, normalise_format, parse_list_file
from core.store import audit
from core.store.db import Database
from core.store.models import utcnow
from core.store.screening_list_models import ScreeningEntry, ScreeningList, ScreeningListVersion

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_TITLE = 100
MAX_FILE_NAME = 255
MAX_CHANGES_KEPT = 50      # entry ids per kind of change on the version row
MAX_CHANGES_AUDITED = 20   # ... and in the audit event
WRITE_BATCH = 5000
REFUSED = "the list was refused"
KINDS = ("added", "changed", "removed")
E, L, V = ScreeningEntry.__table__, ScreeningList.__table__, ScreeningListVersion.__table__


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


@dataclass
class ListLoad:
    """What a load did."""
    name: str
    title: str
    format: str
    version: int               # the list's current version after the load
    unchanged: bool = False    # the same file as the current version: nothing written
    entries: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    queued: int = 0            # cases queued for rescreening
    changes: dict[str, list[str]] = field(default_factory=dict)

    def sentence(self) -> str:
        if self.unchanged:
            return (f"list {self.name} version {self.version}: unchanged (the same file as "
                    f"the current version); nothing written")
        return (f"list {self.name} version {self.version}: {self.added:,} added, "
                f"{self.changed:,} changed, {self.removed:,} removed "
                f"({_count(self.entries, 'entry', 'entries')}); "
                f"{_count(self.queued, 'case', 'cases')} queued for rescreening")


@dataclass(frozen=True)
class ListInfo:
    name: str
    title: str
    format: str
    version: int
    entries: int
    loaded_at: datetime | None
    loaded_by: str | None
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class VersionInfo:
    version: int
    loaded_at: datetime
    loaded_by: str
    file_name: str
    file_sha256: str
    entries: int
    added: int
    changed: int
    removed: int
    changes: dict[str, list[str]]


def _clean_request(name: Any, fmt: Any, title: Any, file_name: Any) -> tuple[str, str, str | None, str]:
    problems = []
    name = name.strip() if isinstance(name, str) else ""
    if not NAME.match(name):
        problems.append(f"name: {name[:50]!r} is not a list name: 1 to 40 characters a-z, 0-9 "
                        "and '-', starting with a letter or digit (e.g. demo-sanctions)")
    try:
        fmt = normalise_format(fmt if isinstance(fmt, str) else "")
    except InvalidInput as e:
        problems.extend(e.problems)
    if title is not None:
        title = title.strip() if isinstance(title, str) else ""
        if not title or len(title) > MAX_TITLE or re.search(r"[\x00-\x1f\x7f]", title):
            problems.append(f"title: 1 to {MAX_TITLE} characters, no control characters")
        title = title or None
    file_name = PurePath(str(file_name or "").replace("\\", "/")).name
    file_name = re.sub(r"[\x00-\x1f\x7f]", "", file_name)[:MAX_FILE_NAME]
    if problems:
        raise InvalidInput(REFUSED, problems)
    return name, fmt, title, file_name


def _row(entry: ParsedEntry, digest: str, version: int) -> dict[str, Any]:
    return {"entry_id": entry.entry_id, "schema": entry.schema, "name": entry.name,
            "aliases": list(entry.aliases), "birth_dates": list(entry.birth_dates),
            "countries": list(entry.countries), "programme": entry.programme,
            "url": entry.url, "entry_hash": digest, "changed_version": version}


def _in_batches(rows: list, size: int = WRITE_BATCH) -> Iterator[list]:
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _lock_list(session: Session, name: str, dialect: str) -> ScreeningList | None:
    stmt = select(ScreeningList).where(ScreeningList.name == name)
    if dialect == "postgresql":
        stmt = stmt.with_for_update()  # two loads of one list take turns
    return session.scalars(stmt).first()


def _write_entries(session: Session, list_id: int, version: int,
                   entries: list[ParsedEntry]) -> dict[str, list[str]]:
    """Compares the file's entries with the list's (current and removed) and writes the
    difference in bulk; returns the entry ids per kind of change."""
    known = {r.entry_id: r for r in session.execute(
        select(E.c.entry_id, E.c.id, E.c.entry_hash, E.c.removed_version)
        .where(E.c.list_id == list_id))}
    new_rows, updates = [], []
    ids: dict[str, list[str]] = {k: [] for k in KINDS}
    for entry in entries:
        digest = entry.entry_hash
        old = known.pop(entry.entry_id, None)
        if old is None:
            new_rows.append({**_row(entry, digest, version), "list_id": list_id,
                             "added_version": version, "removed_version": None})
            ids["added"].append(entry.entry_id)
        elif old.removed_version is not None or old.entry_hash != digest:
            back = old.removed_version is not None
            updates.append({"b_id": old.id, "b_added": version if back else None,
                            **{f"b_{k}": v for k, v in _row(entry, digest, version).items()
                               if k != "entry_id"}})
            ids["added" if back else "changed"].append(entry.entry_id)
    gone = [(r.id, r.entry_id) for r in known.values() if r.removed_version is None]
    ids["removed"] = [entry_id for _, entry_id in gone]
    for batch in _in_batches(new_rows):
        session.execute(insert(E), batch)
    if updates:
        fields = ("schema", "name", "aliases", "birth_dates", "countries", "programme", "url",
                  "entry_hash", "changed_version")
        stmt = (update(E).where(E.c.id == bindparam("b_id"))
                .values({**{f: bindparam(f"b_{f}") for f in fields}, "removed_version": None}))
        same_added = [u for u in updates if u["b_added"] is None]
        back = [u for u in updates if u["b_added"] is not None]
        for batch in _in_batches(same_added):
            session.execute(stmt, batch)
        for batch in _in_batches(back):
            session.execute(stmt.values(added_version=bindparam("b_added")), batch)
    for batch in _in_batches([i for i, _ in gone]):
        session.execute(update(E).where(E.c.id.in_(batch)).values(removed_version=version))
    return ids


def load_list(db: Database, name: str, data: bytes, *, fmt: str, actor: str,
              title: str | None = None, file_name: str = "") -> ListLoad:
    """Loads a list file as the next version of list `name` (created on its first load; the
    title defaults to the name) by the rules of the module docstring. Refused whole —
    InvalidInput naming every problem (the file's by line), NotAllowed — writing nothing."""
    name, fmt, title, file_name = _clean_request(name, fmt, title, file_name)
    data = bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    with db.read() as s:  # refused before the file is read, not after
        require_permission(s, actor, Permission.MANAGE_SCREENING_LISTS)
        now = s.execute(select(L.c.title, L.c.format, L.c.current_version, L.c.entry_count,
                               V.c.file_sha256)
                        .outerjoin(V, and_(V.c.list_id == L.c.id,
                                           V.c.version == L.c.current_version))
                        .where(L.c.name == name)).first()
    if now is not None and now.file_sha256 == digest and now.format == fmt:
        return ListLoad(name, now.title, fmt, now.current_version, unchanged=True,
                        entries=now.entry_count)  # the same file: not even read again
    entries = parse_list_file(data, fmt)
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.MANAGE_SCREENING_LISTS)
        lst = _lock_list(s, name, db.dialect)
        if lst is None:
            lst = ScreeningList(name=name, title=title or name, format=fmt, current_version=0,
                                entry_count=0, created_at=utcnow(), created_by=actor)
            s.add(lst)
            s.flush()
        elif lst.format != fmt:
            raise InvalidInput(REFUSED, [f"format: list {name} holds {lst.format} files; load "
                                         f"this one as {lst.format}, or into another list"])
        elif title and title != lst.title:
            # hits show the title as their list, and a decision's hash reads it: a new title
            # would re-open every decision taken on the list's hits
            raise InvalidInput(REFUSED, [f"title: list {name} is titled {lst.title!r} since "
                                         "its first load; hits show that title and their "
                                         "decisions are tied to it, so it stays (leave the "
                                         "title empty, or load into a new list)"])
        current = s.scalars(select(ScreeningListVersion).where(
            ScreeningListVersion.list_id == lst.id,
            ScreeningListVersion.version == lst.current_version)).first()
        if current is not None and current.file_sha256 == digest:
            return ListLoad(name, lst.title, fmt, lst.current_version, unchanged=True,
                            entries=lst.entry_count)
        version = lst.current_version + 1
        ids = _write_entries(s, lst.id, version, entries)
        counts = {k: len(ids[k]) for k in KINDS}
        lst.current_version, lst.entry_count = version, len(entries)
        s.add(ScreeningListVersion(
            list_id=lst.id, version=version, loaded_at=utcnow(), loaded_by=actor,
            file_name=file_name, file_sha256=digest, entries=len(entries), **counts,
            changes={k: ids[k][:MAX_CHANGES_KEPT] for k in KINDS}))
        queued = enqueue_rescreen_all(s, "list_reload") if any(counts.values()) else 0
        audit.record(s, case_id=None, actor=actor, kind="screening.list_loaded",
                     after={"list": name, "title": lst.title, "format": fmt,
                            "version": version, "file_name": file_name,
                            "file_sha256": digest, "entries": len(entries), **counts,
                            "entry_ids": {k: ids[k][:MAX_CHANGES_AUDITED] for k in KINDS
                                          if ids[k]},
                            "cases_queued": queued})
        return ListLoad(name, lst.title, fmt, version, entries=len(entries), queued=queued,
                        changes={k: ids[k][:MAX_CHANGES_KEPT] for k in KINDS}, **counts)


# --- reads --------------------------------------------------------------------------------------

def lists(db: Database) -> list[ListInfo]:
    """Every list, by name, with its current version and who loaded it when."""
    stmt = (select(L, V.c.loaded_at, V.c.loaded_by)
            .outerjoin(V, and_(V.c.list_id == L.c.id, V.c.version == L.c.current_version))
            .order_by(L.c.name))
    with db.read() as s:
        return [ListInfo(r.name, r.title, r.format, r.current_version, r.entry_count,
                         r.loaded_at, r.loaded_by, r.created_at, r.created_by)
                for r in s.execute(stmt)]


def versions(db: Database, name: str) -> list[VersionInfo]:
    """A list's versions, newest first; NotFound for a list that does not exist."""
    with db.read() as s:
        list_id = s.scalar(select(L.c.id).where(L.c.name == name))
        if list_id is None:
            raise NotFound(f"no screening list named {str(name)[:50]!r}")
        rows = s.execute(select(V).where(V.c.list_id == list_id).order_by(V.c.version.desc()))
        return [VersionInfo(r.version, r.loaded_at, r.loaded_by, r.file_name, r.file_sha256,
                            r.entries, r.added, r.changed, r.removed, dict(r.changes or {}))
                for r in rows]


def iter_current_entries(db: Database, batch: int = 10000) -> Iterator[dict[str, Any]]:
    """Every current entry (not removed) of every list, list by list, in id order: {id,
    list_name, dataset (the list's title), entry_id, schema, name, aliases, birth_dates,
    countries, programme, url}. One SELECT read in batches of `batch` rows (a server-side
    cursor on PostgreSQL), so the entries are those of one moment even while a list loads."""
    stmt = (select(E.c.id, L.c.name.label("list_name"), L.c.title.label("dataset"),
                   E.c.entry_id, E.c.schema, E.c.name, E.c.aliases, E.c.birth_dates,
                   E.c.countries, E.c.programme, E.c.url)
            .join(L, L.c.id == E.c.list_id)
            .where(E.c.removed_version.is_(None))
            .order_by(E.c.list_id, E.c.id))
    with db.read_engine.connect() as conn:
        with conn.begin():
            result = conn.execution_options(stream_results=True, yield_per=max(1, batch)) \
                .execute(stmt)
            for row in result:
                yield dict(row._mapping)


def lists_fingerprint(db: Database) -> tuple[tuple[str, int], ...]:
    """(name, current version) of every list, by name: it changes with every load that
    writes a version, so the screener rebuilds its index only then."""
    with db.read() as s:
        return tuple((r.name, r.current_version) for r in
                     s.execute(select(L.c.name, L.c.current_version).order_by(L.c.name)))


__all__ = ["FORMATS", "ListInfo", "ListLoad", "VersionInfo", "iter_current_entries",
           "lists", "lists_fingerprint", "load_list", "versions"]
