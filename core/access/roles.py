"""Roles and what each may do: checked by the service layer, not only by hiding buttons."""
from __future__ import annotations

from enum import StrEnum

from core.errors import NotAllowed


class Role(StrEnum):
    ANALYST = "analyst"
    REVIEWER = "reviewer"
    LEAD = "lead"          # team lead: a reviewer who also assigns, sees the workload
    ADMIN = "admin"


class Permission(StrEnum):
    READ = "read"
    EXPORT = "export"
    ASSIGN_SELF = "assign_self"
    DECIDE = "decide"              # case and block actions (on own cases)
    EDIT_CASE = "edit_case"        # user provided data, document properties (on own cases)
    ADD_NOTE = "add_note"
    REASSIGN = "reassign"
    MANAGE_USERS = "manage_users"
    MANAGE_VIEWS = "manage_views"
    MANAGE_WORKFLOWS = "manage_workflows"
    MANAGE_INTEGRATIONS = "manage_integrations"
    IMPORT_CASES = "import_cases"
    VIEW_WORKLOAD = "view_workload"  # the Workload page: cases per reviewer
    # screening hits (core/screening/): sign off a colleague's true match, disposition hits
    # on any case and in bulk
    SIGN_OFF_HITS = "sign_off_hits"
    # the built-in screener's list files (core/screening/lists.py): load, reload
    MANAGE_SCREENING_LISTS = "manage_screening_lists"
    # records (core/records/): who looked at a case, and the examiner's case file
    READ_ACCESS_LOG = "read_access_log"
    EXPORT_CASE_FILE = "export_case_file"


_ANALYST = {Permission.READ, Permission.EXPORT}
_REVIEWER = _ANALYST | {Permission.ASSIGN_SELF, Permission.DECIDE, Permission.EDIT_CASE,
                        Permission.ADD_NOTE}
# A team lead: a reviewer who also assigns and reassigns cases and sees the team's workload;
# like any reviewer, a lead may be a case's second approver (core/cases/approvals.py).
# A lead also signs off true screening matches and dispositions hits in bulk, reads a case's
# access log and exports its case file for an examiner.
_LEAD = _REVIEWER | {Permission.REASSIGN, Permission.VIEW_WORKLOAD, Permission.SIGN_OFF_HITS,
                     Permission.READ_ACCESS_LOG, Permission.EXPORT_CASE_FILE}
_ADMIN = _LEAD | {Permission.MANAGE_USERS, Permission.MANAGE_VIEWS,
                  Permission.MANAGE_WORKFLOWS, Permission.MANAGE_INTEGRATIONS,
                  Permission.IMPORT_CASES, Permission.MANAGE_SCREENING_LISTS}

PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ANALYST: frozenset(_ANALYST),
    Role.REVIEWER: frozenset(_REVIEWER),
    Role.LEAD: frozenset(_LEAD),
    Role.ADMIN: frozenset(_ADMIN),
}


def can(role: str, permission: Permission) -> bool:
    try:
        return permission in PERMISSIONS[Role(role)]
    except ValueError:
        return False


def require(username: str, role: str, permission: Permission) -> None:
    if not can(role, permission):
        raise NotAllowed(f"{username} ({role}) may not {permission.value.replace('_', ' ')}")
