"""Decisions on screening hits: a disposition by the case's assignee (or a lead), a lead's
sign-off of a true match, and a lead's bulk disposition with one reason.

Each command is one command on the hit's case (`core.cases.actions.case_command`): the
actor's role, the case's lock and expected version, the status rules
(`core.cases.status.hit_action_availability`), then the hit, the case's `open_hits` counter
and the audit event (before/after) written together, the version bumped once and the status
recomputed; a refusal writes nothing. Who may:

- disposition: the case's assignee (a reviewer, lead or admin), or a lead or admin on any
  case (`Permission.SIGN_OFF_HITS`);
- sign off a true match: a lead or admin who did not disposition it themself;
- bulk: a lead or admin; each hit goes through `disposition_hit` on its own, with its case's
  version read just before, and is reported done, unchanged or refused with the reason.

A reason is required for true match and false positive (it is what "cleared before by X on
DATE: reason" shows on later rescreens), at most MAX_REASON characters, without control
characters (line breaks and tabs allowed).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable

from sqlalchemy import select

from core.access.actors import active_user
from core.access.roles import Permission, can
from core.cases.actions import MAX_REASON, CommandContext, case_command, require_assignee
from core.cases.status import (
    CLEARING_DISPOSITIONS,
    HitDisposition,
    hit_action_availability,
)
from core.errors import (
    ActionNotAllowed,
    CaseChanged,
    DocketError,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from core.screening.hits import recount_open_hits
from core.store import audit
from core.store.db import Database
from core.store.models import Case, ScreeningHit, utcnow

MAX_BULK_HITS = 500
CHANGED = ("the case changed while the bulk disposition ran (someone else acted on it); "
           "nothing was done to this hit: run it again for it")
Progress = Callable[[int, int], None]


class _Unchanged(Exception):
    """Raised inside the unit of work so that it rolls back: not even the version moves."""


def clean_disposition(value: Any) -> HitDisposition:
    try:
        return HitDisposition(value)
    except ValueError:
        raise InvalidInput(f"unknown disposition {str(value)[:40]!r}; dispositions: "
                           + ", ".join(d.value for d in HitDisposition)) from None


def clean_reason(disposition: HitDisposition, reason: Any) -> str | None:
    """The reason as stored: required for true match and false positive."""
    if reason is not None and not isinstance(reason, str):
        raise InvalidInput("a reason is text")
    reason = (reason or "").strip()
    if not reason and disposition in CLEARING_DISPOSITIONS:
        raise InvalidInput(f"a reason is required for {disposition.label.lower()}")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason is at most {MAX_REASON:,} characters; this one has "
                           f"{len(reason):,} (shorten it and try again)")
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in "\n\t" for c in reason):
        raise InvalidInput("a reason cannot contain control characters")
    return reason or None


def _case_of(db: Database, hit_id: Any, case_id: str | None) -> str:
    if isinstance(hit_id, bool) or not isinstance(hit_id, int):
        raise InvalidInput("a hit is named by its id (a whole number)")
    with db.read() as s:
        found = s.scalar(select(ScreeningHit.case_id).where(ScreeningHit.id == hit_id))
    if found is None or (case_id is not None and found != case_id):
        where = f" in case {case_id}" if case_id is not None else ""
        raise NotFound(f"screening hit {hit_id} not found{where}")
    return found


def _hit(ctx: CommandContext, hit_id: int) -> ScreeningHit:
    hit = ctx.session.get(ScreeningHit, hit_id)
    if hit is None or hit.case_id != ctx.case.id:
        raise NotFound(f"screening hit {hit_id} not found in case {ctx.case.id}")
    verdict = hit_action_availability(ctx.status, gone=hit.gone_at is not None)
    if not verdict:
        raise ActionNotAllowed(f"cannot decide on hit {hit_id}: {verdict.reason}")
    return hit


def _as_event(hit: ScreeningHit) -> dict[str, Any]:
    return {"hit": hit.id, "subject": hit.subject_key, "entry_id": hit.entry_id,
            "dataset": hit.dataset, "disposition": hit.disposition, "reason": hit.reason,
            "signed_off_by": hit.signed_off_by}


def disposition_hit(db: Database, hit_id: int, disposition: Any, reason: str | None = None,
                    *, actor: str, expected_version: int, case_id: str | None = None) -> bool:
    """Gives the hit a disposition (true_match, false_positive, needs_information) with its
    reason; `expected_version` is the hit's case's version as the actor saw it; `case_id`,
    when given, must be the hit's case. Returns False (nothing written) when the hit has
    that disposition and reason already. Any change drops a lead's sign-off."""
    chosen = clean_disposition(disposition)
    reason = clean_reason(chosen, reason)
    owner = _case_of(db, hit_id, case_id)
    try:
        with case_command(db, owner, actor=actor, expected_version=expected_version,
                          permission=Permission.DECIDE, needs_assignee=False) as ctx:
            if not can(ctx.user.role, Permission.SIGN_OFF_HITS):
                require_assignee(ctx)
            hit = _hit(ctx, hit_id)
            if hit.disposition == chosen.value and hit.reason == reason:
                raise _Unchanged
            before = _as_event(hit)
            hit.signed_off_by = hit.signed_off_at = None  # a changed decision is signed anew
            hit.disposition, hit.reason = chosen.value, reason
            hit.disposed_by, hit.disposed_at = ctx.user.username, utcnow()
            hit.carried_from = None  # the decision is this case's own now
            recount_open_hits(ctx.session, ctx.case)
            audit.record(ctx.session, case_id=ctx.case.id, actor=ctx.user.username,
                         kind="screening.hit_dispositioned", before=before,
                         after=_as_event(hit))
    except _Unchanged:
        return False
    return True


def sign_off_true_match(db: Database, hit_id: int, *, actor: str, expected_version: int,
                        case_id: str | None = None) -> bool:
    """A lead's (or an admin's) sign-off of a true match dispositioned by someone else.
    Returns False (nothing written) when it is signed off already."""
    owner = _case_of(db, hit_id, case_id)
    try:
        with case_command(db, owner, actor=actor, expected_version=expected_version,
                          permission=Permission.SIGN_OFF_HITS, needs_assignee=False) as ctx:
            hit = _hit(ctx, hit_id)
            if hit.disposition != HitDisposition.TRUE_MATCH.value:
                now = (HitDisposition(hit.disposition).label.lower() if hit.disposition
                       else "not dispositioned")
                raise ActionNotAllowed(f"only a true match is signed off; hit {hit_id} is {now}")
            if hit.signed_off_by is not None:
                raise _Unchanged
            if hit.disposed_by == ctx.user.username:
                raise NotAllowed("you dispositioned this true match: another lead or an admin "
                                 "signs it off (four eyes)")
            before = _as_event(hit)
            hit.signed_off_by, hit.signed_off_at = ctx.user.username, utcnow()
            recount_open_hits(ctx.session, ctx.case)
            audit.record(ctx.session, case_id=ctx.case.id, actor=ctx.user.username,
                         kind="screening.hit_signed_off", before=before, after=_as_event(hit))
    except _Unchanged:
        return False
    return True


# --- bulk ---------------------------------------------------------------------------------

@dataclass
class BulkDispositionResult:
    """What a bulk disposition did, hit by hit, in request order: `done` (changed),
    `unchanged` (already so, nothing written), `refused` as (hit id, the core's reason)."""
    disposition: str
    done: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.unchanged) + len(self.refused)

    def summary(self) -> str:
        """"12 dispositioned, 1 unchanged, 2 refused"."""
        return (f"{len(self.done):,} dispositioned, {len(self.unchanged):,} unchanged, "
                f"{len(self.refused):,} refused")


def _unique_hit_ids(hit_ids: Any) -> list[int]:
    if isinstance(hit_ids, (str, bytes)) or not isinstance(hit_ids, (list, tuple, set)):
        raise InvalidInput("give the hit ids as a list")
    if any(isinstance(h, bool) or not isinstance(h, int) for h in hit_ids):
        raise InvalidInput("a hit is named by its id (a whole number)")
    ids = list(dict.fromkeys(hit_ids))
    if not ids:
        raise InvalidInput("select at least one hit")
    if len(ids) > MAX_BULK_HITS:
        raise InvalidInput(f"a bulk disposition takes at most {MAX_BULK_HITS} hits at once; "
                           f"{len(ids):,} were selected")
    return ids


def bulk_disposition(db: Database, hit_ids: Any, disposition: Any, reason: str | None, *,
                     actor: str, on_progress: Progress | None = None) -> BulkDispositionResult:
    """One disposition and reason on many hits (a lead's or an admin's): the request is
    checked whole first (refused before anything is written), then each hit through
    `disposition_hit` on its own (see the module docstring)."""
    chosen = clean_disposition(disposition)
    reason = clean_reason(chosen, reason)
    ids = _unique_hit_ids(hit_ids)
    with db.read() as s:
        user = active_user(s, actor)
        if not can(user.role, Permission.SIGN_OFF_HITS):
            raise NotAllowed(f"{user.username} ({user.role}) may not disposition hits in bulk "
                             "(a lead or an admin may)")
    result = BulkDispositionResult(chosen.value)
    for n, hit_id in enumerate(ids, start=1):
        try:
            with db.read() as s:
                version = s.scalar(select(Case.version).join(
                    ScreeningHit, ScreeningHit.case_id == Case.id).where(ScreeningHit.id == hit_id))
            if version is None:
                raise NotFound(f"screening hit {hit_id} not found")
            changed = disposition_hit(db, hit_id, chosen, reason, actor=user.username,
                                      expected_version=version)
        except CaseChanged:
            result.refused.append((hit_id, CHANGED))
        except DocketError as e:
            result.refused.append((hit_id, str(e).split("\n", 1)[0]))
        else:
            (result.done if changed else result.unchanged).append(hit_id)
        if on_progress is not None:
            on_progress(n, len(ids))
    return result
