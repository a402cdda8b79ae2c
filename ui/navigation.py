"""Which pages each role may open. A page missing from a role's list cannot be reached, by
URL either: `st.navigation` only knows the pages it is given."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from core import config
from core.roles import Role

ALL_ROLES = frozenset(Role)


@dataclass(frozen=True)
class PageSpec:
    path: str            # relative to the project root
    title: str
    icon: str
    roles: frozenset[Role]
    default: bool = False


PAGES = (
    PageSpec("pages/cases.py", "Cases", ":material/folder_open:", ALL_ROLES, default=True),
    PageSpec("pages/overview.py", "Overview", ":material/monitoring:", ALL_ROLES),
    PageSpec("pages/admin.py", "Admin", ":material/admin_panel_settings:",
             frozenset({Role.ADMIN})),
)


def pages_for(role: str) -> list[st.Page]:
    """The pages this role may open (files not written yet are left out)."""
    found = []
    for spec in PAGES:
        if Role(role) in spec.roles and (config.PROJECT_ROOT / spec.path).is_file():
            found.append(st.Page(spec.path, title=spec.title, icon=spec.icon,
                                 default=spec.default))
    return found
