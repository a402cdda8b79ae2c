"""Retention: legal holds, erasure requests and what falls due (docs/RECORDS.md, "Retention,
legal hold and erasure"). The erasure itself and the retention run are in
`core.records.retention_erase`; the relationship's end and the `restricted` predicate, which
the layers below need, in `core.cases.retention_state`.

A case's records are kept until `retention_until` (the relationship's end + the workflow's
`retention_years`, EU AMLR Art. 77 / AMLD4 Art. 40), then erased — unless a legal hold is in
force. An erasure request (GDPR Art. 17) during retention is deferred (Art. 17(3)(b)): it is
recorded, restricts the case to admins, and the retention run carries it out once retention
ends. Every command here is for admins (and the shell operator); each is one unit of work
with its audit event, and a refusal is a typed error that writes nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.access.actors import SYSTEM_ACTOR, active_user
from core.access.roles import Role
from core.cases.actions import load_case
from core.cases.retention_state import restricted_clause
from core.cases.state import touch
from core.errors import ActionNotAllowed, InvalidInput, NotAllowed
from core.store import audit
from core.store.audit_chain_format import utc_text
from core.store.db import Database
from core.store.models import Case, utcnow
from core.store.retention_models import ErasureRequest, LegalHold

MAX_REASON = 2000
LISTED = 500  # rows of each list the Retention page and the dry run show (the rest counted)


def require_retention_admin(session: Session, actor: str) -> None:
    """Retention is an admin power (holds, erasure requests, the run); the shell operator
    ("system") may run it too. Team leads do not: a hold or an erasure binds the whole firm."""
    if actor == SYSTEM_ACTOR:
        return
    user = active_user(session, actor)
    if user.role != Role.ADMIN.value:
        raise NotAllowed(f"{user.username} ({user.role}) may not manage retention: legal holds, "
                         "erasure requests and erasure are for admins")


def clean_reason(reason: str | None) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput("a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason is at most {MAX_REASON:,} characters; this one has "
                           f"{len(reason):,}")
    return reason


def hold_in_force(now: datetime):
    """SQL: a legal hold still in force at `now`."""
    return (LegalHold.released_at.is_(None)) & or_(LegalHold.until.is_(None),
                                                   LegalHold.until > now)


@dataclass(frozen=True)
class Hold:
    id: int
    case_id: str
    placed_by: str
    placed_at: datetime
    reason: str
    until: datetime | None

    def describe(self) -> str:
        until = f" until {self.until:%Y-%m-%d}" if self.until else ""
        return f"held by {self.placed_by} since {self.placed_at:%Y-%m-%d}{until}: {self.reason}"


def holds_of(session: Session, case_ids: list[str], now: datetime) -> dict[str, list[Hold]]:
    found: dict[str, list[Hold]] = {}
    for start in range(0, len(case_ids), 500):
        for h in session.scalars(select(LegalHold).where(
                LegalHold.case_id.in_(case_ids[start:start + 500]), hold_in_force(now))
                .order_by(LegalHold.id)):
            found.setdefault(h.case_id, []).append(
                Hold(h.id, h.case_id, h.placed_by, h.placed_at, h.reason, h.until))
    return found


def refusal(case: Case, holds: list[Hold], now: datetime) -> str:
    """Why the case may not be erased now ("" when it may)."""
    if case.erased_at is not None:
        return f"case {case.id} was erased on {case.erased_at:%Y-%m-%d}"
    if holds:
        return f"case {case.id} is under legal hold ({'; '.join(h.describe() for h in holds)})"
    if case.retention_until is None:
        return (f"the relationship of case {case.id} has not ended: its records are kept until "
                "it ends and the retention period after it passes")
    if case.retention_until > now:
        return (f"the retention period of case {case.id} runs until "
                f"{case.retention_until:%Y-%m-%d} (the relationship ended on "
                f"{case.relationship_ended_at:%Y-%m-%d})")
    return ""


# --- commands ---------------------------------------------------------------------------------

def place_hold(db: Database, case_id: str, *, actor: str, reason: str,
               until: datetime | None = None) -> int:
    """Places a legal hold on the case (who, why, until when; None: until released); returns
    its id. Several holds may be in force at once; each is released on its own."""
    reason = clean_reason(reason)
    now = utcnow()
    if until is not None and until <= now:
        raise InvalidInput("a hold's end must lie ahead (leave it empty: until released)")
    with db.unit_of_work() as s:
        require_retention_admin(s, actor)
        case = load_case(s, case_id, for_update=True)
        if case.erased_at is not None:
            raise ActionNotAllowed(f"case {case_id} was erased on {case.erased_at:%Y-%m-%d}: "
                                   "nothing is left to hold")
        hold = LegalHold(case_id=case_id, placed_by=actor, placed_at=now, reason=reason,
                         until=until)
        s.add(hold)
        s.flush()
        audit.record(s, case_id=case_id, actor=actor, kind="legal_hold.placed",
                     after={"hold": hold.id, "reason": reason,
                            "until": utc_text(until) if until else None})
        return hold.id


def release_hold(db: Database, case_id: str, *, actor: str, reason: str,
                 hold_id: int | None = None) -> list[int]:
    """Releases the case's holds in force (or the one named); returns their ids."""
    reason = clean_reason(reason)
    now = utcnow()
    with db.unit_of_work() as s:
        require_retention_admin(s, actor)
        load_case(s, case_id, for_update=True)  # NotFound; one writer of the case at a time
        stmt = select(LegalHold).where(LegalHold.case_id == case_id, hold_in_force(now))
        if hold_id is not None:
            stmt = stmt.where(LegalHold.id == int(hold_id))
        holds = list(s.scalars(stmt.order_by(LegalHold.id)))
        if not holds:
            which = f"hold {hold_id}" if hold_id is not None else "legal hold"
            raise ActionNotAllowed(f"case {case_id} has no {which} in force")
        for hold in holds:
            hold.released_by, hold.released_at, hold.release_reason = actor, now, reason
            audit.record(s, case_id=case_id, actor=actor, kind="legal_hold.released",
                         after={"hold": hold.id, "reason": reason})
        return [h.id for h in holds]


def request_erasure(db: Database, case_id: str, *, actor: str, reason: str) -> str:
    """Records the data subject's erasure request (GDPR Art. 17) and restricts the case to
    admins. Returns "deferred" (retention not over, or the relationship not ended: kept as
    the law requires, carried out by the retention run once retention ends, event
    `erasure.deferred`) or "due" (retention is over: the next run erases it unless a hold is
    in force, event `erasure.requested`)."""
    reason = clean_reason(reason)
    now = utcnow()
    with db.unit_of_work() as s:
        require_retention_admin(s, actor)
        case = load_case(s, case_id, for_update=True)
        if case.erased_at is not None:
            raise ActionNotAllowed(f"case {case_id} was erased on {case.erased_at:%Y-%m-%d}")
        if case.erasure_requested_at is not None:
            raise ActionNotAllowed(f"an erasure request for case {case_id} was recorded on "
                                   f"{case.erasure_requested_at:%Y-%m-%d}; it stands")
        request = ErasureRequest(case_id=case_id, requested_by=actor, requested_at=now,
                                 reason=reason)
        s.add(request)
        s.flush()
        case.erasure_requested_at = now
        touch(case)
        deferred = case.retention_until is None or case.retention_until > now
        audit.record(s, case_id=case_id, actor=actor,
                     kind="erasure.deferred" if deferred else "erasure.requested",
                     after={"request": request.id, "reason": reason,
                            "retention_until": utc_text(case.retention_until)
                            if case.retention_until else None})
        return "deferred" if deferred else "due"


# --- what falls due ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RetentionRow:
    case_id: str
    workflow: str
    status: str
    relationship_ended_at: datetime | None
    retention_until: datetime | None
    erasure_requested_at: datetime | None
    holds: tuple[Hold, ...] = ()
    why: str = ""  # due: why it is due; skipped: why it is kept

    def as_dict(self) -> dict[str, Any]:
        def day(at: datetime | None) -> str | None:
            return at.strftime("%Y-%m-%d") if at else None
        return {"case": self.case_id, "workflow": self.workflow, "status": self.status,
                "relationship_ended": day(self.relationship_ended_at),
                "retention_until": day(self.retention_until),
                "erasure_requested": day(self.erasure_requested_at), "why": self.why,
                "holds": [{"id": h.id, "by": h.placed_by, "since": day(h.placed_at),
                           "until": day(h.until), "reason": h.reason} for h in self.holds]}


@dataclass
class RetentionPlan:
    """What a retention run would do now: erase `due`; skip `held` (due, but a hold is in
    force) and `not_over` (erasure requested, retention not over). `holds` lists every
    hold in force, due or not; `kept` counts the other cases within their retention."""
    at: datetime
    due: list[RetentionRow] = field(default_factory=list)
    held: list[RetentionRow] = field(default_factory=list)
    not_over: list[RetentionRow] = field(default_factory=list)
    holds: list[RetentionRow] = field(default_factory=list)
    kept: int = 0
    erased: int = 0


def _row(case: Case, holds: list[Hold], why: str) -> RetentionRow:
    return RetentionRow(case.id, case.workflow, case.case_status, case.relationship_ended_at,
                        case.retention_until, case.erasure_requested_at, tuple(holds), why)


def _due_why(case: Case) -> str:
    why = (f"retention ended on {case.retention_until:%Y-%m-%d} (relationship ended "
           f"{case.relationship_ended_at:%Y-%m-%d})")
    if case.erasure_requested_at is not None:
        why += f"; erasure requested on {case.erasure_requested_at:%Y-%m-%d}"
    return why


def plan_in(s: Session, now: datetime, limit: int | None = None) -> RetentionPlan:
    """The plan as the transaction on `s` sees it (no permission check: callers check)."""
    plan = RetentionPlan(now)
    live = Case.erased_at.is_(None)
    due = list(s.scalars(select(Case).where(Case.retention_until <= now, live)
                         .order_by(Case.retention_until, Case.id).limit(limit)))
    pending = list(s.scalars(select(Case).where(restricted_clause(), or_(
        Case.retention_until.is_(None), Case.retention_until > now))
        .order_by(Case.erasure_requested_at, Case.id).limit(limit)))
    held_ids = list(s.scalars(select(LegalHold.case_id).where(hold_in_force(now)).distinct()))
    holds = holds_of(s, list({*held_ids, *(c.id for c in due), *(c.id for c in pending)}), now)
    for case in due:
        case_holds = holds.get(case.id, [])
        if case_holds:
            plan.held.append(_row(case, case_holds, refusal(case, case_holds, now)))
        else:
            plan.due.append(_row(case, [], _due_why(case)))
    for case in pending:
        plan.not_over.append(_row(case, holds.get(case.id, []), refusal(case, [], now)))
    held_cases = s.scalars(select(Case).where(Case.id.in_(list(holds)[:LISTED * 2]))
                           .order_by(Case.id)) if holds else []
    plan.holds = [_row(c, holds[c.id], refusal(c, holds[c.id], now)) for c in held_cases]
    plan.kept = int(s.scalar(select(func.count()).select_from(Case).where(
        Case.retention_until > now, live)) or 0)
    plan.erased = int(s.scalar(select(func.count()).select_from(Case).where(
        Case.erased_at.is_not(None))) or 0)
    return plan


def retention_plan(db: Database, *, actor: str, now: datetime | None = None,
                   limit: int | None = None) -> RetentionPlan:
    """What falls due, what is held and why, the pending erasure requests (admins)."""
    with db.read() as s:
        require_retention_admin(s, actor)
        return plan_in(s, now or utcnow(), limit)
