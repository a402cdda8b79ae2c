"""Which pages each role may open. A page missing from a role's list cannot be reached, by
URL either: `st.navigation` only knows the pages it is given. Another role's page typed as a
URL (/admin_users for an analyst) opens Cases with the note "That page needs the admin role",
keeping the list's state (its URL parameters and the session's)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import streamlit as st

from core import config
from core.access.roles import Role
from ui import list_state

ALL_ROLES = frozenset(Role)
ADMIN = frozenset({Role.ADMIN})
LEADS = frozenset({Role.LEAD, Role.ADMIN})


def _always() -> bool:
    return True


@dataclass(frozen=True)
class PageSpec:
    path: str            # relative to the project root
    title: str
    icon: str
    roles: frozenset[Role]
    default: bool = False
    enabled: Callable[[], bool] = _always  # e.g. the simulator: demo mode or DOCKET_SIMULATOR


PAGES = (
    PageSpec("pages/cases.py", "Cases", ":material/folder_open:", ALL_ROLES, default=True),
    PageSpec("pages/overview.py", "Overview", ":material/monitoring:", ALL_ROLES),
    PageSpec("pages/workload.py", "Workload", ":material/groups:", LEADS),
    PageSpec("pages/admin_views.py", "Views", ":material/filter_list:", ADMIN),
    PageSpec("pages/admin_workflows.py", "Workflows", ":material/account_tree:", ADMIN),
    PageSpec("pages/admin_users.py", "Users", ":material/group:", ADMIN),
    PageSpec("pages/import_cases.py", "Import", ":material/upload_file:", ADMIN),
    PageSpec("pages/simulator.py", "Simulator", ":material/science:",
             frozenset({Role.ADMIN, Role.REVIEWER}), enabled=config.simulator_enabled),
    PageSpec("pages/settings.py", "Settings", ":material/settings:", ADMIN),
    PageSpec("pages/screening_lists.py", "Screening lists", ":material/policy:", ADMIN),
    PageSpec("pages/deliveries.py", "Deliveries", ":material/outbox:", ADMIN),
    PageSpec("pages/retention.py", "Retention", ":material/auto_delete:", ADMIN),
    PageSpec("pages/mailbox.py", "Sent emails", ":material/inbox:", ADMIN,
             enabled=config.demo_mailbox_enabled),
    PageSpec("pages/account.py", "My account", ":material/account_circle:", ALL_ROLES),
)


CASES_PAGE = PAGES[0].path


def specs_for(role: str) -> list[PageSpec]:
    """The pages this role may open now (files not written yet, and pages switched off,
    are left out)."""
    return [spec for spec in PAGES
            if Role(role) in spec.roles and (config.PROJECT_ROOT / spec.path).is_file()
            and spec.enabled()]


def signed_out_pages(sign_in: Callable[[], None]) -> list[st.Page]:
    """Before sign-in: the sign-in page, also under every page's address (hidden), so that a
    reload of /overview, signed out for one run until the cookie is read, keeps its address
    instead of landing on "Page not found". Each shows only the sign-in form."""
    pages = [st.Page(sign_in, title="Sign in", url_path="sign-in", default=True)]
    for spec in PAGES:
        pages.append(st.Page(sign_in, title="Sign in", url_path=Path(spec.path).stem))
    return pages


def pages_for(role: str) -> list[st.Page]:
    """The role's pages, plus, hidden, every other page at its address: opening one says
    which role it needs and shows Cases instead."""
    allowed = specs_for(role)
    pages = [st.Page(spec.path, title=spec.title, icon=spec.icon, default=spec.default)
             for spec in allowed]
    for spec in PAGES:
        if spec not in allowed and (config.PROJECT_ROOT / spec.path).is_file() and spec.enabled():
            pages.append(st.Page(_needs_role(spec), title=spec.title, url_path=Path(spec.path).stem,
                                 visibility="hidden"))
    return pages


def _needs_role(spec: PageSpec) -> Callable[[], None]:
    roles = " or ".join(sorted(r.value for r in spec.roles))

    def page() -> None:
        list_state.add_note(f"That page needs the {roles} role.")
        query = [(k, v) for k in st.query_params for v in st.query_params.get_all(k)]
        st.switch_page(CASES_PAGE, query_params=query)

    page.__name__ = f"needs_role_{Path(spec.path).stem}"
    return page
