"""Typed domain errors. Every refusal of a command is one of these; nothing is written.

The pages and the CLI map them to one clear message; they never show a traceback.
"""
from __future__ import annotations


class DocketError(Exception):
    """Base of every error a user can cause."""


class NotFound(DocketError):
    pass


class Unauthenticated(DocketError):
    """No credentials, or credentials that are unknown, revoked or belong to a disabled user."""


class NotAllowed(DocketError):
    """The actor's role or assignment does not permit the command."""


class ActionNotAllowed(DocketError):
    """The status rules refuse the action in the case's current state."""


class CaseChanged(DocketError):
    """The case changed since the actor saw it (expected version is stale)."""

    def __init__(self, case_id: str, expected: int | None, actual: int | None):
        now = f"is at version {actual}" if actual is not None else "changed meanwhile"
        super().__init__(f"case changed, reload: case {case_id} {now}, "
                         f"you acted on version {expected}")
        self.case_id, self.expected, self.actual = case_id, expected, actual


class InvalidInput(DocketError):
    """Bad input from a user or a file; `problems` lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message if not self.problems else
                         message + "\n" + "\n".join(f"  - {p}" for p in self.problems))
