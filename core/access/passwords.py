"""The rules a new or changed password must meet, after NIST SP 800-63B (5.1.1.2).

Length is what makes a password strong, so the rules are a length floor, bcrypt's 72-byte
ceiling, and a refusal of the passwords attackers try first: the most common ones (the list
shipped by zxcvbn, not a hand-typed one), the username, and whitespace alone. There are no
composition rules ("a digit, an uppercase letter"): they make passwords harder to remember,
not to guess. Signing in never applies these rules, so an older password keeps working until
it is changed.
"""
from __future__ import annotations

from core.errors import InvalidInput

MIN_LENGTH = 12  # characters, not bytes
MAX_BYTES = 72  # bcrypt ignores what comes after the 72nd byte
RULE = (f"At least {MIN_LENGTH} characters (at most {MAX_BYTES} bytes); not the username and "
        "not one of the most common passwords. Spaces and any characters are welcome.")

_common: frozenset[str] | None = None


def common_passwords() -> frozenset[str]:
    """zxcvbn's list of the most common passwords (lower case), loaded on first use: importing
    zxcvbn builds its dictionaries, which a start that sets no password need not pay for."""
    global _common
    if _common is None:
        from zxcvbn.frequency_lists import FREQUENCY_LISTS
        _common = frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])
    return _common


def check_password(password: str, *, username: str = "") -> None:
    """Refuses a password that breaks a rule, naming the rule (never the password)."""
    password = password or ""
    if password and not password.strip():
        raise InvalidInput("a password cannot be made of whitespace only")
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_LENGTH} characters")
    if len(password.encode()) > MAX_BYTES:
        raise InvalidInput(f"a password is at most {MAX_BYTES} bytes (bcrypt's limit); "
                           "accented letters and symbols take 2 to 4 bytes each")
    if username and password.strip().lower() == username.strip().lower():
        raise InvalidInput("a password cannot be the username")
    common = common_passwords()
    if password.lower() in common or password.strip().lower() in common:
        raise InvalidInput("this password is one of the most common passwords, "
                           "which attackers try first; choose another")
