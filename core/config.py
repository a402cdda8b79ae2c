"""Settings read from the environment, declared once with their help text.

Every setting has a name, a default and a sentence saying what it does; `docs/SETTINGS.md`
is checked against this table by `tests/test_docs.py`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("DOCKET_DATABASE_URL", "",
            "SQLAlchemy URL of the database. Empty: the embedded SQLite file under DOCKET_DATA_DIR. "
            "PostgreSQL: postgresql+psycopg://user@host:5432/db"),
    Setting("DOCKET_DATA_DIR", str(PROJECT_ROOT / "data"),
            "Folder for the embedded SQLite database (docket.sqlite3)."),
    Setting("DOCKET_DEMO_MODE", "auto",
            "on: seed demo cases and demo users with known passwords shown on the login page; "
            "off: never; auto: on when the database is the embedded SQLite default."),
    Setting("DOCKET_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024),
            "Largest document file accepted, in bytes (import, re-upload)."),
    Setting("DOCKET_MAX_IMPORT_BYTES", str(50 * 1024 * 1024),
            "Largest JSON import file accepted, in bytes."),
    Setting("DOCKET_COOKIE_KEY", "",
            "Key signing the sign-in cookie (at least 32 random bytes). Empty: read from "
            ".streamlit/secrets.toml, else generated there on first start."),
)


def setting(env: str) -> str:
    for s in SETTINGS:
        if s.env == env:
            return os.environ.get(env, s.default)
    raise KeyError(env)


def database_url() -> str:
    url = setting("DOCKET_DATABASE_URL").strip()
    if url:
        return url
    data_dir = Path(setting("DOCKET_DATA_DIR"))
    data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data_dir / 'docket.sqlite3'}"


def demo_mode(url: str | None = None) -> bool:
    value = setting("DOCKET_DEMO_MODE").strip().lower()
    if value in ("on", "1", "true", "yes"):
        return True
    if value in ("off", "0", "false", "no"):
        return False
    return (url or database_url()).startswith("sqlite") and not setting("DOCKET_DATABASE_URL").strip()


def max_upload_bytes() -> int:
    return int(setting("DOCKET_MAX_UPLOAD_BYTES"))


def max_import_bytes() -> int:
    return int(setting("DOCKET_MAX_IMPORT_BYTES"))
