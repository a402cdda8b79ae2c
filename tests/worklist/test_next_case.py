"""Next case (core/worklist/next_case.py): the order it hands cases out in, who may take what,
the assignment it writes, and processes racing for the queue: N workers × M takes never get
the same case twice, and every taken case is assigned to exactly its taker."""
from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from core.access.users import add_user, set_disabled
from core.cases import actions as ca
from core.errors import NotAllowed
from core.store.models import AuditEvent, Case, utcnow
from core.worklist.next_case import NEXT_CASE_STATUSES, take_next_case
from core.worklist.query import CaseFilter
from core.worklist.views import ensure_default_views, find_view
from tests.factories import make_case, version_of

HANG_S = 120  # only a hung test gets near this
NOW = utcnow()


def _due(db, case_id, due):
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(due_at=due))


def _created(db, case_id, when):
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(created_at=when))


def _assignee(db, case_id):
    with db.read() as s:
        return s.get(Case, case_id).assignee


def test_only_statuses_waiting_for_a_decision_are_handed_out():
    assert NEXT_CASE_STATUSES == ("manual_review",)


def test_order_overdue_first_then_soonest_due_then_oldest_without_a_due_time(db):
    for case_id in ("C-SOON", "C-LATE", "C-LATER", "C-NODUE-OLD", "C-NODUE-NEW"):
        make_case(db, case_id)
    _due(db, "C-LATE", NOW - timedelta(hours=5))
    _due(db, "C-LATER", NOW - timedelta(hours=1))
    _due(db, "C-SOON", NOW + timedelta(hours=2))
    _due(db, "C-NODUE-OLD", None)
    _due(db, "C-NODUE-NEW", None)
    _created(db, "C-NODUE-OLD", NOW - timedelta(days=9))
    taken = []
    for _ in range(5):
        case_id = take_next_case(db, "reviewer")
        taken.append(case_id)
        ca.reject_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id),
                       reason="done")
    assert taken == ["C-LATE", "C-LATER", "C-SOON", "C-NODUE-OLD", "C-NODUE-NEW"]
    assert take_next_case(db, "reviewer") is None


def test_own_cases_come_first_and_are_returned_without_a_write(db):
    make_case(db, "C-FREE")
    make_case(db, "C-MINE", assignee="reviewer")
    _due(db, "C-FREE", NOW - timedelta(days=3))  # more urgent, but not mine
    _due(db, "C-MINE", NOW + timedelta(hours=10))
    version = version_of(db, "C-MINE")
    assert take_next_case(db, "reviewer") == "C-MINE"
    assert version_of(db, "C-MINE") == version and _assignee(db, "C-FREE") is None


def test_other_peoples_cases_and_cases_not_waiting_for_a_decision_are_never_taken(db):
    make_case(db, "C-THEIRS", assignee="reviewer2")
    make_case(db, "C-COLLECTING", collection_completed=False)
    make_case(db, "C-PROCESSING", processes=("pending",))
    make_case(db, "C-DONE", assignee="reviewer", reviewed=True)
    ca.approve_case(db, "C-DONE", actor="reviewer", expected_version=version_of(db, "C-DONE"))
    assert take_next_case(db, "admin") is None
    assert take_next_case(db, "reviewer") is None
    assert _assignee(db, "C-THEIRS") == "reviewer2"


def test_taking_assigns_through_assign_with_its_audit_event_and_version(db):
    make_case(db, "C-1")
    version = version_of(db, "C-1")
    assert take_next_case(db, "reviewer") == "C-1"
    assert _assignee(db, "C-1") == "reviewer" and version_of(db, "C-1") == version + 1
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == "C-1",
                                                   AuditEvent.kind == "case.assigned")).one()
    assert (event.actor, event.before, event.after) == (
        "reviewer", {"assignee": None}, {"assignee": "reviewer"})


def test_the_view_or_filter_limits_what_is_taken(db):
    with db.unit_of_work() as s:
        ensure_default_views(s)
    make_case(db, "C-ONB")
    make_case(db, "C-MON", workflow="ongoing_monitoring")
    _due(db, "C-ONB", NOW - timedelta(days=1))
    assert take_next_case(db, "reviewer", find_view(db, "Ongoing monitoring")) == "C-MON"
    assert take_next_case(db, "reviewer2", CaseFilter(search="C-MON")) is None
    assert take_next_case(db, "reviewer2", CaseFilter(statuses=("revisions",))) is None
    assert take_next_case(db, "reviewer2", CaseFilter(workflows=("onboarding",))) == "C-ONB"


def test_analysts_and_disabled_users_are_refused(db):
    make_case(db, "C-1")
    with pytest.raises(NotAllowed):
        take_next_case(db, "analyst")
    set_disabled(db, "reviewer2", True)
    with pytest.raises(NotAllowed):
        take_next_case(db, "reviewer2")
    with pytest.raises(NotAllowed):
        take_next_case(db, "nobody")
    assert _assignee(db, "C-1") is None


# --- processes racing -----------------------------------------------------------------------

WORKERS = ("reviewer", "reviewer2", "admin", "reviewer3")
TAKES = 4


def _wait(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + HANG_S
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"worker exited before the barrier: {proc.communicate()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"hung: {path.name} not written within {HANG_S} s")
        time.sleep(0.01)


def test_processes_racing_never_take_the_same_case(db, database_url, tmp_path):
    """Each worker takes TAKES times (its earlier take is decided first, so Next case does not
    hand it back: "work the queue"), all starting at one go file. More workers than cases at
    the end: the last takes find nothing."""
    add_user(db, "reviewer3", "Third Reviewer", "reviewer", "a long password 3", actor="system")
    n_cases = len(WORKERS) * TAKES - 2
    for i in range(n_cases):
        make_case(db, f"R-{i:02d}")
        _due(db, f"R-{i:02d}", NOW - timedelta(minutes=i % 5))
    root = Path(__file__).resolve().parents[2]
    go = tmp_path / "go"
    procs = {}
    try:
        for user in WORKERS:
            procs[user] = subprocess.Popen(
                [sys.executable, "-m", "tests.worklist.next_case_worker", database_url, user,
                 str(TAKES), str(tmp_path / f"ready-{user}"), str(go), "reject"],
                cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for user, proc in procs.items():
            _wait(tmp_path / f"ready-{user}", proc)
        go.touch()
        taken: dict[str, list[str]] = {}
        for user, proc in procs.items():
            out, err = proc.communicate(timeout=HANG_S)
            assert proc.returncode == 0, err
            taken[user] = out.split()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
    ids = [c for got in taken.values() for c in got if c != "none"]
    assert len(ids) == len(set(ids)) == n_cases, taken
    with db.read() as s:
        for user, got in taken.items():
            for case_id in got:
                if case_id != "none":
                    case = s.get(Case, case_id)
                    assert (case.assignee, case.decided_by) == (user, user), (case_id, user)
            if "none" in got:  # once empty, the queue stays empty
                assert set(got[got.index("none"):]) == {"none"}, got
        assigned = s.scalars(select(AuditEvent.case_id).where(AuditEvent.kind == "case.assigned"))
        assert sorted(assigned) == sorted(ids)  # one assignment per case, none twice
