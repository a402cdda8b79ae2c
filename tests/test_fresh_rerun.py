"""tests/fresh_rerun.py, run for real: pytest in a subprocess on a small suite of its own whose
"browser" tests fail or pass by a file that each session writes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = '''
from tests.fresh_rerun import (  # noqa: F401
    pytest_collectreport, pytest_runtest_logreport, pytest_sessionfinish,
    pytest_terminal_summary)
'''
INI = '''[pytest]
addopts = -p no:cacheprovider -q
markers =
    browser: a browser test
'''
# Each test below appends its name to sessions.log when it runs. A "flake" fails while the
# log shows it only once (its first session) and passes in the next; "broken" always fails.
TESTS = '''
import os
from pathlib import Path

import pytest

LOG = Path(__file__).with_name("sessions.log")


def ran(name):
    with LOG.open("a") as f:
        f.write(f"{name} {os.environ.get('DOCKET_BROWSER_RERUN', '-')}\\n")
    return LOG.read_text().split().count(name)


@pytest.mark.browser
def test_steady():
    ran("steady")


@pytest.mark.browser
@pytest.mark.parametrize("n", range(FLAKES))
def test_flake(n):
    assert ran(f"flake{n}") > 1, "dropped click"


@pytest.mark.browser
@pytest.mark.parametrize("n", range(BROKEN))
def test_broken(n):
    ran(f"broken{n}")
    assert False, "a defect"


@pytest.mark.parametrize("n", range(PLAIN_FAILURES))
def test_plain(n):
    assert False, "not a browser test"
'''


def run_suite(tmp_path: Path, *, flakes: int = 0, broken: int = 0,
              plain_failures: int = 0) -> tuple[int, str, list[str]]:
    (tmp_path / "pytest.ini").write_text(INI)
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_suite.py").write_text(
        TESTS.replace("FLAKES", str(flakes)).replace("BROKEN", str(broken))
        .replace("PLAIN_FAILURES", str(plain_failures)))
    env = {k: v for k, v in os.environ.items() if k != "DOCKET_BROWSER_RERUN"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:randomly"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    log = tmp_path / "sessions.log"
    return done.returncode, done.stdout + done.stderr, (log.read_text().splitlines()
                                                        if log.exists() else [])


def test_a_flake_passes_in_a_new_session_and_the_run_passes(tmp_path):
    rc, out, log = run_suite(tmp_path, flakes=2)
    assert rc == 0, out
    # the first session ran everything; the second only the two flakes, marked as the rerun
    assert log == ["steady -", "flake0 -", "flake1 -", "flake0 1", "flake1 1"]
    assert "2 failed, 1 passed" in out                      # the first session says so
    assert "browser rerun: passed in a new session: test_suite.py::test_flake[0], " \
        "test_suite.py::test_flake[1] (the run passes)" in out


def test_a_defect_fails_both_sessions_and_the_run_fails(tmp_path):
    rc, out, log = run_suite(tmp_path, flakes=1, broken=1)
    assert rc == 1, out
    assert log == ["steady -", "flake0 -", "broken0 -", "flake0 1", "broken0 1"]
    assert "browser rerun: failed again in a new session (exit 1)" in out


def test_nothing_is_rerun_when_other_tests_failed_too(tmp_path):
    rc, out, log = run_suite(tmp_path, flakes=1, plain_failures=1)
    assert rc == 1, out
    assert log == ["steady -", "flake0 -"]
    assert "not rerun: tests other than browser tests failed too" in out


@pytest.mark.parametrize("flakes, rerun", [(5, True), (6, False)])
def test_at_most_five_are_rerun(tmp_path, flakes, rerun):
    rc, out, log = run_suite(tmp_path, flakes=flakes)
    assert (rc == 0) is rerun, out
    assert (len(log) == 1 + 2 * flakes) is rerun
    if not rerun:
        assert "not rerun: 6 browser tests failed (more than 5 is not a flake)" in out


def test_a_clean_run_reruns_nothing(tmp_path):
    rc, out, log = run_suite(tmp_path)
    assert rc == 0, out
    assert log == ["steady -"]
    assert "browser rerun" not in out
