"""`python -m core screening load|lists|versions` (core/cli/screening.py) against the test
database: a load prints what changed, a refused file its line problems (exit 1, nothing
written), a non-admin is refused, and the lists and versions read back."""
from __future__ import annotations

import json
from pathlib import Path

from core.screening.lists import lists_fingerprint
from tests.factories import make_case, row_counts
from tests.screening.test_list_files import sdn_file, sdn_row

DEMO = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"


def test_load_prints_what_changed_and_queues_cases(cli_db, cli, tmp_path):
    make_case(cli_db, "C-1")
    code, out, err = cli("screening", "load", DEMO / "demo_sanctions.csv", "--list",
                         "demo-sanctions", "--format", "opensanctions", "--title", "Demo list")
    assert (code, err) == (0, "")
    assert out.strip() == ("list demo-sanctions version 1: 40 added, 0 changed, 0 removed "
                           "(40 entries); 1 case queued for rescreening")
    code, out, _ = cli("screening", "load", DEMO / "demo_sanctions.csv", "--list",
                       "demo-sanctions", "--format", "opensanctions")
    assert code == 0 and "unchanged" in out
    smaller = tmp_path / "sdn.csv"
    smaller.write_bytes(sdn_file(sdn_row("1", "ACME LTD"), sdn_row("2", "BETA LTD")))
    code, out, _ = cli("screening", "load", smaller, "--list", "sdn", "--format", "ofac-sdn",
                       "--as-user", "admin")
    assert code == 0 and out.startswith("list sdn version 1: 2 added")
    smaller.write_bytes(sdn_file(sdn_row("2", "BETA LIMITED")))
    code, out, _ = cli("screening", "load", smaller, "--list", "sdn", "--format", "ofac-sdn")
    assert out.startswith("list sdn version 2: 0 added, 1 changed, 1 removed (1 entry)")


def test_a_refused_file_prints_its_lines_and_writes_nothing(cli_db, cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(sdn_file(sdn_row("1", "=1+1"), sdn_row("x")))
    before = row_counts(cli_db)
    code, out, err = cli("screening", "load", bad, "--list", "sdn", "--format", "ofac-sdn")
    assert code == 1 and out == ""
    assert err.splitlines() == [
        "error: the list file was refused",
        "  line 1: SDN_Name: '=1+1' starts like a spreadsheet formula (=, +, -, @, tab); "
        "refused so no spreadsheet runs it",
        "  line 2: ent_num: 'x' is not a whole number"]
    assert row_counts(cli_db) == before


def test_only_an_admin_may_load(cli_db, cli):
    code, _, err = cli("screening", "load", DEMO / "demo_sdn.csv", "--list", "sdn",
                       "--format", "ofac-sdn", "--as-user", "reviewer")
    assert code == 1 and "may not manage screening lists" in err
    assert lists_fingerprint(cli_db) == ()
    code, _, err = cli("screening", "load", "/no/such/file.csv", "--list", "sdn",
                       "--format", "ofac-sdn")
    assert code == 1 and err.startswith("error: cannot read /no/such/file.csv")


def test_lists_and_versions(cli_db, cli):
    code, out, _ = cli("screening", "lists")
    assert code == 0 and out.startswith("no screening lists yet")
    cli("screening", "load", DEMO / "demo_sdn.csv", "--list", "demo-sdn", "--format", "ofac-sdn",
        "--as-user", "admin")
    code, out, _ = cli("screening", "lists")
    assert code == 0 and out.startswith("demo-sdn") and "20 entries" in out and "by admin" in out
    code, out, _ = cli("screening", "lists", "--json")
    (info,) = json.loads(out)
    assert (info["name"], info["version"], info["entries"], info["format"]) == (
        "demo-sdn", 1, 20, "ofac_sdn")
    code, out, _ = cli("screening", "versions", "demo-sdn")
    assert code == 0 and out.startswith("v1") and "+20 ~0 -0  demo_sdn.csv" in out
    code, out, _ = cli("screening", "versions", "demo-sdn", "--json")
    assert json.loads(out)[0]["changes"]["added"][:2] == ["90101", "90102"]
    code, _, err = cli("screening", "versions", "nope")
    assert code == 1 and "no screening list named 'nope'" in err
