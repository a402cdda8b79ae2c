"""`python -m core show` and `export`, issue #10: `show --as` an unknown or disabled user is an
error like everywhere else (one line on stderr, exit 1, nothing on stdout); `show` prints the
timeline as sentences; `export --sort/--order` follows the list's sort."""
from __future__ import annotations

import csv
import io

import pytest

from core.access import users
from core.cases import actions as ca
from core.cases.read import case_detail
from core.worklist.query import CaseFilter, list_cases
from tests.factories import make_case, version_of


@pytest.mark.parametrize("who", ["nosuchuser", "reviewer2"])
def test_show_as_an_unknown_or_disabled_user_is_an_error(cli_db, cli, who):
    make_case(cli_db, "A-1")
    users.set_disabled(cli_db, "reviewer2", True)
    code, out, err = cli("show", "A-1", "--as", who)
    assert code == 1
    assert out == ""
    assert err == f"error: user {who!r} does not exist or is disabled\n"
    code, out, err = cli("show", "A-1", "--as", who, "--json")
    assert (code, out) == (1, "")


def test_show_as_an_active_user_or_nobody_shows_the_case(cli_db, cli):
    make_case(cli_db, "A-1")
    for argv in (("--as", "analyst"), ()):
        code, out, err = cli("show", "A-1", *argv)
        assert code == 0 and err == ""
        assert out.startswith("A-1  Acme Trading Ltd")


def test_show_prints_the_timeline_as_sentences(cli_db, cli):
    make_case(cli_db, "A-1", assignee="reviewer")
    ca.edit_user_data(cli_db, "A-1", {"industry": "=HYPERLINK(\"x\")\x1b[31m"}, actor="reviewer",
                      expected_version=version_of(cli_db, "A-1"))
    document = case_detail(cli_db, "A-1").documents[0].ref
    ca.approve_block(cli_db, "A-1", document, actor="reviewer",
                     expected_version=version_of(cli_db, "A-1"))
    ca.approve_case(cli_db, "A-1", actor="reviewer", expected_version=version_of(cli_db, "A-1"),
                    reason="all good")
    code, out, _ = cli("show", "A-1")
    assert code == 0
    timeline = out.split("timeline (newest first):\n", 1)[1].splitlines()
    assert timeline[0].endswith("  Email “case approved” queued for delivery")
    assert any(line.endswith("  reviewer approved the case: all good") for line in timeline)
    assert any(line.endswith("  Status changed from Manual review to Approved")
               for line in timeline)
    assert any(line.endswith("  reviewer changed Industry from “trading” to "
                             "“=HYPERLINK(\"x\") [31m”") for line in timeline), timeline
    for line in timeline:
        assert line.startswith("  20") and "case.approved" not in line and "\x1b" not in line


def _ids(text: str) -> list[str]:
    return [r[0] for r in list(csv.reader(io.StringIO(text, newline="")))[1:]]


@pytest.mark.parametrize("sort", ["name", "created_at", "status", "id", "updated_at"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_export_follows_sort_and_order(cli_db, cli, sort, order):
    for i, name in enumerate(["Birch", "alder", "Ash", "Zed", "Birch"]):
        make_case(cli_db, f"E-{i}", name=name, collection_completed=bool(i % 2))
    expected = [r.id for r in list_cases(cli_db, CaseFilter(), sort=sort,
                                         descending=order == "desc").rows]
    code, out, err = cli("export", "--as", "analyst", "--sort", sort, "--order", order)
    assert code == 0, err
    assert _ids(out) == expected


def test_export_without_a_sort_is_newest_first(cli_db, cli):
    for i in range(4):
        make_case(cli_db, f"E-{i}")
    code, out, _ = cli("export", "--as", "analyst")
    assert _ids(out) == [r.id for r in list_cases(cli_db, CaseFilter()).rows]


def test_export_refuses_a_sort_the_list_does_not_have(cli_db, cli):
    with pytest.raises(SystemExit) as exit_:
        cli("export", "--as", "analyst", "--sort", "shoe_size")
    assert exit_.value.code == 2
