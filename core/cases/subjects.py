"""Correcting who a case is about: the entity's name and country, a UBO's name, birth date
and nationality — the subject data a screening matches against.

A reviewer fixes a typo ("Jon" for "John") or a wrong birth date found in a passport. The
change is audited field by field (`subject.edited`), bumps the version like every command,
and queues the case for the built-in screener (core/screening/), whose hits' hashes read
these fields: a hit decided for the old data re-opens, one found for the new data appears.
The case's keys for related cases (core/cases/case_keys.py) follow in the same transaction.
Allowed to the assignee while the case is editable (as user data edits).
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from core.access.roles import Permission
from core.cases.actions import _check_editable, case_command
from core.cases.case_keys import refresh_case_keys
from core.cases.screening_queue import enqueue
from core.errors import InvalidInput
from core.store import audit
from core.store.db import Database

MAX_NAME = 300
COUNTRY = re.compile(r"^[A-Z]{2}$")
BIRTH_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
ENTITY_FIELDS = {"name": "name", "country": "country"}
UBO_FIELDS = {"full_name": "full_name", "date_of_birth": "date_of_birth",
              "nationality": "nationality"}
REFUSED = "the subject edit was refused"


def _name(value: Any, field: str, problems: list[str]) -> str | None:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{field}: a name of 1 to {MAX_NAME} characters")
        return None
    value = " ".join(value.split())
    if len(value) > MAX_NAME:
        problems.append(f"{field}: at most {MAX_NAME} characters; this one has {len(value):,}")
    elif any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in value):
        problems.append(f"{field}: cannot contain control or formatting characters")
    else:
        return value
    return None


def _country(value: Any, field: str, problems: list[str], *, required: bool) -> str | None:
    if value in (None, "") and not required:
        return ""
    if not isinstance(value, str) or not COUNTRY.match(value.strip().upper()):
        problems.append(f"{field}: a 2-letter ISO 3166 country code, e.g. GB"
                        + ("" if required else ", or empty"))
        return None
    return value.strip().upper()


def _birth_date(value: Any, field: str, problems: list[str]) -> str | None:
    if value in (None, ""):
        return ""
    text = value.strip() if isinstance(value, str) else ""
    try:
        day = date.fromisoformat(text) if BIRTH_DATE.match(text) else None
    except ValueError:
        day = None
    if day is None or day > date.today() or day.year < 1900:
        problems.append(f"{field}: a real date as YYYY-MM-DD, from 1900 to today, or empty")
        return None
    return text


def clean_subject_changes(subject: str, changes: Any) -> dict[str, str]:
    """The changes checked whole: every problem named (InvalidInput), nothing written."""
    allowed = ENTITY_FIELDS if subject == "entity" else UBO_FIELDS
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput(REFUSED, [f"changes: at least one of {', '.join(allowed)}"])
    problems: list[str] = []
    clean: dict[str, str] = {}
    for field, value in changes.items():
        if field not in allowed:
            problems.append(f"{str(field)[:60]}: not a field of this subject "
                            f"({', '.join(allowed)})")
            continue
        if field in ("name", "full_name"):
            found = _name(value, field, problems)
        elif field == "country":
            found = _country(value, field, problems, required=True)
        elif field == "nationality":
            found = _country(value, field, problems, required=False)
        else:
            found = _birth_date(value, field, problems)
        if found is not None:
            clean[field] = found
    if problems:
        raise InvalidInput(REFUSED, problems)
    return clean


def edit_subject(db: Database, case_id: str, subject: str, changes: dict[str, Any], *,
                 actor: str, expected_version: int) -> int:
    """Changes the entity's (`subject` "entity") or a UBO's ("ubo:ID") fields; returns the
    number of fields that changed (0: the same values, nothing written beyond the version
    check). The case is queued for screening when a field changed."""
    if subject != "entity" and not re.match(r"^ubo:[1-9][0-9]{0,17}$", str(subject)):
        raise InvalidInput(REFUSED, [f"subject: {str(subject)[:40]!r} is not \"entity\" or "
                                     "\"ubo:ID\""])
    clean = clean_subject_changes(subject, changes)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.EDIT_CASE) as ctx:
        _check_editable(ctx)
        if subject == "entity":
            target = ctx.case.entity
        else:
            ubo_id = int(subject.partition(":")[2])
            target = next((u for u in ctx.case.ubos if u.id == ubo_id), None)
            if target is None:
                raise InvalidInput(REFUSED, [f"subject: case {case_id} has no UBO {ubo_id}"])
        changed = 0
        for field, new in clean.items():
            old = getattr(target, field) or ""
            if old == new:
                continue
            setattr(target, field, new)
            changed += 1
            audit.record(ctx.session, case_id=case_id, actor=ctx.user.username,
                         kind="subject.edited", before={"subject": subject, "field": field,
                                                        "value": old},
                         after={"subject": subject, "field": field, "value": new})
        if changed:
            enqueue(ctx.session, [case_id], "edit")
            ctx.session.flush()
            refresh_case_keys(ctx.session, case_id)  # a UBO's name and birth date link cases
        return changed
