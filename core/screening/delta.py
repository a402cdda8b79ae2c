"""What a rescreen may skip: the built-in screener's matcher (core/screening/matching.py)
remembers how each screening chose its candidates (`Retrieval`, `MatchMemo`), and a later
screening of the same subject against a newer version of the lists compares only the
candidates that memory does not vouch for (`worth_comparing`) — with the same answer as
comparing them all. docs/SCREENING.md ("Rescreening after a reload") says when this is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import AbstractSet

import numpy as np

from core.screening.names import WordFacts


@dataclass(frozen=True)
class Retrieval:
    """How one reading of a screened name chose its candidates: each probe's rank weights
    (by probe id: the word's own postings and those of the words reached), each initial's,
    and `cut`, the rank and tie key (entry key * 2**20 + name slot) of the best name left out
    when more names were reached than SCORED_NAMES (None: every name reached was compared)."""
    weights: dict[str, tuple[float, float]]
    initials: dict[str, float]
    cut: tuple[float, int] | None


@dataclass(frozen=True)
class MatchMemo:
    """What a screening needs to know of the previous one of the same query: its readings'
    `Retrieval`s (by schema), the keys of every entry it found at the threshold, and whether
    that was all of them (`complete`: no more than the limit)."""
    retrievals: dict[str, Retrieval]
    found: frozenset[int]
    complete: bool


def worth_comparing(names, nids: list[int], facts: list[WordFacts],
                    allowed: tuple[int, ...], reach: tuple, before: Retrieval | None,
                    entry_keys: np.ndarray, changed: AbstractSet[int]) -> list[int]:
    """Of the candidates `nids` (of the index's `names`, reached through `reach`), those
    whose comparison an earlier screening of the same name (`before`) does not vouch for:
    an entry in `changed` (or found before), or a name the earlier screening did not
    compare — not reached by its probes, or ranked (under its weights, recomputed by the
    index's own ranking) below its cut; equal to the cut, by the tie key. A rank within
    rounding of the cut but not equal to it is not vouched for."""
    if before is None or not nids:
        return nids
    ranked, scores = names.ranked(facts, allowed, reach, before.weights, before.initials)
    if ranked is None or not len(ranked[0]):
        return nids
    earlier = ranked[0]
    chosen = np.asarray(nids, dtype=earlier.dtype)
    at = np.minimum(np.searchsorted(earlier, chosen), len(earlier) - 1)
    vouched = earlier[at] == chosen
    if before.cut is not None:
        rank, (rank_cut, tie_cut) = scores[at], before.cut
        vouched &= (rank > rank_cut + 1e-5 * max(1.0, abs(rank_cut))) | (
            (rank == rank_cut) & (names.tie[chosen] < tie_cut))
    keys = entry_keys[names.entry[chosen]].tolist()
    return [nid for nid, ok, key in zip(nids, vouched.tolist(), keys)
            if not ok or key in changed]


def memo_to_json(memo: MatchMemo) -> dict:
    """A memo as JSON (floats round-trip exactly through JSON's shortest repr)."""
    return {"found": sorted(memo.found), "complete": memo.complete,
            "readings": {schema: {"weights": {p: list(w) for p, w in r.weights.items()},
                                  "initials": r.initials,
                                  "cut": list(r.cut) if r.cut is not None else None}
                         for schema, r in memo.retrievals.items()}}


def memo_from_json(data: dict) -> MatchMemo | None:
    """The memo `memo_to_json` wrote; None for anything else (a row of another shape)."""
    try:
        readings = {schema: Retrieval({p: (float(w[0]), float(w[1]))
                                       for p, w in r["weights"].items()},
                                      {k: float(v) for k, v in r["initials"].items()},
                                      (float(r["cut"][0]), int(r["cut"][1]))
                                      if r["cut"] is not None else None)
                    for schema, r in data["readings"].items()}
        return MatchMemo(readings, frozenset(int(k) for k in data["found"]),
                         bool(data["complete"]))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
