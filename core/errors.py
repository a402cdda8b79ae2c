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
    """The case changed since the actor saw it (expected version is stale).

    The message is for people; the versions are in `detail` (for a log) and in the
    attributes (the API answers `current_version`)."""

    MESSAGE = ("This case changed since you opened it (someone else acted on it). "
               "Reload to see the change.")

    def __init__(self, case_id: str, expected: int | None, actual: int | None):
        super().__init__(self.MESSAGE)
        self.case_id, self.expected, self.actual = case_id, expected, actual

    @property
    def detail(self) -> str:
        now = f"is at version {self.actual}" if self.actual is not None else "changed meanwhile"
        return f"case {self.case_id} {now}; the action was taken on version {self.expected}"


class InvalidInput(DocketError):
    """Bad input from a user or a file; `problems` lists every problem found."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = list(problems or [])
        super().__init__(message if not self.problems else
                         message + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class SignInRefused(NotAllowed):
    """A sign-in step refused. The message is what the person is told (it never says whether
    a username exists); `reason` is what the audit log records (wrong_password, unknown_user,
    disabled, locked, wrong_code, sso_only, ...)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason
