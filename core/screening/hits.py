"""Recording a screening of one subject of a case, so that decisions stick.

`record_screening` is the one entry point every source of hits calls: the API
(`POST /cases/{id}/screening`), vendors' signed callbacks (a hook source's mapping, through
`record_hooked_screening`), and the built-in screener to come (source "builtin:<list>"). It
compares what the source returns now with what it returned before for that subject:

- the same entry with the same `match_hash`: kept as it is, decision included (last seen
  updated); a hit that had gone and is back keeps its decision too;
- the same entry with another hash (the list changed the entry, or the case's subject data
  changed): re-opened — its disposition is cleared and audited ("the entry or the subject
  changed") — unless an earlier decision on the new hash exists (below);
- a new entry: open, unless an earlier hit anywhere (any case) with the same hash was
  dispositioned true match or false positive: then it carries that decision
  (`carried_from`), shown as "cleared before by X on DATE: reason", and needs no new work;
- an entry the source no longer returns: `gone_at` set; it blocks nothing.

One unit of work: the role (importing cases, as for outside events; "system" for the
screener), the case's lock and version (when given), then the hits, the case's `open_hits`
counter, the audit events, the version bump and the status recomputed — or nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.actions import load_case
from core.cases.state import refresh_status, touch
from core.cases.status import (
    CLEARING_DISPOSITIONS,
    FINAL_STATUSES,
    CaseStatus,
    HitDisposition,
)
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput
from core.screening.inputs import (
    HitInput,
    Subject,
    clean_hits,
    clean_source,
    match_hash,
    subject_key_of,
    subject_of,
)
from core.store import audit
from core.store.db import Database
from core.store.models import Case, ScreeningHit, utcnow

REOPENED_BECAUSE = "the entry or the subject changed"
MAX_LISTED = 20  # entry ids per kind of change named in the audit event


@dataclass
class ScreeningSummary:
    """What a screening changed, per kind, with the hit ids (for the API and the CLI)."""
    case_id: str
    subject: str
    source: str
    new: list[int] = field(default_factory=list)        # open, needing a decision
    carried: list[int] = field(default_factory=list)    # decided before (any case): no work
    reopened: list[int] = field(default_factory=list)   # decision cleared: entry/subject changed
    updated: list[int] = field(default_factory=list)    # undecided, its entry changed
    returned: list[int] = field(default_factory=list)   # had gone, back as it was
    unchanged: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)       # no longer returned
    open_hits: int = 0                                  # the case's, after this screening
    version: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.new or self.carried or self.reopened or self.updated
                    or self.returned or self.gone)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in
                ("new", "carried", "reopened", "updated", "returned", "unchanged", "gone")}


# --- the counter ----------------------------------------------------------------------------

def open_clause():
    """A hit needing work: not gone, and not dispositioned, marked "needs information", or a
    true match without a lead's sign-off."""
    return and_(ScreeningHit.gone_at.is_(None), or_(
        ScreeningHit.disposition.is_(None),
        ScreeningHit.disposition == HitDisposition.NEEDS_INFORMATION.value,
        and_(ScreeningHit.disposition == HitDisposition.TRUE_MATCH.value,
             ScreeningHit.signed_off_by.is_(None))))


def recount_open_hits(session: Session, case: Case) -> int:
    """Sets the case's `open_hits` counter from its hits (one case's rows, by index), in the
    command's own transaction; the case list reads the counter, never COUNT(*) of hits."""
    session.flush()
    n = int(session.scalar(select(func.count()).select_from(ScreeningHit)
                           .where(ScreeningHit.case_id == case.id, open_clause())) or 0)
    if case.open_hits != n:
        case.open_hits = n
    return n


# --- carrying a decision ------------------------------------------------------------------

def _earlier_decision(session: Session, digest: str, not_id: int | None) -> ScreeningHit | None:
    """The newest hit (any case) with this hash dispositioned true match or false positive."""
    stmt = (select(ScreeningHit)
            .where(ScreeningHit.match_hash == digest,
                   ScreeningHit.disposition.in_([d.value for d in CLEARING_DISPOSITIONS]))
            .order_by(ScreeningHit.id.desc()).limit(1))
    if not_id is not None:
        stmt = stmt.where(ScreeningHit.id != not_id)
    return session.scalars(stmt).first()


def _earlier_decisions(session: Session, digests: set[str]) -> dict[str, ScreeningHit]:
    """`_earlier_decision` for many hashes in one query (a new hit has no row of its own to
    leave out): hash -> the newest hit with it dispositioned true match or false positive."""
    found: dict[str, ScreeningHit] = {}
    if digests:
        for hit in session.scalars(
                select(ScreeningHit)
                .where(ScreeningHit.match_hash.in_(digests),
                       ScreeningHit.disposition.in_([d.value for d in CLEARING_DISPOSITIONS]))
                .order_by(ScreeningHit.id.desc())):
            found.setdefault(hit.match_hash, hit)
    return found


def _carry(session: Session, hit: ScreeningHit, actor: str,
           earlier: ScreeningHit | None = None, *, looked_up: bool = False) -> bool:
    """Gives `hit` the decision of an earlier hit with its hash, if one exists (audited);
    `looked_up`: `earlier` was found already (None: there is none)."""
    session.flush()
    if not looked_up:
        earlier = _earlier_decision(session, hit.match_hash, hit.id)
    if earlier is None:
        return False
    hit.disposition, hit.reason = earlier.disposition, earlier.reason
    hit.disposed_by, hit.disposed_at = earlier.disposed_by, earlier.disposed_at
    hit.signed_off_by, hit.signed_off_at = earlier.signed_off_by, earlier.signed_off_at
    hit.carried_from = earlier.id
    audit.record(session, case_id=hit.case_id, actor=actor, kind="screening.hit_carried",
                 after={"hit": hit.id, "subject": hit.subject_key, "entry_id": hit.entry_id,
                        "dataset": hit.dataset, "disposition": hit.disposition,
                        "reason": hit.reason, "disposed_by": hit.disposed_by,
                        "from_hit": earlier.id, "from_case": earlier.case_id})
    return True


def _clear_decision(session: Session, hit: ScreeningHit, actor: str) -> None:
    before = {"hit": hit.id, "subject": hit.subject_key, "entry_id": hit.entry_id,
              "dataset": hit.dataset, "disposition": hit.disposition, "reason": hit.reason,
              "disposed_by": hit.disposed_by,
              "disposed_at": hit.disposed_at.isoformat() + "Z" if hit.disposed_at else None,
              "signed_off_by": hit.signed_off_by, "carried_from": hit.carried_from}
    hit.disposition = hit.reason = hit.disposed_by = hit.disposed_at = None
    hit.signed_off_by = hit.signed_off_at = hit.carried_from = None
    audit.record(session, case_id=hit.case_id, actor=actor, kind="screening.hit_reopened",
                 before=before, after={"hit": hit.id, "subject": hit.subject_key,
                                       "entry_id": hit.entry_id, "dataset": hit.dataset,
                                       "because": REOPENED_BECAUSE})


# --- recording a screening ----------------------------------------------------------------

def _seen_again(session: Session, hit: ScreeningHit, found: HitInput, subject: Subject,
                digest: str, now, actor: str, summary: ScreeningSummary) -> None:
    was_gone = hit.gone_at is not None
    hit.last_seen_at, hit.gone_at = now, None
    hit.subject_name, hit.dataset = subject.name, found.dataset
    hit.score, hit.matched_fields = found.score, list(found.matched_fields)
    if hit.match_hash == digest:
        hit.entry = found.entry()  # the url, say: not part of the hash
        (summary.returned if was_gone else summary.unchanged).append(hit.id)
        return
    hit.entry, hit.match_hash = found.entry(), digest
    decided = hit.disposition is not None
    if decided:
        _clear_decision(session, hit, actor)
    if _carry(session, hit, actor):
        summary.carried.append(hit.id)
    else:
        (summary.reopened if decided else summary.updated).append(hit.id)


def _record_in(session: Session, case: Case, subject: Subject, source: str,
               hits: list[HitInput], actor: str) -> ScreeningSummary:
    summary = ScreeningSummary(case.id, subject.key, source)
    existing = {h.entry_id: h for h in session.scalars(
        select(ScreeningHit).where(ScreeningHit.case_id == case.id,
                                   ScreeningHit.subject_key == subject.key,
                                   ScreeningHit.source == source))}
    now = utcnow()
    added: list[ScreeningHit] = []
    for found in hits:
        digest = match_hash(found, subject)
        hit = existing.pop(found.entry_id, None)
        if hit is not None:
            _seen_again(session, hit, found, subject, digest, now, actor, summary)
            continue
        hit = ScreeningHit(case_id=case.id, subject_key=subject.key, subject_name=subject.name,
                           source=source, dataset=found.dataset, entry_id=found.entry_id,
                           entry=found.entry(), score=found.score,
                           matched_fields=list(found.matched_fields), match_hash=digest,
                           first_seen_at=now, last_seen_at=now)
        session.add(hit)
        added.append(hit)
    if added:  # the new hits' earlier decisions in one query, not one per hit
        session.flush()
        earlier = _earlier_decisions(session, {h.match_hash for h in added})
        for hit in added:
            carried = _carry(session, hit, actor, earlier.get(hit.match_hash), looked_up=True)
            (summary.carried if carried else summary.new).append(hit.id)
    for hit in existing.values():
        if hit.gone_at is None:
            hit.gone_at = now
            summary.gone.append(hit.id)
    return summary


def _listed(session: Session, ids: list[int]) -> list[str]:
    if not ids:
        return []
    shown = ids[:MAX_LISTED]
    rows = dict(session.execute(select(ScreeningHit.id, ScreeningHit.entry_id)
                                .where(ScreeningHit.id.in_(shown))).all())
    return [rows[i] for i in shown if i in rows]


def refuse_erased(case: Case) -> None:
    """ActionNotAllowed for a case whose personal data was erased (docs/RECORDS.md): a
    screening's hits name the subject and would bring some back."""
    if case.erased_at is not None:
        raise ActionNotAllowed(f"screening refused: case {case.id} was erased on "
                               f"{case.erased_at:%Y-%m-%d} at the end of its retention: it "
                               "takes no more screening results")


def record_screening(db: Database, case_id: str, subject_key: Any, source: str,
                     hits: list[HitInput] | list[dict[str, Any]], *, actor: str,
                     expected_version: int | None = None) -> ScreeningSummary:
    """Records what `source` returned now for one subject of the case ("entity", "ubo:ID",
    or a UBO's id) — every hit of that subject and source, an empty list for none — by the
    rules of the module docstring. Refused whole (InvalidInput listing every problem,
    NotAllowed, NotFound, ActionNotAllowed on a decided or erased case, CaseChanged for a
    stale `expected_version`), writing nothing. The version moves only when a hit changed."""
    hits = clean_hits(hits)
    source = clean_source(source)
    key = subject_key_of(subject_key)
    with db.unit_of_work() as session:
        require_permission(session, actor, Permission.IMPORT_CASES)
        case = load_case(session, case_id, for_update=True)
        refuse_erased(case)
        if expected_version is not None and int(expected_version) != case.version:
            raise CaseChanged(case_id, expected_version, case.version)
        return record_in(session, case, key, source, hits, actor)


def record_in(session: Session, case: Case, key: str, source: str, hits: list[HitInput],
              actor: str) -> ScreeningSummary:
    """`record_screening`'s work on a case the caller has locked, in the caller's unit of
    work (the built-in screener records every subject and list of a case in one
    transaction). `hits` are checked (`clean_hits`); ActionNotAllowed on a decided or an
    erased case."""
    refuse_erased(case)
    status = CaseStatus(case.case_status)
    if status in FINAL_STATUSES:
        raise ActionNotAllowed(f"screening refused: case {case.id} is {status.label}, "
                               "which is final")
    subject = subject_of(case, key)
    summary = _record_in(session, case, subject, source, hits, actor)
    summary.open_hits = recount_open_hits(session, case)
    if summary.changed:
        touch(case)
        audit.record(session, case_id=case.id, actor=actor, kind="screening.recorded",
                     after={"subject": subject.key, "subject_name": subject.name,
                            "source": source, **summary.counts(),
                            "open_hits": summary.open_hits,
                            "entries": {kind: _listed(session, getattr(summary, kind))
                                        for kind in ("new", "carried", "reopened",
                                                     "updated", "gone")
                                        if getattr(summary, kind)}})
        refresh_status(session, case, actor)
    summary.version = case.version
    return summary


def record_hooked_screening(db: Database, case_id: str, params: dict[str, Any], *,
                            source: str, actor: str) -> None:
    """A vendor callback's screening, as its hook source's mapping planned it
    (core/intake/hook_mapping.py: `{"subject": ..., "hits": [...]}`), recorded with the
    source's name as the hits' source. core/intake/hooks.py calls it (the API hands it
    over: intake and screening stand side by side and do not import each other)."""
    if not isinstance(params, dict) or "hits" not in params or "subject" not in params:
        raise InvalidInput("the callback does not fit its rule", ["screening: subject and "
                                                                  "hits are needed"])
    record_screening(db, case_id, params["subject"], source, params["hits"], actor=actor)
