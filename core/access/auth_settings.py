"""The key that signs the sign-in cookie: where it comes from, and making one on first start.

Order: the DOCKET_COOKIE_KEY environment variable; else `cookie_key` in
`.streamlit/secrets.toml`; else a new random key is written there (the file is git-ignored,
readable by its owner only) and the caller is told where. No Streamlit import here.
"""
from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core import config

MIN_KEY_CHARS = 32
SECRETS_FILE = config.PROJECT_ROOT / ".streamlit" / "secrets.toml"
COOKIE_NAME = "docket_auth"
COOKIE_EXPIRY_DAYS = 1.0


@dataclass(frozen=True)
class CookieKey:
    key: str
    source: str            # "environment" | "secrets file" | "generated"
    message: str = ""      # said once, when a key was generated


def _from_secrets_file(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RuntimeError(f"cannot read {path}: {e}") from None
    value = data.get("cookie_key")
    return str(value) if value else None


def _check(key: str, where: str) -> str:
    key = key.strip()
    if len(key) < MIN_KEY_CHARS:
        raise RuntimeError(f"the cookie key from {where} is shorter than {MIN_KEY_CHARS} "
                           "characters; use a long random value (e.g. "
                           "python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    return key


def _append_key(path: Path, key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text(encoding="utf-8") if path.is_file() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    if re.search(r"(?m)^\s*cookie_key\s*=", existing):
        raise RuntimeError(f"{path} has an empty cookie_key; set it or remove the line")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(existing + "# Signs Docket's sign-in cookie. Keep it secret; changing it signs "
                           "everyone out.\n" + f'cookie_key = "{key}"\n')


def existing_cookie_key(secrets_file: Path | None = None) -> str | None:
    """The cookie key if one is set already (never generates one)."""
    env = config.setting("DOCKET_COOKIE_KEY")
    if env.strip():
        return _check(env, "DOCKET_COOKIE_KEY")
    stored = _from_secrets_file(secrets_file or SECRETS_FILE)
    return _check(stored, str(secrets_file or SECRETS_FILE)) if stored else None


def cookie_key(secrets_file: Path | None = None) -> CookieKey:
    """The cookie signing key, generating and saving one on first start."""
    env = config.setting("DOCKET_COOKIE_KEY")
    if env.strip():
        return CookieKey(_check(env, "DOCKET_COOKIE_KEY"), "environment")
    path = secrets_file or SECRETS_FILE
    stored = _from_secrets_file(path)
    if stored:
        return CookieKey(_check(stored, str(path)), "secrets file")
    key = secrets.token_urlsafe(48)
    _append_key(path, key)
    return CookieKey(key, "generated",
                     f"A new cookie signing key was generated and saved to {path} "
                     "(key `cookie_key`). Keep that file private; set DOCKET_COOKIE_KEY to "
                     "use your own key instead.")
