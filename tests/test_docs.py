"""Docs kept true by tests: every setting and CLI command is documented, README commands exist."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.cli import build_parser
from core.config import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_is_documented(setting):
    assert f"`{setting.env}`" in (ROOT / "docs" / "SETTINGS.md").read_text()


def test_every_cli_command_is_in_the_readme():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in sub.choices if f"`{name}" not in readme]
    assert missing == []


def test_readme_links_exist():
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        assert (ROOT / target).exists(), target


def test_readme_commands_name_real_files():
    readme = (ROOT / "README.md").read_text()
    assert "pip install -r requirements.txt && python -m streamlit run streamlit_app.py" in readme
    assert "pip install -r requirements-test.txt && python -m pytest" in readme
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()
    for f in ("requirements.txt", "requirements-test.txt", "streamlit_app.py"):
        assert (ROOT / f).exists()
