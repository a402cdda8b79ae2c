"""The access log: who looked at a case, downloaded its documents, exported it, searched the
list — recorded as audit events (core/store/audit.py, so they are in the audit chain) and read
back for team leads and admins as "Who looked at this case" (docs/RECORDS.md, "Access log").

Kinds: `case.viewed` (at most once per user, case and `THROTTLE`: the dashboard re-runs its
script on every click, the API may be polled), `document.downloaded` (every download of a file
version, with its SHA-256), `case.exported` (one case's file handed out: recorded by the case
file export through `case_exported`), `search.performed` (the case list's search, once per
user and query per `THROTTLE`; the query is kept only as a keyed hash). A list's CSV export is
`cases.exported`, recorded where its download link is used (core/worklist/export_links.py).

The throttles look at the newest `LOOK_BACK` events of the case (index `ix_audit_case`) or of
the kind (`ix_audit_kind`) in the transaction that records, so their cost does not grow with
the log; past that many events in 15 minutes a repeat may be recorded again, never lost.

A search query is stored as HMAC-SHA256 under a key derived from the install's secret (the
sign-in cookie key: DOCKET_COOKIE_KEY or `.streamlit/secrets.toml`, read by
core/access/auth_settings.py — never from Streamlit), plus the key's id: a name typed in the
search box is not in the database, and whoever holds the key can answer "was X searched"
(`was_searched`). Without an install secret the event is recorded without a hash.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.access.actors import SYSTEM_ACTOR, require_permission
from core.access.auth_settings import existing_cookie_key
from core.access.roles import Permission
from core.cases import review_log
from core.errors import InvalidInput, NotFound
from core.store import audit
from core.store.audit_values import opened
from core.store.db import Database
from core.store.models import AuditEvent, Case, Document, DocumentFile, User, utcnow

VIEWED = "case.viewed"
DOWNLOADED = "document.downloaded"
EXPORTED = "case.exported"          # one case's file (core/records/case_file*.py)
SEARCHED = "search.performed"       # no case: the case list's search
LIST_EXPORTED = "cases.exported"    # a case list's CSV (core/worklist/export_links.py)
ACCESS_KINDS = review_log.ACCESS_KINDS  # kept out of the case history there
assert ACCESS_KINDS == {VIEWED, DOWNLOADED, EXPORTED, SEARCHED}

THROTTLE = timedelta(minutes=15)
LOOK_BACK = 1000          # newest events the throttles look at
SHOWN = 200               # rows of each list in "Who looked at this case"
# Leads and admins: the people who oversee the team's work (the Workload page) read the log.
READ_PERMISSION = Permission.READ_ACCESS_LOG
PROFILES = ("examiner", "subject-access")
MAX_RECIPIENT = 200
_SHA256 = re.compile(r"[0-9a-f]{64}")
_KEY_CONTEXT = b"docket.access-log.search-hash.v1"


# --- the search key ---------------------------------------------------------------------------

def search_key() -> bytes | None:
    """The key of the search hashes, derived from the install's secret (the sign-in cookie
    key); None while the install has none yet. Changing the cookie key changes this key: old
    entries then answer only to the old key (each entry names its key's id)."""
    secret = existing_cookie_key()
    if not secret:
        return None
    return hmac.new(secret.encode("utf-8"), _KEY_CONTEXT, hashlib.sha256).digest()


def key_id(key: bytes) -> str:
    """Names a search key without revealing it."""
    return hmac.new(key, b"key-id", hashlib.sha256).hexdigest()[:16]


def normal_query(query: str) -> str:
    """The query as searched: spaces collapsed, case folded ("  ACME  Ltd" = "acme ltd")."""
    return " ".join(str(query).split()).casefold()


def query_hash(query: str, key: bytes) -> str:
    return hmac.new(key, normal_query(query).encode("utf-8"), hashlib.sha256).hexdigest()


# --- recording --------------------------------------------------------------------------------

def _at(now: datetime | None) -> datetime:
    return now if now is not None else utcnow()


def _seen_lately(s: Session, newest: Select, *, kind: str, actor: str, since: datetime,
                 query_hash_: str | None = None) -> bool:
    """Whether `newest` (a query of the newest event ids) holds a `kind` event by `actor`
    after `since` (for a search: of the same query hash). Only a search's `after` is read:
    a search has no case, so its values are in clear (a case event's are sealed)."""
    stmt = (select(AuditEvent.after).where(AuditEvent.id.in_(newest), AuditEvent.kind == kind,
                                           AuditEvent.actor == actor, AuditEvent.at > since))
    for after in s.scalars(stmt):
        if kind != SEARCHED or (after or {}).get("query_hash") == query_hash_:
            return True
    return False


def case_viewed(db: Database, case_id: str, *, actor: str, now: datetime | None = None) -> bool:
    """Records that `actor` opened the case, unless they did in the last `THROTTLE` (as of
    `now`, default the present). True if an event was recorded. NotFound for no such case;
    NotAllowed for a user who may not read (a disabled one)."""
    since = _at(now) - THROTTLE
    newest = (select(AuditEvent.id).where(AuditEvent.case_id == case_id)
              .order_by(AuditEvent.id.desc()).limit(LOOK_BACK))
    with db.read() as s:  # a repeat (the usual case) takes no write lock
        if _seen_lately(s, newest, kind=VIEWED, actor=actor, since=since):
            return False
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.READ)
        if s.get(Case, case_id) is None:
            raise NotFound(f"case {case_id!r} not found")
        if _seen_lately(s, newest, kind=VIEWED, actor=actor, since=since):
            return False
        audit.record(s, case_id=case_id, actor=actor, kind="case.viewed", after={})
    return True


def document_downloaded(db: Database, file_id: int, *, actor: str) -> dict[str, Any]:
    """Records that `actor` fetched one file version (every download: no throttle), with the
    file's SHA-256. Returns the event's `after`. NotFound, NotAllowed as `case_viewed`."""
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.READ)
        row = s.execute(select(Document.case_id, Document.id, DocumentFile.version,
                               DocumentFile.filename, DocumentFile.blob_sha256)
                        .join(Document, Document.id == DocumentFile.document_id)
                        .where(DocumentFile.id == file_id)).first()
        if row is None:
            raise NotFound(f"document file {file_id!r} not found")
        after = {"block": f"document:{row.id}", "document_id": row.id, "file_id": file_id,
                 "version": row.version, "filename": row.filename, "sha256": row.blob_sha256}
        audit.record(s, case_id=row.case_id, actor=actor, kind="document.downloaded",
                     after=after)
    return after


def case_exported(session: Session, *, case_id: str, actor: str, profile: str,
                  manifest_sha256: str, recipient: str) -> None:
    """Records one case's file handed out (the examiner's case file), in the caller's
    transaction: its profile, its manifest's SHA-256 and to whom. The caller checks the role."""
    if profile not in PROFILES:
        raise InvalidInput(f"profile must be one of {', '.join(PROFILES)}")
    if not isinstance(manifest_sha256, str) or not _SHA256.fullmatch(manifest_sha256):
        raise InvalidInput("manifest_sha256 must be 64 lowercase hex digits")
    recipient = " ".join(str(recipient or "").split())
    if not recipient or len(recipient) > MAX_RECIPIENT:
        raise InvalidInput(f"name the recipient (up to {MAX_RECIPIENT} characters)")
    audit.record(session, case_id=case_id, actor=actor, kind="case.exported",
                 after={"profile": profile, "manifest_sha256": manifest_sha256,
                        "recipient": recipient})


def search_performed(db: Database, query: str, *, actor: str, key: bytes | None,
                     where: str = "case list", now: datetime | None = None) -> bool:
    """Records that `actor` searched for `query` (kept as HMAC-SHA256 under `key`, see
    `search_key`), unless they searched the same in the last `THROTTLE`. An empty query is no
    search. True if an event was recorded."""
    if not normal_query(query):
        return False
    digest = query_hash(query, key) if key else None
    since = _at(now) - THROTTLE
    newest = (select(AuditEvent.id).where(AuditEvent.kind == SEARCHED)
              .order_by(AuditEvent.id.desc()).limit(LOOK_BACK))
    with db.read() as s:  # a repeat (the next page, a rerun) takes no write lock
        if _seen_lately(s, newest, kind=SEARCHED, actor=actor, since=since,
                        query_hash_=digest):
            return False
    with db.unit_of_work() as s:
        require_permission(s, actor, Permission.READ)
        if _seen_lately(s, newest, kind=SEARCHED, actor=actor, since=since,
                        query_hash_=digest):
            return False
        audit.record(s, case_id=None, actor=actor, kind="search.performed",
                     after={"query_hash": digest, "key_id": key_id(key) if key else None,
                            "where": where[:40]})
    return True


# --- reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Viewer:
    username: str
    name: str
    last_viewed: datetime
    times: int


@dataclass(frozen=True)
class AccessEntry:
    at: datetime
    username: str
    name: str
    kind: str                  # document.downloaded | case.exported
    after: dict[str, Any]
    via: str | None


@dataclass(frozen=True)
class CaseAccessLog:
    viewers: list[Viewer]      # latest view first; at most SHOWN
    entries: list[AccessEntry]  # downloads and exports, newest first; at most SHOWN


@dataclass(frozen=True)
class SearchSeen:
    at: datetime
    username: str
    where: str
    via: str | None


def _names(s: Session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    return {u: n for u, n in s.execute(select(User.username, User.name)
                                        .where(User.username.in_(usernames)))}


def case_access_log(db: Database, case_id: str, *, viewer: str,
                    limit: int = SHOWN) -> CaseAccessLog:
    """Who viewed the case (name, last time, how many times), its downloads and exports:
    for team leads and admins only (NotAllowed for anyone else)."""
    with db.read() as s:
        require_permission(s, viewer, READ_PERMISSION)
        if s.get(Case, case_id) is None:
            raise NotFound(f"case {case_id!r} not found")
        last = func.max(AuditEvent.at)
        views = s.execute(select(AuditEvent.actor, last, func.count())
                          .where(AuditEvent.case_id == case_id, AuditEvent.kind == VIEWED)
                          .group_by(AuditEvent.actor).order_by(last.desc()).limit(limit)).all()
        events = opened(s, list(s.scalars(select(AuditEvent)
                                          .where(AuditEvent.case_id == case_id,
                                                 AuditEvent.kind.in_((DOWNLOADED, EXPORTED)))
                                          .order_by(AuditEvent.id.desc()).limit(limit))))
        names = _names(s, {v[0] for v in views} | {e.actor for e in events})
    return CaseAccessLog(
        [Viewer(actor, names.get(actor, actor), at, n) for actor, at, n in views],
        [AccessEntry(e.at, e.actor, names.get(e.actor, e.actor), e.kind, dict(e.after or {}),
                     e.via) for e in events])


def was_searched(db: Database, query: str, *, key: bytes, actor: str = SYSTEM_ACTOR,
                 since: datetime | None = None, limit: int = 500) -> list[SearchSeen]:
    """Who searched for `query` (as `normal_query` makes it; the whole query, not a part of
    it) and when, newest first — answerable only with the key the entries were hashed under.
    For team leads, admins and the shell operator."""
    digest = query_hash(query, key)
    stmt = (select(AuditEvent.at, AuditEvent.actor, AuditEvent.after, AuditEvent.via)
            .where(AuditEvent.kind == SEARCHED,
                   AuditEvent.after["query_hash"].as_string() == digest)
            .order_by(AuditEvent.id.desc()).limit(limit))
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    with db.read() as s:
        require_permission(s, actor, READ_PERMISSION)
        rows = s.execute(stmt).all()
    return [SearchSeen(at, who, str((after or {}).get("where") or ""), via)
            for at, who, after, via in rows]
