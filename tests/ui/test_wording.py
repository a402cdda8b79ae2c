"""Counts as people say them (#18.11): "1 case", "2 cases", "1 delivery" — never "1 cases" nor
"case(s)" — in the UI's own texts and in the reasons the preview shows from the core."""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from core.cases.status import CaseAction, CaseFacts, CaseStatus, case_action_availability
from ui.text import count_of

ROOT = Path(__file__).resolve().parents[2]
# Pages being written by others at the time of #18.11 (the screening lists page): to come under
# the test below once they land.
NOT_YET: set[str] = set()


@pytest.mark.parametrize("n, one, many, said", [
    (0, "case", None, "0 cases"), (1, "case", None, "1 case"), (2, "case", None, "2 cases"),
    (1_234, "case", None, "1,234 cases"), (1, "delivery", "deliveries", "1 delivery"),
    (3, "delivery", "deliveries", "3 deliveries"), (1, "change", None, "1 change"),
])
def test_a_count_takes_the_noun_its_number_needs(n, one, many, said):
    assert count_of(n, one, many) == said


@pytest.mark.parametrize("blocks, said", [(1, "1 block is"), (2, "2 blocks are")])
def test_the_reason_approve_is_off_for_blocks_to_reupload_counts_them_right(blocks, said):
    reason = case_action_availability(CaseStatus.MANUAL_REVIEW, CaseAction.APPROVE,
                                      CaseFacts(reupload_needed_blocks=blocks)).reason
    assert reason == f'Approve is refused while {said} "Re-upload needed"'


def test_no_text_of_the_ui_counts_with_a_bracketed_plural():
    """No string in ui/ or pages/ says "word(s)" ("http(s)" is not a count)."""
    found = []
    for path in sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py")]):
        name = str(path.relative_to(ROOT))
        if name in NOT_YET:
            continue
        for token in tokenize.generate_tokens(io.StringIO(path.read_text()).readline):
            text = re.sub(r"\{[^{}]*\}", "", token.string)  # an f-string's expressions out
            text = text.replace("http(s)", "")
            if token.type == tokenize.STRING and re.search(r"[a-z]\(s\)", text):
                found.append(f"{name}:{token.start[0]}: {token.string}")
    assert found == []
