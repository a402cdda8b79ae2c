"""What every CLI command shares: the database, JSON output, a password-free URL, passwords.

Kept apart so the command modules (cases, admin) print and fail the same way.
`from core...` imports sit inside functions only so that `python -m core --help` stays fast.
"""
from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from core.errors import DocketError


def database():
    """The database of DOCKET_DATABASE_URL (else the embedded SQLite file)."""
    from core.store.db import get_database  # deferred: SQLAlchemy is slow to import
    return get_database()


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def safe_url(url: str) -> str:
    """The database URL with its password hidden, fit to print."""
    from sqlalchemy.engine import make_url  # deferred: slow to import
    return make_url(url).render_as_string(hide_password=True)


def read_password(args) -> str:
    """From stdin with --password-stdin, else asked twice on the terminal."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise DocketError("give the password with --password-stdin (no terminal to ask on)")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise DocketError("the two passwords differ")
    return first
