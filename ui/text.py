"""Showing data as text: case data never reaches Markdown or HTML unescaped."""
from __future__ import annotations

import re
from datetime import datetime

from core.errors import DocketError, InvalidInput

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def esc(value: object) -> str:
    """`value` as Markdown that displays exactly as the text (no formatting, links, HTML,
    emoji or colour directives); newlines become spaces."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def error_text(e: DocketError) -> str:
    """A refusal as Markdown that shows as text: its sentence, then one line per problem."""
    if isinstance(e, InvalidInput) and e.problems:
        head = str(e).split("\n", 1)[0]
        return esc(head) + ":\n" + "\n".join(f"- {esc(p)}" for p in e.problems)
    return esc(str(e))


def count_of(n: int, one: str, many: str | None = None) -> str:
    """A count with its noun (never "1 cases", nor a bracketed plural): '1 case', '3 cases',
    '1 delivery', '2 deliveries' (`many` where adding an s is wrong)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def plain(value: object) -> str:
    """A value for a table cell or a text field."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return when(value)
    return str(value)
