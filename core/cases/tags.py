"""Tags on a case: short labels a team files cases under (`vip`, `sar-filed`, `batch-7`).

Adding or removing a tag is a command like any other: one unit of work that checks the role,
the assignee and the expected version, then writes the new tag list and a `case.tagged` /
`case.untagged` audit event. Who may tag: a lead or an admin on any case, a reviewer on the
cases assigned to them; tags stay editable on decided cases (a team tags what it filed
afterwards). The list filter, views (`tags contains`) and the export read the same column.
"""
from __future__ import annotations

import unicodedata

from core.access.roles import Permission, can
from core.cases.actions import CommandContext, case_command, require_assignee
from core.errors import InvalidInput
from core.store import audit
from core.store.db import Database

MAX_TAGS = 50        # per case (the import format has the same limits, docs/INTAKE.md)
MAX_TAG_CHARS = 50


def clean_tag(text: object) -> str:
    """The tag as stored: trimmed, 1 to MAX_TAG_CHARS characters, no control characters."""
    if not isinstance(text, str):
        raise InvalidInput("a tag is text")
    tag = text.strip()
    if not tag:
        raise InvalidInput("a tag cannot be empty")
    if len(tag) > MAX_TAG_CHARS:
        raise InvalidInput(f"a tag is at most {MAX_TAG_CHARS} characters; "
                           f"{tag[:20]!r}… has {len(tag)}")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in tag):
        raise InvalidInput("a tag cannot contain control characters or line breaks")
    return tag


def may_tag(role: str | None, assignee: str | None, username: str | None) -> bool:
    """Leads and admins tag any case; a reviewer tags the cases assigned to them."""
    if not role or not can(role, Permission.EDIT_CASE):
        return False
    return can(role, Permission.REASSIGN) or (assignee is not None and assignee == username)


def add_tag(db: Database, case_id: str, tag: str, *, actor: str, expected_version: int) -> bool:
    """Adds `tag` to the case. Returns False (and writes nothing) when the case has it."""
    return _change_tags(db, case_id, clean_tag(tag), add=True, actor=actor,
                        expected_version=expected_version)


def remove_tag(db: Database, case_id: str, tag: str, *, actor: str,
               expected_version: int) -> bool:
    """Removes `tag` from the case. Returns False (and writes nothing) when it has not it."""
    return _change_tags(db, case_id, clean_tag(tag), add=False, actor=actor,
                        expected_version=expected_version)


class _Unchanged(Exception):
    """Raised inside the unit of work so that it rolls back: not even the version moves."""


def _change_tags(db: Database, case_id: str, tag: str, *, add: bool, actor: str,
                 expected_version: int) -> bool:
    try:
        with case_command(db, case_id, actor=actor, expected_version=expected_version,
                          permission=Permission.EDIT_CASE, needs_assignee=False) as ctx:
            _write_tags(ctx, tag, add)
    except _Unchanged:
        return False
    return True


def _write_tags(ctx: CommandContext, tag: str, add: bool) -> None:
    if not can(ctx.user.role, Permission.REASSIGN):
        require_assignee(ctx)
    old = list(ctx.case.tags or [])
    if (tag in old) == add:
        raise _Unchanged
    if add and len(old) >= MAX_TAGS:
        raise InvalidInput(f"a case carries at most {MAX_TAGS} tags; remove one first")
    new = [*old, tag] if add else [t for t in old if t != tag]
    ctx.case.tags = new
    audit.record(ctx.session, case_id=ctx.case.id, actor=ctx.user.username,
                 kind="case.tagged" if add else "case.untagged",
                 before={"tags": old}, after={"tags": new, "tag": tag})
