"""The rules every value of the intake obeys, shared by the file check and the events.

A string's length and storable characters, an object's allowed fields, a flat field map, a
bounded free-form JSON object, an email, a country code, the actor's name. `ValueChecker`
collects every problem as "path: reason" instead of stopping at the first; the whole-file
check (`checks.py`) builds on it, and the KYC event (`events.py`) checks its result with it.
"""
from __future__ import annotations

import json
import math
import re
from typing import Any

from core.errors import InvalidInput
from core.intake.format import (
    COUNTRY_PATTERN,
    EMAIL_PATTERN,
    MAX_ACTOR_CHARS,
    MAX_DATA_CHARS,
    MAX_EMAIL_CHARS,
    MAX_FIELDS,
    MAX_KEY_CHARS,
    MAX_NESTING_DEPTH,
    MAX_STRING_CHARS,
)


def unstorable(text: str) -> str | None:
    """Why a string cannot be stored (NUL, lone surrogate), or None."""
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an invalid character (a lone UTF-16 surrogate)"
    return None


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                         type(value).__name__)


def clean_actor(actor: Any) -> str:
    if (not isinstance(actor, str) or not actor.strip() or len(actor) > MAX_ACTOR_CHARS
            or unstorable(actor)):
        raise InvalidInput(f"the actor must be 1 to {MAX_ACTOR_CHARS} characters")
    return actor


class ValueChecker:
    """Checks values against the intake's rules, collecting every problem as "path: reason"."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append(f"{path}: {reason}")

    def obj(self, value: Any, path: str, allowed: set[str] | None = None) -> dict | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be an object, got {type_name(value)}")
            return None
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    shown = key if isinstance(key, str) and len(key) <= 60 else "(a long key)"
                    self.problem(f"{path}.{shown}",
                                 f"unknown field (allowed: {', '.join(sorted(allowed))})")
        return value

    def items(self, value: Any, path: str, limit: int) -> list | None:
        if not isinstance(value, list):
            self.problem(path, f"must be a list, got {type_name(value)}")
            return None
        if len(value) > limit:
            self.problem(path, f"has {len(value):,} entries; at most {limit:,}")
            return None
        return value

    def text(self, value: Any, path: str, max_chars: int, *, min_chars: int = 0,
             pattern: re.Pattern | None = None, expected: str = "") -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"must be text, got {type_name(value)}")
            return None
        if len(value) > max_chars:
            self.problem(path, f"is {len(value):,} characters long; at most {max_chars:,}")
            return None
        if unstorable(value):
            self.problem(path, unstorable(value))
            return None
        if len(value.strip()) < min_chars:
            self.problem(path, "must not be empty" if min_chars == 1 else
                         f"must be at least {min_chars} characters")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(path, expected or f"must match {pattern.pattern}")
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...]) -> str | None:
        if not isinstance(value, str) or value not in choices:
            short_text = isinstance(value, str) and len(value) <= 40
            shown = repr(value) if short_text else type_name(value)
            self.problem(path, f"must be one of {', '.join(choices)}; got {shown}")
            return None
        return value

    def flat_fields(self, value: Any, path: str) -> dict[str, Any] | None:
        """An object of scalars: keys 1..100 characters, text values within the string limit."""
        value = self.obj(value, path)
        if value is None:
            return None
        if len(value) > MAX_FIELDS:
            self.problem(path, f"has {len(value):,} fields; at most {MAX_FIELDS}")
            return None
        ok = True
        for key, item in value.items():
            if (not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_CHARS
                    or unstorable(key)):
                self.problem(path, f"field names must be 1 to {MAX_KEY_CHARS} characters, "
                                   "without NUL")
                ok = False
                continue
            where = f"{path}.{key}"
            if isinstance(item, float) and not math.isfinite(item):
                self.problem(where, "must be a finite number")
                ok = False
            elif isinstance(item, str):
                ok = self.text(item, where, MAX_STRING_CHARS) is not None and ok
            elif not (item is None or isinstance(item, (bool, int, float))):
                self.problem(where, "must be text, a number, true/false or null (no objects or "
                                    f"lists), got {type_name(item)}")
                ok = False
        return value if ok else None

    def nested_data(self, value: Any, path: str) -> dict[str, Any] | None:
        """A free-form JSON object (registry data, enrichment, KYC result), bounded."""
        value = self.obj(value, path)
        if value is None:
            return None
        before = len(self.problems)
        self._walk(value, path, 1)
        if len(self.problems) > before:
            return None
        size = len(json.dumps(value, ensure_ascii=False))
        if size > MAX_DATA_CHARS:
            self.problem(path, f"is {size:,} characters as JSON; at most {MAX_DATA_CHARS:,}")
            return None
        return value

    def _walk(self, value: Any, path: str, depth: int) -> None:
        if isinstance(value, (dict, list)) and depth > MAX_NESTING_DEPTH:
            self.problem(path, f"is nested deeper than {MAX_NESTING_DEPTH} levels")
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str) or len(key) > MAX_KEY_CHARS or unstorable(key):
                    self.problem(path, f"keys must be text of at most {MAX_KEY_CHARS} "
                                       "characters, without NUL")
                    continue
                self._walk(item, f"{path}.{key}", depth + 1)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                self._walk(item, f"{path}[{i}]", depth + 1)
        elif isinstance(value, str):
            if len(value) > MAX_STRING_CHARS:
                self.problem(path, f"is {len(value):,} characters long; "
                                   f"at most {MAX_STRING_CHARS:,}")
            elif unstorable(value):
                self.problem(path, unstorable(value))
        elif isinstance(value, float):
            if not math.isfinite(value):
                self.problem(path, "must be a finite number")
        elif not (value is None or isinstance(value, (bool, int))):
            self.problem(path, f"is not a JSON value ({type(value).__name__})")

    def email(self, value: Any, path: str) -> str | None:
        return self.text(value, path, MAX_EMAIL_CHARS, pattern=EMAIL_PATTERN,
                         expected="must be an email address like name@example.com") \
            if value != "" else ""

    def country(self, value: Any, path: str) -> str | None:
        return self.text(value, path, 2, pattern=COUNTRY_PATTERN,
                         expected="must be a 2-letter ISO code in capitals, e.g. GB")
