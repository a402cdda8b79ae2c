"""The case file as a document: one Jinja2 template (`templates/case_file.html.j2`, autoescaped:
every value in it is case data, which is untrusted) rendered to `case.html` and, through
WeasyPrint, to `case.pdf` (PDF/A-3b).

Rendering never reaches the network or the disk: the template has no outside reference, and the
URL fetcher handed to WeasyPrint refuses every URL (an `<img src>` in case data would be escaped
text anyway). Fonts are the machine's (DejaVu Sans, else Liberation Sans, through Pango).
The output depends on the contents only (no "printed at" time), so an unchanged case renders to
the same bytes.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import HTML
from weasyprint.urls import URLFetcher

TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "case_file.html.j2"
PDF_VARIANT = "pdf/a-3b"
MAX_CELL_CHARS = 600  # a value longer than this is cut in the document (whole in case.json)


class RefusingFetcher(URLFetcher):
    """A URL fetcher that fetches nothing: every URL is refused (and remembered, for tests)."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=())
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        self.refused.append(url)
        raise ValueError(f"the case file fetches nothing: {url[:80]}")


def _text(value: Any) -> str:
    """A value as a reader reads it: text as is, true/false as Yes/No, lists joined, maps as
    `key: value` pairs, nothing as an em dash."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list)) for v in value):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()):
        text = "; ".join(f"{k}: {_text(v)}" for k, v in sorted(value.items(), key=str))
    elif isinstance(value, (dict, list, tuple)):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        text = str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


def _rows(data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """A nested map as (field, value) rows: nested keys joined with " › ", so a table shows
    registry data without a JSON dump."""
    if not isinstance(data, dict):
        return [(prefix or "value", _text(data))] if data not in (None, {}) else []
    rows: list[tuple[str, str]] = []
    for key in sorted(data, key=str):
        label = f"{prefix} › {key}" if prefix else str(key)
        value = data[key]
        if isinstance(value, dict) and value:
            rows.extend(_rows(value, label))
        else:
            rows.append((label, _text(value)))
    return rows


def _when(value: Any) -> str:
    """"2024-05-01T13:45:10Z" as "2024-05-01 13:45" (the document says once that times are UTC)."""
    if not value:
        return "—"
    text = str(value)
    return f"{text[:10]} {text[11:16]}" if len(text) >= 16 and text[10] == "T" else text


def _words(code: Any) -> str:
    return "—" if not code else str(code).replace("_", " ").replace(".", " ").capitalize()


def _size(n: Any) -> str:
    if not isinstance(n, int):
        return "—"
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < 1024 ** 2 \
        else f"{n / 1024 ** 2:.1f} MB"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(
        enabled_extensions=("j2", "html"), default_for_string=True, default=True),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(text=_text, rows=_rows, when=_when, words=_words, size=_size)
    return env


def render_html(contents: dict[str, Any], *, files: dict[str, str]) -> str:
    """`case.html`: the contents as a document. `files` maps each document version's id (as
    text) to its path in the bundle."""
    return environment().get_template(TEMPLATE).render(c=contents, files=files)


def render_pdf(html: str, fetcher: RefusingFetcher | None = None) -> tuple[bytes, int]:
    """`case.pdf` (PDF/A-3b) from `case.html`, and its number of pages."""
    fetcher = fetcher or RefusingFetcher()
    document = HTML(string=html, base_url=None, url_fetcher=fetcher).render(
        pdf_variant=PDF_VARIANT)
    return document.write_pdf(pdf_variant=PDF_VARIANT), len(document.pages)
