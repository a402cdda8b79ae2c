"""Signed inbound callbacks from KYC and registry vendors (`POST /api/v1/hooks/{source}`).

A hook source is a vendor that calls back. An admin makes it with a mapping (which case event
a payload means, `core.intake.hook_mapping`) and the user its events are reported as; Docket
makes its Standard Webhooks secret (`whsec_...`), shown once. `receive` verifies a callback
with the `standardwebhooks` library against every active secret of the source (which also
refuses a `webhook-timestamp` more than 5 minutes from now, either way), then records its
`webhook-id` and applies the mapped event through `report_event` in one transaction: a replay
of a recorded webhook-id is answered with the stored outcome and changes nothing.
docs/API.md ("Vendor callbacks") documents it.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from standardwebhooks import Webhook, WebhookVerificationError

from core.access.actors import (
    SYSTEM_ACTOR,
    active_user,
    require_integrations_admin,
    require_permission,
)
from core.access.roles import Permission
from core.errors import DocketError, InvalidInput, NotAllowed, NotFound, Unauthenticated
from core.intake.events import report_event
from core.intake.hook_mapping import SCREENING, plan, validate_mapping
from core.notifications.signing import new_secret
from core.store import audit
from core.store.db import Database
from core.store.models import HookMessage, HookSource, utcnow

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,63}$")
MAX_SECRETS = 3             # the newest and up to two before it, while the vendor switches
MAX_BODY_BYTES = 1_048_576  # 1 MiB: a larger callback is refused before it is read whole
MAX_MESSAGE_ID_CHARS = 200
MAX_DETAIL_CHARS = 2000
TIMESTAMP_TOLERANCE_MINUTES = 5  # fixed by the standardwebhooks library, both ways
NOT_VERIFIED = ("the callback could not be verified: an unknown or disabled source, a bad "
                "signature, or a webhook-timestamp more than 5 minutes from now")
_DECOY_SECRET = new_secret()  # an unknown source costs the same work as a known one
NO_SCREENING = "screening callbacks are not taken here (no screening handler was given)"

# Records a screening a mapping planned: (db, case id, {"subject", "hits"}, source=the hook
# source's name, actor=its user). The API hands over core.screening.hits'
# record_hooked_screening: intake and screening stand side by side, neither imports the other.
ScreeningHandler = Callable[..., None]


@dataclass(frozen=True)
class HookSourceInfo:
    id: int
    name: str
    acting_user: str
    enabled: bool
    active_secrets: int
    mapping: dict[str, Any]
    created_by: str
    created_at: datetime
    applied: int = 0
    ignored: int = 0
    refused: int = 0
    last_received_at: datetime | None = None


@dataclass(frozen=True)
class CreatedSource:
    info: HookSourceInfo
    secret: str  # shown once


@dataclass(frozen=True)
class HookOutcome:
    """What came of a callback: applied, ignored (no rule matched) or refused (by core; the
    refusal is raised after it is recorded). `duplicate`: a replay, answered from the record."""
    outcome: str
    case_id: str | None
    event: str | None
    detail: str
    duplicate: bool = False


def _info(source: HookSource, counts: dict[str, int] | None = None,
          last: datetime | None = None) -> HookSourceInfo:
    counts = counts or {}
    return HookSourceInfo(source.id, source.name, source.acting_user, source.enabled,
                          len(source.secrets or ()), dict(source.mapping or {}),
                          source.created_by, source.created_at, counts.get("applied", 0),
                          counts.get("ignored", 0), counts.get("refused", 0), last)


def _load(s: Session, name: str) -> HookSource:
    source = s.scalar(select(HookSource).where(HookSource.name == (name or "").strip().lower()))
    if source is None:
        raise NotFound(f"no hook source named {name!r}")
    return source


def _reporting_user(s: Session, username: str) -> str:
    user = active_user(s, (username or "").strip().lower())
    try:
        require_permission(s, user.username, Permission.IMPORT_CASES)
    except NotAllowed as e:
        raise InvalidInput(f"a hook source reports events as its user, who must be allowed to "
                           f"import cases: {e}") from None
    return user.username


# --- managing sources (admin) --------------------------------------------------------------

def create_source(db: Database, name: str, *, mapping: Any, acting_user: str,
                  actor: str = SYSTEM_ACTOR) -> CreatedSource:
    """A new source (admin only). The returned secret is shown once: give it to the vendor."""
    name = (name or "").strip().lower()
    if not SOURCE_NAME.match(name):
        raise InvalidInput("a hook source name is 2 to 64 characters: a-z, 0-9, '_', '.', '-'")
    mapping = validate_mapping(mapping)
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        user = _reporting_user(s, acting_user)
        if s.scalar(select(HookSource.id).where(HookSource.name == name)) is not None:
            raise InvalidInput(f"a hook source named {name!r} already exists")
        secret = new_secret()
        source = HookSource(name=name, secrets=[secret], mapping=mapping, acting_user=user,
                            enabled=True, created_by=actor, created_at=utcnow())
        s.add(source)
        s.flush()
        audit.record(s, case_id=None, actor=actor, kind="hook_source.created",
                     after={"source": name, "acting_user": user, "rules": len(mapping["rules"])})
        return CreatedSource(_info(source), secret)


def list_sources(db: Database) -> list[HookSourceInfo]:
    """Every source (never its secrets) with how many callbacks came of each outcome."""
    with db.read() as s:
        counts: dict[int, dict[str, int]] = {}
        last: dict[int, datetime] = {}
        rows = s.execute(select(HookMessage.source_id, HookMessage.outcome, func.count(),
                                func.max(HookMessage.received_at))
                         .group_by(HookMessage.source_id, HookMessage.outcome))
        for source_id, outcome, n, at in rows:
            counts.setdefault(source_id, {})[outcome] = n
            last[source_id] = max(at, last.get(source_id, at))
        return [_info(h, counts.get(h.id), last.get(h.id))
                for h in s.scalars(select(HookSource).order_by(HookSource.name))]


def rotate_source_secret(db: Database, name: str, *, actor: str = SYSTEM_ACTOR) -> str:
    """A new secret (returned once); the previous ones still verify until
    `drop_old_secrets`, so the vendor can switch without a callback being refused."""
    new = new_secret()
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        source = _load(s, name)
        source.secrets = [new, *(source.secrets or [])][:MAX_SECRETS]
        audit.record(s, case_id=None, actor=actor, kind="hook_source.secret_rotated",
                     after={"source": source.name, "active_secrets": len(source.secrets)})
    return new


def drop_old_secrets(db: Database, name: str, *, actor: str = SYSTEM_ACTOR) -> None:
    """Only the newest secret verifies from now on."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        source = _load(s, name)
        source.secrets = list(source.secrets or [])[:1]
        audit.record(s, case_id=None, actor=actor, kind="hook_source.old_secrets_dropped",
                     after={"source": source.name})


def set_source_enabled(db: Database, name: str, enabled: bool, *,
                       actor: str = SYSTEM_ACTOR) -> None:
    """A disabled source's callbacks are refused like an unknown source's."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        source = _load(s, name)
        if source.enabled != enabled:
            source.enabled = enabled
            audit.record(s, case_id=None, actor=actor,
                         kind=f"hook_source.{'enabled' if enabled else 'disabled'}",
                         after={"source": source.name})


def set_source_mapping(db: Database, name: str, mapping: Any, *,
                       actor: str = SYSTEM_ACTOR) -> None:
    """A new mapping, checked whole; the secret stays."""
    mapping = validate_mapping(mapping)
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        source = _load(s, name)
        before, source.mapping = source.mapping, mapping
        audit.record(s, case_id=None, actor=actor, kind="hook_source.mapping_changed",
                     before={"source": source.name, "mapping": before},
                     after={"source": source.name, "mapping": mapping})


# --- receiving a callback ------------------------------------------------------------------

def _verified(secrets: list[str], headers: dict[str, str], text: str) -> bool:
    verified = False
    for secret in secrets:
        try:
            Webhook(secret).verify(text, headers, json_parse=False)
            verified = True
        except (WebhookVerificationError, ValueError):  # ValueError: a malformed signature
            continue
    return verified


def _verified_source(db: Database, name: str, headers: dict[str, str], text: str) -> HookSource:
    source = None
    if SOURCE_NAME.match(name):  # anything else names no source (and may not reach SQL)
        with db.read() as s:
            source = s.scalar(select(HookSource).where(HookSource.name == name))
    usable = source is not None and source.enabled and bool(source.secrets)
    secrets = list(source.secrets) if usable else [_DECOY_SECRET]
    if not (_verified(secrets, headers, text) and usable):
        raise Unauthenticated(NOT_VERIFIED)
    return source


def _payload(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError) as exc:
        reason = f"{exc.msg} at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) \
            else "nested too deeply"
        raise InvalidInput(f"the callback's body is not JSON: {reason}") from None
    if not isinstance(payload, dict):
        raise InvalidInput("the callback's body must be a JSON object")
    return payload


class _OneTransaction:
    """The database as `report_event` sees it inside `receive`'s unit of work: its unit of
    work is a savepoint of that one. The callback's record and its event commit together (a
    crash leaves neither), and a refused event rolls back to the savepoint while the refusal
    itself is recorded."""

    def __init__(self, db: Database, session: Session):
        self._db, self._session = db, session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        with self._session.begin_nested():
            yield self._session


def _stored(s: Session, source_id: int, message_id: str) -> HookOutcome | None:
    m = s.scalar(select(HookMessage).where(HookMessage.source_id == source_id,
                                           HookMessage.message_id == message_id))
    return None if m is None else HookOutcome(m.outcome, m.case_id, m.event, m.detail,
                                              duplicate=True)


def _apply(db: Database, planned, source: HookSource,
           screening: ScreeningHandler | None) -> None:
    if planned.event != SCREENING:
        report_event(db, planned.case_id, planned.event, reporter=source.acting_user,
                     **planned.params)
    elif screening is None:
        raise InvalidInput(NO_SCREENING)
    else:
        screening(db, planned.case_id, planned.params, source=source.name,
                  actor=source.acting_user)


def receive(db: Database, source_name: str, headers: Mapping[str, str],
            body: bytes, *, screening: ScreeningHandler | None = None) -> HookOutcome:
    """One callback. Unauthenticated (saying no more) unless a secret of the enabled source
    verifies it; InvalidInput if its body is not a JSON object. A recorded webhook-id answers
    its stored outcome. Otherwise the mapped event is reported as the source's user (audited
    via "hook NAME") and the callback recorded with it: applied, ignored (no rule matched), or
    refused, in which case core's refusal is raised once it is recorded. A screening rule's
    hits go to `screening` (see ScreeningHandler), with the source's name as their source."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInput(f"the callback is {len(body):,} bytes; at most {MAX_BODY_BYTES:,}")
    headers = {k.lower(): v for k, v in headers.items()}
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the callback's body is not UTF-8 JSON") from None
    source = _verified_source(db, (source_name or "").strip().lower(), headers, text)
    message_id = headers["webhook-id"]
    if len(message_id) > MAX_MESSAGE_ID_CHARS or not message_id.isprintable():
        raise InvalidInput(f"a webhook-id is at most {MAX_MESSAGE_ID_CHARS} printable characters")
    planned = plan(source.mapping, _payload(text))
    refusal: DocketError | None = planned.unfit
    try:
        with audit.through(f"hook {source.name}"), db.unit_of_work() as s:
            stored = _stored(s, source.id, message_id)
            if stored is not None:
                return stored
            record = HookMessage(source_id=source.id, message_id=message_id,
                                 received_at=utcnow(), case_id=planned.case_id,
                                 event=planned.event, outcome="ignored", detail="no rule matched")
            s.add(record)
            s.flush()  # the unique (source, webhook-id) is taken before the event is applied
            if planned.event is not None and refusal is None:
                try:
                    _apply(_OneTransaction(db, s), planned, source, screening)
                    record.outcome, record.detail = "applied", f"rule {planned.rule + 1}"
                except DocketError as refused:
                    refusal = refused
            if refusal is not None:
                record.outcome, record.detail = "refused", str(refusal)[:MAX_DETAIL_CHARS]
            outcome = HookOutcome(record.outcome, record.case_id, record.event, record.detail)
    except IntegrityError:  # the same webhook-id, recorded meanwhile by a concurrent call
        with db.read() as s:
            stored = _stored(s, source.id, message_id)
        if stored is None:
            raise
        return stored
    if refusal is not None:
        raise refusal
    return outcome
