"""Who is acting: the user re-read inside the command's own transaction, and the permission
check every command shares. The actor "system" is the shell operator (the CLI, the worker),
who has the database in hand anyway."""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.access.roles import Permission, require
from core.errors import NotAllowed
from core.store.models import User

SYSTEM_ACTOR = "system"


def active_user(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None or user.disabled:
        raise NotAllowed(f"user {username!r} does not exist or is disabled")
    return user


def require_permission(session: Session, actor: str, permission: Permission) -> None:
    """Refuses (NotAllowed) unless the actor is the system or an active user whose role has
    the permission."""
    if actor == SYSTEM_ACTOR:
        return
    user = active_user(session, actor)
    require(user.username, user.role, permission)


def require_integrations_admin(session: Session, actor: str) -> None:
    """Integrations (webhook endpoints, SMTP/SMS/CRM settings, templates, replays) are an
    admin power, checked here in core and not only by hiding pages."""
    require_permission(session, actor, Permission.MANAGE_INTEGRATIONS)
