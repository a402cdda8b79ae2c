"""Fixtures of the intake tests."""
from __future__ import annotations

import pytest

from core.intake.importer import import_cases
from tests.intake.import_files import a_case, a_document


@pytest.fixture
def db_with_a_case(db):
    """The database already holds one imported case (so "nothing written" means something)."""
    import_cases(db, {"cases": [a_case(id="EXISTING-1", documents=[a_document()])]})
    return db
