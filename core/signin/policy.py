"""The sign-in settings in effect (stored on the Settings page, else the environment, else
the default), read at every check so a change applies at once in every app process."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from core import settings_store
from core.access.roles import Role
from core.store.db import Database

KEYS = ("signin.idle_minutes", "signin.lifetime_hours", "signin.mfa_required", "sso.only",
        "sso.break_glass_admin", "sso.allowed_domains", "sso.default_role", "sso.groups_claim",
        "sso.group_roles")


@dataclass(frozen=True)
class SignInPolicy:
    idle_timeout: timedelta
    lifetime: timedelta
    mfa_required: str            # admins_and_leads | everyone | off
    sso_only: bool
    break_glass_admin: str
    allowed_domains: tuple[str, ...]
    default_role: str
    groups_claim: str
    group_roles: dict[str, str]

    def needs_second_factor(self, role: str, *, is_demo_in_demo_mode: bool) -> bool:
        """Whether a password sign-in of this role must add a code. Demo accounts in demo
        mode never do: their passwords are public on the sign-in page anyway."""
        if is_demo_in_demo_mode or self.mfa_required == "off":
            return False
        if self.mfa_required == "everyone":
            return True
        return role in (Role.ADMIN.value, Role.LEAD.value)


def read_policy(source: Session | Database) -> SignInPolicy:
    if isinstance(source, Database):
        with source.read() as s:
            return read_policy(s)
    v = {k: text.strip() for k, text in settings_store.effective_values(source, KEYS).items()}
    mfa = v["signin.mfa_required"]
    if mfa not in settings_store.MFA_REQUIRED_CHOICES:
        mfa = "everyone"  # an unreadable value errs on the safe side
    role = v["sso.default_role"] if v["sso.default_role"] in settings_store.ROLES else "analyst"
    return SignInPolicy(
        idle_timeout=timedelta(minutes=settings_store.decimal_number(
            "signin.idle_minutes", v["signin.idle_minutes"], 0.05, 1440, "minutes")),
        lifetime=timedelta(hours=settings_store.decimal_number(
            "signin.lifetime_hours", v["signin.lifetime_hours"], 0.01, 720, "hours")),
        mfa_required=mfa,
        sso_only=v["sso.only"] == "on",
        break_glass_admin=v["sso.break_glass_admin"].lower(),
        allowed_domains=tuple(settings_store.parse_domains(v["sso.allowed_domains"])),
        default_role=role,
        groups_claim=v["sso.groups_claim"],
        group_roles=settings_store.parse_group_roles(v["sso.group_roles"]),
    )
