"""`python -m core screening queue|run` and `act CASE edit-subject` (core/cli/): the queue's
length, screening it now with what it did, a case screened again on request, and a subject
corrected from the shell (queued; refused with its problems and exit 1 on bad input)."""
from __future__ import annotations

from pathlib import Path

from core.cases.read import case_detail
from core.screening.job_queue import pending
from tests.factories import make_case, version_of

DEMO = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"


def test_queue_and_run_screen_every_queued_case(cli_db, cli):
    make_case(cli_db, "C-1", name="Golden Dragon Trading Ltd")
    make_case(cli_db, "C-2", name="Harbourside Bakery Ltd", country="GB")
    code, out, _ = cli("screening", "load", DEMO / "demo_sanctions.csv", "--list",
                       "demo-sanctions", "--format", "opensanctions")
    assert code == 0
    assert cli("screening", "queue")[1].strip() == "2 case(s) queued for screening"
    code, out, err = cli("screening", "run")
    assert (code, err) == (0, "")
    assert out.strip() == "2 case(s) screened: 1 recorded, 1 unchanged"
    assert pending(cli_db) == 0
    assert [s.hits[0].entry["name"] for s in case_detail(cli_db, "C-1", "admin").screening
            if s.hits] == ["Golden Dragon Trading Ltd"]
    code, out, _ = cli("screening", "run", "--case", "C-2")  # again, on request
    assert out.strip() == "1 case(s) screened: 1 unchanged"


def test_act_edit_subject_corrects_and_queues_or_refuses(cli_db, cli):
    make_case(cli_db, "C-1", assignee="reviewer", ubos=1)
    ubo = case_detail(cli_db, "C-1", "admin").kyc_blocks[0].id
    version = version_of(cli_db, "C-1")
    code, out, err = cli("act", "C-1", "edit-subject", "--as", "reviewer", "--subject",
                         f"ubo:{ubo}", "--set", "date_of_birth=1931-13-01")
    assert code == 1 and "date_of_birth: a real date as YYYY-MM-DD" in err
    assert version_of(cli_db, "C-1") == version
    code, out, err = cli("act", "C-1", "edit-subject", "--as", "reviewer", "--subject",
                         f"ubo:{ubo}", "--set", "full_name=Owner Zero",
                         "--set", "nationality=gb")
    assert (code, err) == (0, "")
    detail = case_detail(cli_db, "C-1", "admin")
    assert (detail.kyc_blocks[0].full_name, detail.kyc_blocks[0].nationality) == \
        ("Owner Zero", "GB")
    assert pending(cli_db) == 1  # queued even with no list: the next load screens it anyway
