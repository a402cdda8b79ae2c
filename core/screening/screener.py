"""The built-in screener: every subject of a case (the entity, each UBO) looked up in the
loaded lists' index, and what it finds recorded as hits through `record_in` — the same rules
as every other source, so a decision sticks across rescreens and cases.

`screen_cases` takes a batch of case ids (the runner's claim) and:

- reads the cases with their subjects and their current built-in hits in two queries;
- matches each subject against the index (core/screening/matching.py) with the workflow's
  threshold (`screening_threshold`, empty: the matcher's default);
- compares what it found with what is recorded, per subject and list (source
  `builtin:<list>`): the same entries with the same hashes is "unchanged" and writes nothing
  (a rescreen after a list reload touches only the cases whose hits change);
- an open case that changed: one unit of work records every subject and list;
- an approved case whose new hits need work (not cleared before, in any case): a review in
  the `ongoing_monitoring` workflow is opened for it, linked by `origin_case_id`, and the
  hits are recorded there (a review still open gets them instead of a second one;
  core/screening/monitoring.py); the approved case is not changed;
- a rejected case, an erased one (docs/RECORDS.md: nothing personal is left to screen, and
  hits would bring some back), or one whose workflow has no subjects to screen: skipped.

Given the index's fingerprint (the runner does), each case's memory of its last screening
is read first and written back after (core/screening/rescreen.py): a subject screened
before with the same data is matched against the entries changed since only, with the same
hits as a full screening.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import AbstractSet, Iterable

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from core.access.actors import SYSTEM_ACTOR, require_permission
from core.access.roles import Permission
from core.cases.actions import load_case
from core.cases.status import CLEARING_DISPOSITIONS, CaseStatus
from core.screening.hits import record_in
from core.screening.inputs import (
    ENTITY,
    MAX_ALIASES,
    MAX_COUNTRIES,
    MAX_DATES,
    MAX_NAME,
    MAX_PROGRAMME,
    MAX_URL,
    HitInput,
    Subject,
    clean_hits,
    match_hash,
    subject_of,
)
from core.screening.matching import DEFAULT_THRESHOLD, Query, ScreeningIndex
from core.screening.monitoring import record_on_review
from core.screening.rescreen import CaseMemory, Fingerprint, read_memories, write_memories
from core.store.db import Database
from core.store.models import Case, ScreeningHit
from core.workflows.definitions import definition_of

SOURCE_PREFIX = "builtin:"
MAX_FOUND = 50  # hits per subject and list: more is a name too common to screen alone
BIRTH_DATE_CHARS = frozenset("0123456789-")

Found = dict[tuple[str, str], dict[str, HitInput]]  # (subject key, source) -> entry id -> hit


@dataclass
class CaseScreening:
    """What one screening of a case did: `unchanged`, `recorded` (an open case's hits
    changed), `review_opened` / `review_updated` (an approved customer's new hits went to a
    monitoring review: `review_case`), `known` (an approved customer's hits are all on its
    open review already, or were decided before), or `skipped` (rejected, erased, or gone)."""
    case_id: str
    outcome: str
    review_case: str | None = None
    new_hits: int = 0
    delta_subjects: int = 0   # subjects matched against what changed since the last time


def source_of(list_name: str) -> str:
    return SOURCE_PREFIX + list_name


def subjects_of(case: Case) -> list[tuple[Subject, Query]]:
    """The entity and each UBO (by id), as the hits' hash sees them and as the matcher is
    asked: a business is an organisation; a person entity and a UBO are people."""
    entity = case.entity
    kind = "person" if entity.kind == "person" else "organization"
    found = [(subject_of(case, ENTITY), Query(entity.name, "", entity.country or "", kind))]
    for ubo in sorted(case.ubos, key=lambda u: u.id):
        subject = subject_of(case, f"ubo:{ubo.id}")
        found.append((subject, Query(ubo.full_name, ubo.date_of_birth or "",
                                     ubo.nationality or "", "person")))
    return found


def _dates(values: Iterable[str]) -> list[str]:
    return [d for d in values if len(d) in (4, 7, 10) and set(d) <= BIRTH_DATE_CHARS][:MAX_DATES]


def _as_hit(candidate) -> dict:
    """A matcher candidate as a hit, clipped to what a hit may hold (a list entry with 300
    aliases keeps the first 200; the hash then reads the same 200 every time)."""
    e = candidate.entry
    url = e.url if e.url and e.url.lower().startswith(("https://", "http://")) \
        and len(e.url) <= MAX_URL else None
    return {"entry_id": e.entry_id, "dataset": e.dataset, "name": e.name[:MAX_NAME],
            "aliases": [a[:MAX_NAME] for a in e.aliases if a.strip()][:MAX_ALIASES],
            "birth_dates": _dates(e.birth_dates), "countries": list(e.countries)[:MAX_COUNTRIES],
            "programme": (e.programme or "")[:MAX_PROGRAMME] or None, "url": url,
            "score": max(0, min(100, int(candidate.score))),
            "matched_fields": list(candidate.matched_fields)}


def find_hits(index: ScreeningIndex, lists: Iterable[str], case: Case,
              threshold: int, memory: CaseMemory | None = None) -> Found:
    """Every list's hits for every subject of the case; a list that found nothing for a
    subject is there with no hits (its earlier hits are then gone). With the case's
    `memory` (core/screening/rescreen.py) a subject screened before with the same data is
    matched against what changed since — the same hits — and each screening's memo is kept
    in it."""
    found: Found = {}
    lists = list(lists)
    limit = MAX_FOUND * 4
    for subject, query in subjects_of(case):
        per_list: dict[str, list[dict]] = {name: [] for name in lists}
        if query.name.strip():
            before = memory.before(subject.key, query, limit) if memory else None
            candidates, memo, _ = index.remembering(
                query, threshold=threshold, limit=limit, before=before,
                changed=memory.changed if before is not None else frozenset())
            if memory is not None:
                memory.keep(subject.key, query, limit, memo)
            for candidate in candidates:
                bucket = per_list.get(candidate.entry.list_name)
                if bucket is not None and len(bucket) < MAX_FOUND:
                    bucket.append(_as_hit(candidate))
        for name, hits in per_list.items():
            found[(subject.key, source_of(name))] = {h.entry_id: h for h in clean_hits(hits)}
    return found


def _hashes(case: Case, found: Found) -> dict[tuple[str, str], dict[str, str]]:
    subjects = {s.key: s for s, _ in subjects_of(case)}
    return {key: {entry_id: match_hash(hit, subjects[key[0]]) for entry_id, hit in hits.items()}
            for key, hits in found.items()}


def _recorded(session: Session, case_ids: list[str]) -> dict[str, dict]:
    """Each case's current built-in hits: (subject, source) -> entry id -> hash."""
    rows = session.execute(
        select(ScreeningHit.case_id, ScreeningHit.subject_key, ScreeningHit.source,
               ScreeningHit.entry_id, ScreeningHit.match_hash)
        .where(ScreeningHit.case_id.in_(case_ids), ScreeningHit.gone_at.is_(None),
               ScreeningHit.source.startswith(SOURCE_PREFIX)))
    recorded: dict[str, dict] = defaultdict(lambda: defaultdict(dict))
    for case_id, subject, source, entry_id, digest in rows:
        recorded[case_id][(subject, source)][entry_id] = digest
    return recorded


def _differs(now: dict, before: dict) -> bool:
    keys = set(now) | {k for k, v in before.items() if v}
    return any(now.get(k, {}) != before.get(k, {}) for k in keys)


def _needing_work(session: Session, case_id: str, now: dict, before: dict) -> int:
    """How many of an approved customer's hits are new: not recorded on the case (before its
    approval), not on a review opened from it and still there, and not decided before
    anywhere (a hash some reviewer cleared or confirmed needs no new work)."""
    fresh = {digest for key, hits in now.items() for entry_id, digest in hits.items()
             if before.get(key, {}).get(entry_id) != digest}
    if not fresh:
        return 0
    known = set(session.scalars(
        select(ScreeningHit.match_hash).where(
            ScreeningHit.match_hash.in_(fresh),
            or_(ScreeningHit.disposition.in_([d.value for d in CLEARING_DISPOSITIONS]),
                and_(ScreeningHit.gone_at.is_(None),
                     ScreeningHit.case_id.in_(select(Case.id).where(
                         Case.origin_case_id == case_id)))))))
    return len(fresh - known)


def _threshold(session: Session, workflow: str, cache: dict[str, int]) -> int:
    if workflow not in cache:
        value = definition_of(session, workflow).get("screening_threshold")
        cache[workflow] = int(value) if isinstance(value, int) else DEFAULT_THRESHOLD
    return cache[workflow]


def _record_open(db: Database, case_id: str, index: ScreeningIndex, lists: list[str],
                 actor: str, memory: CaseMemory | None, threshold: int) -> CaseScreening:
    with db.unit_of_work() as session:
        require_permission(session, actor, Permission.IMPORT_CASES)
        case = load_case(session, case_id, for_update=True)
        if case.case_status in (CaseStatus.APPROVED.value, CaseStatus.REJECTED.value) \
                or case.erased_at is not None:
            return CaseScreening(case_id, "skipped")  # decided or erased since the batch was read
        now = _threshold(session, case.workflow, {})
        again = memory.again() if memory is not None and now == threshold else None
        found = find_hits(index, lists, case, now, again)
        new = 0
        for (subject, source), hits in found.items():
            new += len(record_in(session, case, subject, source, list(hits.values()),
                                 actor).new)
        return CaseScreening(case_id, "recorded", new_hits=new)


def screen_cases(db: Database, case_ids: list[str], index: ScreeningIndex,
                 lists: Iterable[str], *, actor: str = SYSTEM_ACTOR,
                 fingerprint: Fingerprint | None = None,
                 since: dict[Fingerprint, AbstractSet[int]] | None = None
                 ) -> list[CaseScreening]:
    """Screens a batch of cases against `index` (the lists named `lists`); see the module
    docstring. A case that vanished or was rejected is skipped. With the index's
    `fingerprint` (the lists' versions) and `since` (the entries changed since earlier
    fingerprints), each case's memory of its last screening is used and renewed
    (core/screening/rescreen.py); `delta_subjects` on each result counts the subjects
    matched against what changed only."""
    lists = sorted(set(lists))
    results: list[CaseScreening] = []
    approved: list[tuple[str, int, Found]] = []
    changed_open: list[str] = []
    thresholds: dict[str, int] = {}
    with db.read() as session:
        cases = {c.id: c for c in session.scalars(
            select(Case).where(Case.id.in_(case_ids))
            .options(selectinload(Case.entity), selectinload(Case.ubos)))}
        recorded = _recorded(session, list(cases))
        by_case = {case_id: _threshold(session, case.workflow, thresholds)
                   for case_id, case in cases.items()}
        memories = read_memories(session, list(cases), fingerprint, since or {}, by_case) \
            if fingerprint is not None else {}
        for case_id in case_ids:
            case = cases.get(case_id)
            if case is None or case.case_status == CaseStatus.REJECTED.value \
                    or case.erased_at is not None:
                results.append(CaseScreening(case_id, "skipped"))
                memories.pop(case_id, None)
                continue
            found = find_hits(index, lists, case, by_case[case_id], memories.get(case_id))
            now, before = _hashes(case, found), recorded.get(case_id, {})
            if not _differs(now, before):
                results.append(CaseScreening(case_id, "unchanged"))
            elif case.case_status == CaseStatus.APPROVED.value:
                work = _needing_work(session, case_id, now, before)
                if work:
                    approved.append((case_id, work, found))
                else:
                    results.append(CaseScreening(case_id, "known"))
            else:
                changed_open.append(case_id)
    for case_id in changed_open:
        results.append(_record_open(db, case_id, index, lists, actor, memories.get(case_id),
                                    by_case[case_id]))
    for case_id, work, found in approved:
        review, opened = record_on_review(db, case_id, found, actor=actor)
        results.append(CaseScreening(case_id, "review_opened" if opened else "review_updated",
                                     review_case=review, new_hits=work))
    if fingerprint is not None:
        write_memories(db, memories, fingerprint, by_case)
        for result in results:
            memory = memories.get(result.case_id)
            result.delta_subjects = memory.delta_subjects if memory is not None else 0
    return results
