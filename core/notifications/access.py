"""Who may manage integrations: one check shared by endpoints, settings, templates, replays.

Integrations are an admin power (core.roles Permission.MANAGE_INTEGRATIONS), enforced here in
core, not only by hiding pages. As in core.users, the actor "system" is the shell operator
(the CLI), who has the database in hand anyway.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.actors import require_permission
from core.roles import Permission


def require_integrations_admin(session: Session, actor: str) -> None:
    require_permission(session, actor, Permission.MANAGE_INTEGRATIONS)
