"""Webhook endpoints: where signed webhooks go, for which workflow and event types.

An endpoint's `whsec_` secret is shown once, when it is created or rotated; afterwards it is
only used for signing. During a rotation the previous secret keeps signing too (several
`v1,` signatures) until `drop_previous_secrets`. All changes are admin-only and audited
(without the secret). An endpoint is disabled by an admin, by a 410 Gone answer, or after
failing continuously for DOCKET_ENDPOINT_DISABLE_AFTER_DAYS; `disabled_reason` says which.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.access.actors import require_integrations_admin
from core.errors import InvalidInput, NotFound
from core.notifications import safe_http, signing
from core.notifications.event_types import EVENT_TYPES
from core.notifications.settle import fail_pending_for_endpoint
from core.store import audit
from core.store.db import Database
from core.store.models import Delivery, WebhookEndpoint, Workflow, utcnow

MAX_SECRETS = 3


@dataclass(frozen=True)
class EndpointInfo:
    id: int
    url: str
    description: str
    workflow: str | None
    event_types: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    failing_since: datetime | None
    created_at: datetime
    created_by: str
    active_secrets: int


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: EndpointInfo
    secret: str  # shown once; not retrievable later

    def __repr__(self) -> str:
        return f"CreatedEndpoint(endpoint={self.endpoint!r}, secret='***')"


def _info(e: WebhookEndpoint) -> EndpointInfo:
    return EndpointInfo(e.id, e.url, e.description or "", e.workflow, tuple(e.event_types or ()),
                        bool(e.enabled), e.disabled_reason, e.failing_since, e.created_at,
                        e.created_by, len(e.secrets or ()))


def _check_url(url: str, db: "Database | Session | None" = None) -> str:
    url = (url or "").strip()
    safe_http.check_url_syntax(url)
    try:
        safe_http.check_url(url, db=db)
    except safe_http.TransportError:
        pass  # DNS may be down now; every delivery checks again
    return url


def _check_filters(session: Session, workflow: str | None, event_types) -> tuple[str | None, list[str]]:
    if workflow in ("", "all", "*"):
        workflow = None
    if workflow is not None and session.get(Workflow, workflow) is None:
        raise InvalidInput(f"no workflow named {workflow!r}")
    types = sorted(set(event_types or ()))
    unknown = [t for t in types if t not in EVENT_TYPES.values()]
    if unknown:
        raise InvalidInput(f"unknown event type(s) {', '.join(unknown)}; known: "
                           f"{', '.join(EVENT_TYPES.values())}")
    return workflow, types


def create_endpoint(db: Database, url: str, *, actor: str, workflow: str | None = None,
                    event_types: list[str] | tuple[str, ...] = (), description: str = "",
                    secret: str | None = None) -> CreatedEndpoint:
    """Add an endpoint (admin). Returns its secret once. Empty `event_types`: every event;
    `workflow` None: every workflow. `secret` lets you bring your own whsec_ secret."""
    url = _check_url(url, db)
    if secret is not None:
        signing.secret_bytes(secret)
    secret = secret or signing.new_secret()
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        workflow, types = _check_filters(s, workflow, event_types)
        e = WebhookEndpoint(url=url, description=(description or "")[:200], workflow=workflow,
                            event_types=types, secrets=[secret], enabled=True,
                            created_at=utcnow(), created_by=actor)
        s.add(e)
        s.flush()
        audit.record(s, case_id=None, actor=actor, kind="endpoint.created",
                     after={"endpoint": e.id, "url": url, "workflow": workflow,
                            "event_types": types})
        return CreatedEndpoint(_info(e), secret)


def list_endpoints(db: Database) -> list[EndpointInfo]:
    with db.read() as s:
        return [_info(e) for e in s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


def get_endpoint(db: Database, endpoint_id: int) -> EndpointInfo:
    with db.read() as s:
        e = s.get(WebhookEndpoint, int(endpoint_id))
        if e is None:
            raise NotFound(f"webhook endpoint {endpoint_id} not found")
        return _info(e)


def _load(s: Session, endpoint_id: int) -> WebhookEndpoint:
    e = s.get(WebhookEndpoint, int(endpoint_id))
    if e is None:
        raise NotFound(f"webhook endpoint {endpoint_id} not found")
    return e


_UNCHANGED = object()


def update_endpoint(db: Database, endpoint_id: int, *, actor: str, url: str | None = None,
                    workflow=_UNCHANGED, event_types=None, description: str | None = None) -> EndpointInfo:
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        e = _load(s, endpoint_id)
        before = {"url": e.url, "workflow": e.workflow, "event_types": list(e.event_types or [])}
        if url is not None:
            e.url = _check_url(url, s)
        wf, types = _check_filters(s, e.workflow if workflow is _UNCHANGED else workflow,
                                   e.event_types if event_types is None else event_types)
        e.workflow, e.event_types = wf, types
        if description is not None:
            e.description = description[:200]
        audit.record(s, case_id=None, actor=actor, kind="endpoint.updated", before=before,
                     after={"url": e.url, "workflow": e.workflow, "event_types": e.event_types})
        return _info(e)


def set_endpoint_enabled(db: Database, endpoint_id: int, enabled: bool, *, actor: str,
                         reason: str | None = None) -> EndpointInfo:
    """Disable (with a reason) or re-enable an endpoint (admin). Re-enabling clears the
    failure flag; failed deliveries can then be replayed."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        e = _load(s, endpoint_id)
        e.enabled = bool(enabled)
        e.disabled_reason = None if enabled else (reason or f"disabled by {actor}")
        e.failing_since = None if enabled else e.failing_since
        audit.record(s, case_id=None, actor=actor,
                     kind="endpoint.enabled" if enabled else "endpoint.disabled",
                     after={"endpoint": e.id, "reason": e.disabled_reason})
        info = _info(e)
    if not enabled:
        fail_pending_for_endpoint(db, int(endpoint_id), e.disabled_reason or "endpoint disabled")
    return info


def disable_endpoint(db: Database, endpoint_id: int, *, actor: str, reason: str | None = None) -> EndpointInfo:
    return set_endpoint_enabled(db, endpoint_id, False, actor=actor, reason=reason)


def enable_endpoint(db: Database, endpoint_id: int, *, actor: str) -> EndpointInfo:
    return set_endpoint_enabled(db, endpoint_id, True, actor=actor)


def rotate_secret(db: Database, endpoint_id: int, *, actor: str) -> str:
    """A new secret (returned once) signs from now on; the previous ones keep signing too
    until `drop_previous_secrets`, so receivers can switch without losing a webhook."""
    new = signing.new_secret()
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        e = _load(s, endpoint_id)
        e.secrets = [new, *(e.secrets or [])][:MAX_SECRETS]
        audit.record(s, case_id=None, actor=actor, kind="endpoint.secret_rotated",
                     after={"endpoint": e.id, "active_secrets": len(e.secrets)})
    return new


def drop_previous_secrets(db: Database, endpoint_id: int, *, actor: str) -> None:
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        e = _load(s, endpoint_id)
        e.secrets = list(e.secrets or [])[:1]
        audit.record(s, case_id=None, actor=actor, kind="endpoint.previous_secrets_dropped",
                     after={"endpoint": e.id})


def delete_endpoint(db: Database, endpoint_id: int, *, actor: str) -> None:
    """Only an endpoint that never had a delivery can be deleted; otherwise disable it (its
    delivery history stays)."""
    with db.unit_of_work() as s:
        require_integrations_admin(s, actor)
        e = _load(s, endpoint_id)
        used = s.scalar(select(func.count()).select_from(Delivery)
                        .where(Delivery.endpoint_id == e.id))
        if used:
            raise InvalidInput(f"endpoint {e.id} has {used} deliveries; disable it instead")
        s.delete(e)
        audit.record(s, case_id=None, actor=actor, kind="endpoint.deleted",
                     after={"endpoint": int(endpoint_id)})
