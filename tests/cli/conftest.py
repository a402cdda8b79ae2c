"""Fixtures of the CLI tests: the commands run in-process against the test's own database."""
from __future__ import annotations

import pytest

from core.cli import main


@pytest.fixture
def cli_db(db, database_url, monkeypatch):
    """The test database, also the one `python -m core` opens (DOCKET_DATABASE_URL)."""
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    return db


@pytest.fixture
def cli(capsys):
    """Runs `python -m core ARGV...` in-process; returns (exit code, stdout, stderr)."""
    def run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err
    return run
