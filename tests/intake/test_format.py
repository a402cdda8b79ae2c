"""The import file format (core.intake.format): reading the raw file, and the format as
docs/INTAKE.md describes it."""
from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

from core.errors import InvalidInput
from core.intake import format as file_format
from core.intake.importer import import_cases
from tests.factories import row_counts
from tests.intake.import_files import a_case, assert_refused_whole

DOC = Path(__file__).resolve().parents[2] / "docs" / "INTAKE.md"

UNREADABLE_FILES = [
    # (name, file, words each expected problem contains)
    ("malformed JSON", b'{"cases": [\n  {"workflow": "onboarding",,\n}]}',
     ["malformed JSON at line 2, column 29: Expecting property name"]),
    ("truncated JSON", b'{"cases": [', ["malformed JSON at line 1, column 12"]),
    ("NaN is not JSON", b'{"cases": [{"risk_score": NaN}]}', ["NaN is not a number JSON allows"]),
    ("not UTF-8", b'{"cases": ["\xff"]}', ["not UTF-8 text (bad byte at offset 12)"]),
    ("nested far too deeply", b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
]


@pytest.mark.parametrize("name, source, expected", UNREADABLE_FILES,
                         ids=[u[0] for u in UNREADABLE_FILES])
def test_a_file_that_cannot_be_read_is_refused_and_nothing_is_written(db_with_a_case, name,
                                                                      source, expected):
    assert_refused_whole(db_with_a_case, source, expected)


def test_an_oversized_import_file_is_refused_before_it_is_read(db, monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_IMPORT_BYTES", "1000")
    raw = json.dumps({"cases": [a_case(user_data={"pad": "x" * 2000})]}).encode()
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, raw)
    assert refused.value.problems == [f"the file is {len(raw):,} bytes; the limit is 1,000 bytes "
                                      "(DOCKET_MAX_IMPORT_BYTES)"]
    assert row_counts(db)["cases"] == 0


def test_the_intake_doc_describes_every_case_field():
    text = DOC.read_text()
    for name in [*file_format.CASE_FIELDS, *file_format.ENTITY_FIELDS, *file_format.UBO_FIELDS,
                 *file_format.PROCESS_FIELDS, *file_format.DOCUMENT_FIELDS,
                 *file_format.FILE_FIELDS]:
        assert f"`{name}`" in text, f"docs/INTAKE.md does not mention `{name}`"


def test_the_limits_table_of_the_doc_matches_the_code():
    """"Limits at a glance": each constant it names exists, and its row states its value (in
    order). A bare name is one of core.intake.format."""
    table = DOC.read_text().split("## Limits at a glance", 1)[1]
    checked = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`((?:core\.[\w.]+\.)?MAX_\w+)`", cells[-1])
        if len(cells) != 3 or not names:
            continue
        stated = [int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", cells[1])]
        actual = []
        for name in names:
            module, _, constant = name.rpartition(".")
            actual.append(getattr(importlib.import_module(module) if module else file_format,
                                  constant))
        assert stated == actual, f"docs/INTAKE.md: {line}"
        checked += names
    assert "core.intake.format.MAX_CASES_PER_FILE" in checked and len(checked) == 12
