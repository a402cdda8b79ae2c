"""`python -m core bulk` (core/cli/worklist.py): by case ids or by the list's filters; the
result lists what was done, unchanged and refused (why); exit 3 when some were refused."""
from __future__ import annotations

import json

from core.store.models import Case
from tests.factories import make_case, row_counts


def _assignee(db, case_id):
    with db.read() as s:
        return s.get(Case, case_id).assignee


def test_bulk_assign_by_case_ids_lists_the_refused(cli_db, cli):
    make_case(cli_db, "C-1")
    make_case(cli_db, "C-2", assignee="reviewer2")
    make_case(cli_db, "C-3", assignee="reviewer")
    code, out, err = cli("bulk", "assign", "--as", "reviewer", "--case", "C-1", "--case", "C-2",
                         "--case", "C-3", "--case", "C-404")
    assert code == 3 and err == ""
    assert out.splitlines() == [
        "1 assigned, 1 unchanged, 2 refused",
        "unchanged (already so): C-3",
        "refused:",
        "  C-2: case C-2 is assigned to reviewer2; only an admin can reassign it",
        "  C-404: case 'C-404' not found",
    ]
    assert _assignee(cli_db, "C-1") == "reviewer"


def test_bulk_by_the_lists_filters_with_json(cli_db, cli):
    make_case(cli_db, "C-1", name="Alpha Filtered Ltd")
    make_case(cli_db, "C-2", name="Beta Filtered Ltd")
    make_case(cli_db, "C-3", name="Gamma Other Ltd")
    code, out, _ = cli("bulk", "tag", "--as", "lead", "--search", "Filtered", "--tag", "batch-7",
                       "--sort", "name", "--order", "asc", "--json")
    assert code == 0
    assert json.loads(out) == {"action": "tag", "done": ["C-1", "C-2"], "unchanged": [],
                               "refused": []}
    code, out, _ = cli("bulk", "assign", "--as", "lead", "--to", "reviewer2",
                       "--assignee", "unassigned")
    assert code == 0 and out == "3 assigned, 0 unchanged, 0 refused\n"
    code, out, _ = cli("bulk", "reject", "--as", "lead", "--case", "C-1", "--reason", "shell")
    assert code == 3 and "only the case's assignee may do this" in out


def test_bulk_requests_refused_whole(cli_db, cli):
    make_case(cli_db, "C-1")
    counts = row_counts(cli_db)
    code, _, err = cli("bulk", "reject", "--as", "lead", "--case", "C-1")
    assert code == 1 and err == "error: a reason is required to reject cases\n"
    code, _, err = cli("bulk", "tag", "--as", "reviewer", "--case", "C-1", "--tag", "x")
    assert code == 1 and err.startswith("error: reviewer (reviewer) may not tag cases in bulk")
    code, _, err = cli("bulk", "assign", "--case", "C-1")
    assert code == 1 and err == "error: bulk needs --as USER (who acts)\n"
    code, _, err = cli("bulk", "assign", "--as", "lead", "--search", "nothing-like-it")
    assert code == 1 and err == "error: no case matches these filters\n"
    assert row_counts(cli_db) == counts
