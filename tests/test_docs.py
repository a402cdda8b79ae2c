"""Docs kept true by tests: every setting and CLI command is documented, README commands exist."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.cli import build_parser
from core.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


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
    for f in ("requirements.txt", "requirements-test.txt", "streamlit_app.py"):
        assert (ROOT / f).exists()


def _ci_commands() -> list[str]:
    """The checks .ci/run runs: its lint and pytest lines, without the shell plumbing around
    them (`| tee`, `> log 2>&1 &`, `|| rc=$?`)."""
    commands = []
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        line = re.split(r" \| tee | > \S+| \|\| |\s&$", line)[0].strip()
        if re.match(r"^(\w+=\S+ )*(python -m pytest|lint-imports|ruff check)", line):
            commands.append(line)
    return commands


def test_ci_runs_what_the_readme_says():
    commands = _ci_commands()
    # the SQLite suite, cut in three between the two lanes (the shards: tests/test_shards.py)
    assert {"python -m pytest -m browser", 'python -m pytest -m "not browser" --shard 1/2',
            'python -m pytest -m "not browser" --shard 2/2'} <= set(commands)
    assert any("DOCKET_TEST_DATABASE_URL=postgresql" in c and '-m "not browser"' in c
               for c in commands)
    readme_blocks = "\n".join(re.findall(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(),
                                         re.S)).splitlines()
    missing = [c for c in commands if c not in readme_blocks]
    assert missing == [], "README must state every CI leg exactly as .ci/run runs it"


DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_every_path_named_in_the_docs_exists(doc):
    """Files move (docs/ARCHITECTURE.md); a doc naming a path that is gone misleads."""
    named = re.findall(r"`((?:core|ui|pages|tests|api|benchmarks|examples|docs)/[\w./-]*)`",
                       doc.read_text())
    missing = sorted({p for p in named if not (ROOT / p.rstrip("/")).exists()})
    assert missing == []
