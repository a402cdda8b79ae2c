"""A browser test that fails is run once more, in a new pytest session: a fresh app server
and database, seeded as at the start of a run, and fresh module fixtures.

Why a new session and not a rerun in place (pytest-rerunfailures, used until 2026-12): the
browser tests share their app and database within a session, and a test's first try may have
changed its cases before it failed (a case approved, a key added), so the rerun met that
state and failed where the first try had not (stop 26's CI failed this way). In a new session
every test starts from the seed, as on its first try.

On a loaded 2-core machine a click landing while the app finishes a run can be dropped; a
defect fails both sessions. Only a few failures are rerun (MAX_RERUN): more than that is not a
flake. Only browser tests are rerun, and only when nothing else failed. The run's exit status
is the rerun's; the report says what failed first and what the rerun gave.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

RERUN_ENV = "DOCKET_BROWSER_RERUN"  # set in the second session: it reruns nothing itself
MAX_RERUN = 5

_failed: dict[str, None] = {}     # browser tests failed in this session (ordered set)
_other_failures: list[str] = []   # anything else failed or errored
_outcome: list[str] = []          # what the rerun gave, for the summary


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.failed:
        return
    if "browser" in report.keywords:
        _failed.setdefault(report.nodeid)
    else:
        _other_failures.append(report.nodeid)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _other_failures.append(report.nodeid or "collection")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get(RERUN_ENV) or not _failed or exitstatus != pytest.ExitCode.TESTS_FAILED:
        return
    if _other_failures:
        _outcome.append("not rerun: tests other than browser tests failed too")
        return
    if len(_failed) > MAX_RERUN:
        _outcome.append(f"not rerun: {len(_failed)} browser tests failed (more than "
                        f"{MAX_RERUN} is not a flake)")
        return
    ids = list(_failed)
    print(f"\n== {len(ids)} browser test(s) failed; run once more in a new session "
          "(fresh app and database): " + " ".join(ids), flush=True)
    rc = subprocess.call([sys.executable, "-m", "pytest", *ids],
                         env={**os.environ, RERUN_ENV: "1"})
    if rc == pytest.ExitCode.OK:
        _outcome.append(f"passed in a new session: {', '.join(ids)} (the run passes)")
        session.exitstatus = pytest.ExitCode.OK
    else:
        _outcome.append(f"failed again in a new session (exit {rc}): {', '.join(ids)}")


def pytest_terminal_summary(terminalreporter) -> None:
    for line in _outcome:
        terminalreporter.write_sep("=", f"browser rerun: {line}", yellow=True, bold=True)
