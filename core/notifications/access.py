"""Who may manage integrations: one check shared by endpoints, settings, templates, replays.

Integrations are an admin power (core.roles Permission.MANAGE_INTEGRATIONS), enforced here in
core, not only by hiding pages. As in core.users, the actor "system" is the shell operator
(the CLI), who has the database in hand anyway.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from core.roles import Permission, require

SYSTEM_ACTOR = "system"


def require_integrations_admin(session: Session, actor: str) -> None:
    if actor == SYSTEM_ACTOR:
        return
    from core.case_actions import active_user  # late: case_actions imports core.outbox
    user = active_user(session, actor)
    require(user.username, user.role, Permission.MANAGE_INTEGRATIONS)
