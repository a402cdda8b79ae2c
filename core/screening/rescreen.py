"""Rescreening only what changed: the per-case memory of the built-in screener's last
screening (`screening_case_states`, migration 0018) and its use by the next one.

After each screening the worker keeps, per case, the lists' versions it screened against,
the threshold, and per subject the hash of what the matcher was asked with the matcher's
memo (core/screening/delta.py). The next screening of the case — typically a list reload's
— asks the matcher about a subject with that memo and the entries changed since those
versions (`LoadedIndex.since`, core/screening/runner.py) when everything else is the same;
the matcher then compares only the candidates the memo does not vouch for, and answers
exactly what a full screening would. Anything that does not fit — no row (a case screened
before this revision, or never), another threshold, lists at versions this worker did not
see, a subject whose data changed, a memo that found more hits than it kept — is screened
in full. docs/SCREENING.md ("Rescreening after a reload").
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import AbstractSet

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.screening.delta import MatchMemo, memo_from_json, memo_to_json
from core.screening.matching import Query
from core.store.base import utcnow
from core.store.db import Database
from core.store.screening_state_models import CaseScreeningState

log = logging.getLogger("docket.screening")

# Part of every query hash: a change to how the matcher chooses or scores candidates bumps
# it, and every memory written before is ignored (a full screening each).
MEMO_VERSION = 1

Fingerprint = tuple[tuple[str, int], ...]


def query_hash(query: Query, limit: int) -> str:
    """SHA-256 of what the matcher is asked about a subject (and the memo's version and
    the hit limit the memo's `complete` refers to)."""
    text = json.dumps([MEMO_VERSION, limit, query.name, query.birth_date, query.country,
                       query.schema], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class CaseMemory:
    """One case's screening: what the last one left that this one may use (`before`), the
    entries changed since (`changed`), and the memos this one leaves (`kept`)."""
    usable: dict[str, tuple[str, MatchMemo]] = field(default_factory=dict)
    changed: AbstractSet[int] = frozenset()
    kept: dict[str, dict] = field(default_factory=dict)
    delta_subjects: int = 0

    def before(self, subject: str, query: Query, limit: int) -> MatchMemo | None:
        held = self.usable.get(subject)
        if held is None or held[0] != query_hash(query, limit):
            return None
        self.delta_subjects += 1
        return held[1]

    def keep(self, subject: str, query: Query, limit: int, memo: MatchMemo | None) -> None:
        if memo is not None:
            self.kept[subject] = {"query": query_hash(query, limit), "memo": memo}

    def again(self) -> "CaseMemory":
        """For screening the case once more against the same index (under its lock): this
        screening's memos, nothing changed."""
        return CaseMemory({s: (k["query"], k["memo"]) for s, k in self.kept.items()})


def read_memories(session: Session, case_ids: list[str], fingerprint: Fingerprint,
                  since: dict[Fingerprint, AbstractSet[int]],
                  thresholds: dict[str, int]) -> dict[str, CaseMemory]:
    """Each case's memory, usable against the index of `fingerprint` when its row has the
    case's threshold (`thresholds`, by case) and lists at `fingerprint` or at one in
    `since` (then with the entries changed since); a case without a usable row gets an
    empty memory (a full screening)."""
    found: dict[str, CaseMemory] = {}
    rows = session.execute(select(CaseScreeningState.case_id, CaseScreeningState.lists,
                                  CaseScreeningState.threshold, CaseScreeningState.subjects)
                           .where(CaseScreeningState.case_id.in_(case_ids)))
    for case_id, lists, threshold, subjects in rows:
        try:
            screened_at = tuple((str(name), int(version)) for name, version in lists)
        except (TypeError, ValueError):
            continue
        changed = frozenset() if screened_at == fingerprint else since.get(screened_at)
        if changed is None or threshold != thresholds.get(case_id) \
                or not isinstance(subjects, dict):
            continue
        usable = {}
        for subject, held in subjects.items():
            memo = memo_from_json(held.get("memo")) if isinstance(held, dict) else None
            if memo is not None and memo.complete and isinstance(held.get("query"), str):
                usable[subject] = (held["query"], memo)
        found[case_id] = CaseMemory(usable, changed)
    return {case_id: found.get(case_id) or CaseMemory() for case_id in case_ids}


def write_memories(db: Database, memories: dict[str, CaseMemory], fingerprint: Fingerprint,
                   thresholds: dict[str, int]) -> None:
    """Replaces the rows of the cases screened (one transaction for the batch). The rows
    only save work: a write that fails is logged and the cases are screened in full next
    time (the hits are recorded already)."""
    if not memories:
        return
    now = utcnow()
    rows = [{"case_id": case_id, "lists": [list(pair) for pair in fingerprint],
             "threshold": thresholds[case_id], "screened_at": now,
             "subjects": {s: {"query": k["query"], "memo": memo_to_json(k["memo"])}
                          for s, k in memory.kept.items()}}
            for case_id, memory in memories.items()]
    try:
        with db.unit_of_work() as session:
            session.execute(delete(CaseScreeningState)
                            .where(CaseScreeningState.case_id.in_(list(memories))))
            session.execute(insert(CaseScreeningState), rows)
    except SQLAlchemyError as e:   # a case deleted meanwhile, a database hiccup
        log.warning("screening memory not kept for %d case(s): %s", len(rows),
                    type(e).__name__)
