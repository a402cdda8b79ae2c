"""Builders of import files for the intake tests (format, checks, importer, events)."""
from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from core.cases.actions import load_case
from core.errors import InvalidInput
from core.intake.importer import import_cases
from tests.factories import row_counts

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def png_bytes(color=(10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (2, 2), color).save(buffer, "PNG")
    return buffer.getvalue()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def a_case(**fields) -> dict:
    """A valid case of the import format; keyword arguments replace its fields."""
    case = {"workflow": "onboarding",
            "entity": {"type": "business", "name": "Acme Trading Ltd", "country": "GB"},
            "collection_completed": True}
    case.update(fields)
    return case


def a_document(filename="proof.pdf", content=PDF, **fields) -> dict:
    return {"type": "proof_of_address", "properties": {"issuer": "Bank"},
            "file": {"filename": filename, "content_base64": b64(content)}, **fields}


def import_one(db, **fields) -> str:
    [case_id] = import_cases(db, {"cases": [a_case(**fields)]})
    return case_id


def case_of(db, case_id):
    with db.read() as session:
        case = load_case(session, case_id)
        for document in case.documents:
            list(document.files)
        return case


def assert_refused_whole(db, source, expected: list[str]) -> None:
    """Importing `source` is refused, each expected problem is named, and nothing is written."""
    before = row_counts(db)
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, source)
    assert str(refused.value).startswith("the import file was refused; nothing was imported")
    problems = refused.value.problems
    for words in expected:
        assert any(words in p for p in problems), f"{words!r} not in {problems}"
        assert words in str(refused.value)
    assert row_counts(db) == before
