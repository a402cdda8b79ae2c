"""A case's screening hits as a viewer sees them: per subject (the entity, then each UBO), each
hit with its entry, its state in words, "cleared before by X on DATE: reason" for a decision
carried from an earlier hit, and whether this viewer may disposition it or sign it off now
(and if not, why).

It reads `screening_hits` (written by core/screening/, which stands above core.cases) and
asks `core.cases.status` and `core.access.roles`; it decides no rule itself.
`core.cases.read.case_detail` puts the result on `CaseDetail.screening`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.roles import Permission, can
from core.cases.status import CaseStatus, HitDisposition, hit_action_availability
from core.store.models import Case, ScreeningHit, User
from core.store.screening_list_models import ScreeningList

ENTITY = "entity"
SIGNERS = "a lead or an admin"


@dataclass(frozen=True)
class HitView:
    id: int
    subject_key: str
    source: str
    dataset: str
    entry_id: str
    entry: dict[str, Any]           # name, aliases, birth_dates, countries, programme, url
    score: int | None
    matched_fields: list[str]
    first_seen_at: datetime
    last_seen_at: datetime
    gone_at: datetime | None
    disposition: str | None
    reason: str | None
    disposed_by: str | None
    disposed_at: datetime | None
    signed_off_by: str | None
    signed_off_at: datetime | None
    carried_from: int | None
    state: str            # open | needs_information | awaiting_sign_off | true_match |
    state_label: str      # false_positive | gone
    is_open: bool         # needs work (blocks Approve where the workflow says so)
    carried_note: str     # "cleared before by X on DATE: reason": a decision that held
                          # through a later screening ("" otherwise)
    can_disposition: bool
    disposition_note: str  # why not ("" when allowed)
    can_sign_off: bool
    sign_off_note: str     # why not ("" when allowed, or when there is nothing to sign)


@dataclass(frozen=True)
class ScreeningSubject:
    key: str              # "entity" | "ubo:<id>"
    kind: str             # entity | ubo
    name: str
    hits: list[HitView] = field(default_factory=list)
    birth_date: str = ""  # a UBO's, as screened ("" for the entity or unknown)
    country: str = ""     # the entity's country, a UBO's nationality

    @property
    def open_hits(self) -> int:
        return sum(h.is_open for h in self.hits)


def _state(hit: ScreeningHit) -> tuple[str, str, bool]:
    if hit.gone_at is not None:
        return "gone", "No longer returned", False
    if hit.disposition is None:
        return "open", "Open", True
    if hit.disposition == HitDisposition.NEEDS_INFORMATION.value:
        return "needs_information", "Needs information", True
    if hit.disposition == HitDisposition.TRUE_MATCH.value:
        if hit.signed_off_by is None:
            return "awaiting_sign_off", "True match · awaiting a lead's sign-off", True
        return "true_match", "True match · signed off", False
    return "false_positive", "False positive", False


def _carried_note(hit: ScreeningHit) -> str:
    """A decision that held through a later screening: carried from an earlier hit (any
    case), or this hit's own, taken before the latest screening returned it again."""
    if hit.disposition not in (HitDisposition.FALSE_POSITIVE.value,
                               HitDisposition.TRUE_MATCH.value):
        return ""
    seen_since = hit.disposed_at is not None and hit.last_seen_at > hit.disposed_at
    if hit.carried_from is None and not seen_since:
        return ""
    verb = ("cleared before" if hit.disposition == HitDisposition.FALSE_POSITIVE.value
            else "found a true match before")
    on = f" on {hit.disposed_at:%Y-%m-%d}" if hit.disposed_at else ""
    return f"{verb} by {hit.disposed_by or 'someone'}{on}: {hit.reason or '(no reason)'}"


def _actor_gate(viewer: User | None, assignee: str | None) -> str:
    """Why this viewer may not disposition hits of the case ("" when they may)."""
    if viewer is None or viewer.disabled:
        return "sign in to act"
    if not can(viewer.role, Permission.DECIDE):
        return f"Read-only: {viewer.role}s can view cases but not act on them"
    if can(viewer.role, Permission.SIGN_OFF_HITS) or assignee == viewer.username:
        return ""
    return ("assign the case to yourself first" if assignee is None else
            f"only the assignee ({assignee}) or a lead can disposition hits of this case")


def _sign_off_note(hit: ScreeningHit, viewer: User | None, status_note: str) -> str:
    if hit.disposition != HitDisposition.TRUE_MATCH.value or hit.signed_off_by is not None:
        return ""
    if viewer is None or viewer.disabled or not can(viewer.role, Permission.SIGN_OFF_HITS):
        return f"{SIGNERS} signs off a true match"
    if viewer.username == hit.disposed_by:
        return "you dispositioned this true match: another lead or an admin signs it off"
    return status_note


def _view(hit: ScreeningHit, viewer: User | None, gate: str, status: CaseStatus) -> HitView:
    state, label, is_open = _state(hit)
    verdict = hit_action_availability(status, gone=hit.gone_at is not None)
    status_note = "" if verdict else verdict.reason
    disposition_note = gate or status_note
    sign_off_note = _sign_off_note(hit, viewer, status_note)
    needs_sign_off = state == "awaiting_sign_off"
    return HitView(
        hit.id, hit.subject_key, hit.source, hit.dataset, hit.entry_id, dict(hit.entry or {}),
        hit.score, list(hit.matched_fields or []), hit.first_seen_at, hit.last_seen_at,
        hit.gone_at, hit.disposition, hit.reason, hit.disposed_by, hit.disposed_at,
        hit.signed_off_by, hit.signed_off_at, hit.carried_from, state, label, is_open,
        _carried_note(hit), not disposition_note, disposition_note,
        needs_sign_off and not sign_off_note, sign_off_note)


def _order(hit: ScreeningHit) -> tuple:
    """Open ones first, then decided, then gone; the highest score first within each."""
    _, _, is_open = _state(hit)
    return (hit.gone_at is not None, not is_open, -(hit.score or 0), hit.id)


def screening_subjects(session: Session, case: Case, viewer: User | None) -> list[ScreeningSubject]:
    """The entity and each UBO with their hits (none: every subject with an empty list)."""
    status = CaseStatus(case.case_status)
    gate = _actor_gate(viewer, case.assignee)
    rows = list(session.scalars(select(ScreeningHit).where(ScreeningHit.case_id == case.id)))
    by_subject: dict[str, list[ScreeningHit]] = {}
    for hit in rows:
        by_subject.setdefault(hit.subject_key, []).append(hit)
    subjects = [(ENTITY, "entity", case.entity.name, "", case.entity.country or "")]
    subjects += [(f"ubo:{u.id}", "ubo", u.full_name, u.date_of_birth or "",
                  u.nationality or "") for u in sorted(case.ubos, key=lambda u: u.id)]
    return [ScreeningSubject(key, kind, name,
                             [_view(h, viewer, gate, status)
                              for h in sorted(by_subject.get(key, []), key=_order)],
                             birth_date, country)
            for key, kind, name, birth_date, country in subjects]


def screening_lists_loaded(session: Session) -> bool:
    """Whether the built-in screener has a list: every case is then screened, and its
    Screening blocks are shown even with no hit ("no hits" is then an answer)."""
    return session.scalar(select(ScreeningList.id).where(ScreeningList.current_version > 0)
                          .limit(1)) is not None
