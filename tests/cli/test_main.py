"""`python -m core`: every command has --help, `show` reports the SPEC's actions for each of
the seven statuses, actions go through the service layer, errors are one line and non-zero."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.cases import actions as ca
from core.cli import build_parser, main
from tests.factories import make_case, status_of, version_of

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    names = [[name] for name in sub.choices]
    users = sub.choices["users"]._actions
    users_sub = next(a for a in users if a.dest == "users_command")
    return names + [["users", name] for name in users_sub.choices]


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m core " + " ".join(command))


def _case_in(db, status: str) -> str:
    """A case in the given status, made the way the outside world and reviewers would."""
    case_id = f"S-{status}"
    if status == "collection_flow":
        make_case(db, case_id, collection_completed=False)
    elif status == "pending_process":
        make_case(db, case_id, processes=("pending",))
    elif status == "pending_id_verification":
        make_case(db, case_id, ubos=1, kyc_state="sent", kyc_result=False)
    else:
        make_case(db, case_id, reviewed=status == "approved")
    if status in ("revisions", "approved", "rejected"):
        ca.assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=1)
        if status == "revisions":
            ca.ask_to_reupload_block(db, case_id, "document:" + _first_doc(db, case_id),
                                     actor="reviewer", expected_version=2, reason="Missing page")
            ca.ask_for_reuploads(db, case_id, actor="reviewer", expected_version=3)
        elif status == "approved":
            ca.approve_case(db, case_id, actor="reviewer", expected_version=2)
        else:
            ca.reject_case(db, case_id, actor="reviewer", expected_version=2, reason="fraud")
    assert status_of(db, case_id) == status
    return case_id


def _first_doc(db, case_id):
    from core.cases.read import case_detail
    return str(case_detail(db, case_id).documents[0].id)


SHOW_TABLE = [  # the SPEC's table, as `show` prints it
    ("collection_flow", "Collection flow", "none"),
    ("pending_process", "Pending process", "Reject, Ask for all re-uploads"),
    ("pending_id_verification", "Pending ID verification", "Reject, Ask for all re-uploads"),
    ("manual_review", "Manual review", "Approve, Reject, Ask for all re-uploads"),
    ("revisions", "Revisions", "Reject"),
    ("approved", "Approved", "none"),
    ("rejected", "Rejected", "none"),
]


@pytest.mark.parametrize("status,label,actions", SHOW_TABLE)
def test_show_reports_the_spec_actions_per_status(cli_db, capsys, status, label, actions):
    case_id = _case_in(cli_db, status)
    code, out, _ = run(capsys, "show", case_id)
    assert code == 0
    assert f"status:   {label}\n" in out
    assert f"case actions for this status: {actions}\n" in out
    code, out, _ = run(capsys, "show", case_id, "--json")
    data = json.loads(out)
    assert data["status"] == status and data["version"] == version_of(cli_db, case_id)
    assert {b["ref"] for b in data["documents"]} and all("actions" in b for b in data["documents"])


def test_act_goes_through_the_service_layer(cli_db, capsys):
    make_case(cli_db, "A-1", reviewed=True)
    code, out, err = run(capsys, "act", "A-1", "approve", "--as", "reviewer")
    assert code == 1 and "assignee" in err and err.count("\n") == 1
    assert run(capsys, "act", "A-1", "assign", "--as", "reviewer")[0] == 0
    code, out, err = run(capsys, "act", "A-1", "reject", "--as", "reviewer")
    assert code == 1 and "reason is required" in err
    code, out, err = run(capsys, "act", "A-1", "approve", "--as", "reviewer", "--version", "1")
    assert code == 1 and "This case changed since you opened it" in err
    code, out, _ = run(capsys, "act", "A-1", "approve", "--as", "reviewer", "--reason", "ok")
    assert code == 0 and "Approved" in out
    assert status_of(cli_db, "A-1") == "approved"


def test_list_and_views(cli_db, capsys):
    make_case(cli_db, "L-1", name="Kowloon Tea House", country="HK")
    make_case(cli_db, "L-2", name="Beijing Lantern Co", country="CN")
    from core.app_setup import prepare_database
    prepare_database(cli_db, demo=False)
    code, out, _ = run(capsys, "list", "--view", "China companies", "--json")
    assert code == 0 and [r["id"] for r in json.loads(out)["rows"]] == ["L-2"]
    code, out, _ = run(capsys, "list", "--search", "kowloon")
    assert "L-1" in out and "L-2" not in out
    code, out, _ = run(capsys, "views")
    assert "Hong Kong companies" in out
    code, _, err = run(capsys, "list", "--view", "Nope")
    assert code == 1 and "no view named" in err


def test_users_commands(cli_db, capsys, monkeypatch):
    import io
    monkeypatch.setattr(sys, "stdin", io.StringIO("a-long-password\n"))
    code, out, _ = run(capsys, "users", "add", "carol", "--role", "reviewer", "--password-stdin")
    assert code == 0
    code, out, _ = run(capsys, "users", "list")
    assert "carol" in out and "reviewer" in out and "a-long-password" not in out
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "users", "set-password", "carol", "--password-stdin")
    assert code == 1 and "at least" in err
    assert run(capsys, "users", "disable", "carol")[0] == 0
    code, _, err = run(capsys, "users", "disable", "admin")
    assert code == 1 and "last admin" in err


def test_errors_are_one_line_without_traceback(database_url, db):
    env = {**os.environ, "DOCKET_DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, "-m", "core", "show", "NOPE"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr == "error: case 'NOPE' not found\n"
    bad = {**os.environ, "DOCKET_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    result = subprocess.run([sys.executable, "-m", "core", "list"], cwd=ROOT, env=bad,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")


def test_import_and_event_from_the_shell(cli_db, capsys):
    code, out, err = run(capsys, "import", str(ROOT / "examples" / "cases.json"))
    assert code == 0, err
    ids = out.split(": ", 1)[1].strip().split(", ")
    collecting = [i for i in ids if status_of(cli_db, i) == "collection_flow"]
    assert collecting
    code, out, err = run(capsys, "event", collecting[0], "collection_completed")
    assert code == 0, err
    assert status_of(cli_db, collecting[0]) != "collection_flow"
    code, _, err = run(capsys, "import", str(ROOT / "README.md"))
    assert code == 1 and err.startswith("error: ")
