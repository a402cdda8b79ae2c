"""Field limits said in words (ui/limits.py, #18.6): Streamlit's `max_chars` drops a longer
paste whole, so no field sets it; a text over its limit is named with both lengths."""
from __future__ import annotations

import ast
from pathlib import Path

from ui.limits import too_long, up_to

ROOT = Path(__file__).resolve().parents[2]
# Screening widgets being written by others at the time of #18.6: their two reason fields and
# the lists page still set max_chars, to be changed (and brought under the test) once they land.
NOT_YET: set[str] = set()


def test_each_field_over_its_limit_is_named_with_both_lengths():
    assert too_long({"Full name": ("F" * 201, 200), "Email": ("a@b.c", 254),
                     "Description": (None, 200)}) == [
        "Full name takes at most 200 characters; this text has 201. Shorten it and try again "
        "(nothing was cut)."]
    assert too_long({"Full name": ("F" * 200, 200)}) == []
    assert up_to(2000) == "Up to 2,000 characters."


def test_no_text_field_sets_max_chars():
    found = []
    for path in sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "dashboard.py"]):
        name = str(path.relative_to(ROOT))
        if name in NOT_YET:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and any(k.arg == "max_chars" for k in node.keywords):
                found.append(f"{name}:{node.lineno}")
    assert found == []


def test_the_fields_not_yet_changed_are_still_there_to_change():
    """Keeps NOT_YET honest: a file fixed (or gone) leaves the list."""
    for name in NOT_YET:
        path = ROOT / name
        assert path.is_file() and "max_chars" in path.read_text(), name
