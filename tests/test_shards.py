"""`--shard K/N` (tests/conftest.py): .ci/run splits the SQLite tests between its two lanes
with it, so the shards must add up to the whole suite — every file in exactly one shard."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import shard_of

_paths = st.lists(st.from_regex(r"tests/[a-z]{1,6}/test_[a-z]{1,8}\.py", fullmatch=True),
                  max_size=40)


@given(paths=_paths, n=st.integers(min_value=1, max_value=5))
def test_shards_partition_the_files(paths, n):
    shards = [shard_of(paths, f"{k}/{n}") for k in range(1, n + 1)]
    assert set().union(*shards) == set(paths)
    assert sum(len(s) for s in shards) == len(set(paths))  # no file in two shards


def test_files_are_dealt_round_robin_in_path_order():
    paths = ["tests/b.py", "tests/a.py", "tests/c.py", "tests/a.py"]  # an item per test
    assert shard_of(paths, "1/2") == {"tests/a.py", "tests/c.py"}
    assert shard_of(paths, "2/2") == {"tests/b.py"}


@pytest.mark.parametrize("spec", ["0/2", "3/2", "1", "a/b", "1/2/3", ""])
def test_a_bad_shard_is_refused(spec):
    with pytest.raises(pytest.UsageError, match="--shard"):
        shard_of(["tests/a.py"], spec)


def test_the_ci_splits_the_sqlite_tests_into_both_shards():
    text = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert '-m "not browser" --shard 1/2' in text and '-m "not browser" --shard 2/2' in text
    assert '-m browser' in text
