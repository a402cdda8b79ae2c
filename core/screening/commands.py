"""The screening commands by name, for the entrypoints that name an action in text
(`POST /cases/{id}/actions/{action}`): the case commands' names are core/cases/commands.py,
which cannot name these (core.cases stands below core.screening)."""
from __future__ import annotations

from typing import Any

from core.errors import InvalidInput
from core.screening.dispositions import disposition_hit, sign_off_true_match
from core.store.db import Database

SCREENING_COMMANDS = {  # name -> what it does
    "disposition-hit": "disposition a screening hit (hit: its id; disposition: true_match, "
                       "false_positive or needs_information; reason: required for the first "
                       "two)",
    "sign-off-hit": "sign off a true match (hit; a lead or an admin who did not disposition "
                    "it)",
}


def perform_screening(db: Database, case_id: str, command: str, *, actor: str,
                      expected_version: int, hit: int | None = None, disposition: Any = None,
                      reason: str | None = None) -> bool:
    """Runs the named screening command on a hit of the case as `actor`, on the version they
    saw. Returns whether anything changed. Refusals are core.errors."""
    if command not in SCREENING_COMMANDS:
        raise InvalidInput(f"unknown action {command!r}; actions: "
                           f"{', '.join(SCREENING_COMMANDS)}")
    if hit is None:
        raise InvalidInput(f"{command} needs a hit (its id)")
    if command == "disposition-hit":
        if disposition is None:
            raise InvalidInput("disposition-hit needs a disposition: true_match, "
                               "false_positive or needs_information")
        return disposition_hit(db, hit, disposition, reason, actor=actor,
                               expected_version=expected_version, case_id=case_id)
    return sign_off_true_match(db, hit, actor=actor, expected_version=expected_version,
                               case_id=case_id)
