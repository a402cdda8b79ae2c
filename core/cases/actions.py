"""The service layer: every command a person takes on a case.

Each command runs in one unit of work: check the actor's role, the case's assignee, the
expected case version and the status rules; then write the change, its audit events and its
outbox rows together. A refusal raises a typed error from `core.errors` and writes nothing.
The pages, the CLI and the simulator all call these functions.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from core.access.actors import active_user
from core.access.roles import Permission, Role, can, require
from core.cases import approvals
from core.cases.case_keys import refresh_case_keys
from core.cases.retention_state import check_visible, end_relationship
from core.cases.review_log import review_before_request, review_record
from core.cases.state import case_action_verdict, refresh_status, touch
from core.cases.status import (
    EDITABLE_STATUSES,
    FINAL_STATUSES,
    BlockAction,
    BlockKind,
    BlockStatus,
    CaseAction,
    CaseStatus,
    block_action_availability,
    block_status_of,
    second_approval_availability,
)
from core.errors import ActionNotAllowed, CaseChanged, InvalidInput, NotAllowed, NotFound
from core.notifications import outbox
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Decision, Document, Note, Ubo, User, utcnow
from core.workflows.definitions import definition_of, notification_channels

MAX_REASON = 2000
MAX_NOTE = 10_000
MAX_FIELD_VALUE = 10_000


@dataclass(frozen=True)
class BlockRef:
    """Names a Document or KYC block: `document:12`, `kyc:3`."""
    kind: BlockKind
    id: int

    @classmethod
    def parse(cls, text: str) -> "BlockRef":
        kind, _, number = str(text).partition(":")
        try:
            return cls(BlockKind(kind), int(number))
        except ValueError:
            raise InvalidInput(f"block must look like document:ID or kyc:ID, got {text!r}") from None

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


@dataclass
class CommandContext:
    session: Session
    user: User
    case: Case
    status: CaseStatus


def load_case(session: Session, case_id: str, *, for_update: bool = False) -> Case:
    stmt = (select(Case).where(Case.id == case_id)
            .options(selectinload(Case.documents), selectinload(Case.ubos),
                     selectinload(Case.processes)))
    if for_update and session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update(of=Case)
    case = session.scalars(stmt).first()
    if case is None:
        raise NotFound(f"case {case_id!r} not found")
    return case


@contextmanager
def case_command(db: Database, case_id: str, *, actor: str, expected_version: int,
                 permission: Permission, needs_assignee: bool = True) -> Iterator[CommandContext]:
    """Unit of work around one command on one case; recomputes the status at the end."""
    try:
        with db.unit_of_work() as session:
            with command_in(session, case_id, actor=actor, expected_version=expected_version,
                            permission=permission, needs_assignee=needs_assignee) as ctx:
                yield ctx
    except StaleDataError:  # the row lock should make this unreachable; the guard stays
        raise CaseChanged(case_id, expected_version, None) from None
    # leaving the unit of work commits: change + audit + outbox, or nothing


@contextmanager
def command_in(session: Session, case_id: str, *, actor: str, expected_version: int,
               permission: Permission, needs_assignee: bool = True) -> Iterator[CommandContext]:
    """One command on one case inside the caller's unit of work (`case_command` opens one;
    Next case runs its pick and the assignment in one): the checks, the row lock, the
    version, then the status recomputed at the end."""
    user = active_user(session, actor)
    require(user.username, user.role, permission)
    case = load_case(session, case_id, for_update=True)
    check_visible(case, user)  # a restricted case (erasure requested) is for admins only
    if expected_version is None or int(expected_version) != case.version:
        raise CaseChanged(case_id, expected_version, case.version)
    ctx = CommandContext(session, user, case, CaseStatus(case.case_status))
    if needs_assignee:
        require_assignee(ctx)
    touch(case)
    yield ctx
    refresh_status(session, case, user.username)


def require_assignee(ctx: CommandContext) -> None:
    if ctx.case.assignee != ctx.user.username:
        who = f"assigned to {ctx.case.assignee}" if ctx.case.assignee else "unassigned"
        raise NotAllowed(f"only the case's assignee may do this; case {ctx.case.id} is {who}"
                         " (take it with Assign to me)")


def _check_case_action(ctx: CommandContext, action: CaseAction) -> None:
    verdict = case_action_verdict(ctx.case, action, definition_of(ctx.session, ctx.case.workflow))
    if not verdict:
        raise ActionNotAllowed(f"cannot {action.label}: {verdict.reason}")


def _clean_reason(reason: str | None, required: bool) -> str | None:
    reason = (reason or "").strip()
    if required and not reason:
        raise InvalidInput("a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"a reason is at most {MAX_REASON:,} characters; this one has "
                           f"{len(reason):,} (shorten it and try again)")
    return reason or None


def _decide(ctx: CommandContext, action: CaseAction, reason: str | None,
            extra: dict[str, Any] | None = None) -> Decision:
    decision = Decision(case_id=ctx.case.id, action=action.value, reason=reason,
                        actor=ctx.user.username, at=utcnow())
    ctx.session.add(decision)
    ctx.session.flush()
    audit.record(ctx.session, case_id=ctx.case.id, actor=ctx.user.username,
                 kind=outbox.EVENT_TYPES[action.value], before={"status": ctx.status.value},
                 after={"reason": reason, **(extra or {})})
    return decision


def _notify(ctx: CommandContext, decision: Decision | None, action: str,
            extra: dict[str, Any] | None = None) -> None:
    definition = definition_of(ctx.session, ctx.case.workflow)
    channels = notification_channels(definition, action)
    rows = outbox.enqueue(ctx.session, case=ctx.case, decision=decision, action=action,
                          channels=channels, extra=extra)
    for row in rows:
        audit.record(ctx.session, case_id=ctx.case.id, actor=ctx.user.username,
                     kind="notification.queued",
                     after={"channel": row.channel, "event_type": row.event_type,
                            "message_id": row.message_id})


# --- case actions -------------------------------------------------------------------------

@dataclass(frozen=True)
class ApprovalStep:
    """What an Approve did: approval `step` of `of`; final (the case is approved) when equal."""
    step: int
    of: int

    @property
    def final(self) -> bool:
        return self.step == self.of


def _four_eyes(ctx: CommandContext, action: CaseAction) -> approvals.FourEyes:
    """The case's four-eyes state; refuses who may not take `action` now: while approval 1 of
    2 waits, any user who may decide may Approve (not the first approver) or Reject, without
    being the assignee; otherwise only the assignee."""
    state = approvals.four_eyes_of(ctx.session, ctx.case, definition_of(ctx.session,
                                                                        ctx.case.workflow))
    if not state.awaiting_second:
        require_assignee(ctx)
    elif action is CaseAction.APPROVE:
        verdict = second_approval_availability(state.first.approver, ctx.user.username)
        if not verdict:
            raise ActionNotAllowed(f"cannot {action.label}: {verdict.reason}")
    return state


def approve_case(db: Database, case_id: str, *, actor: str, expected_version: int,
                 reason: str | None = None) -> ApprovalStep:
    """Approves the case, or, under the workflow's four-eyes rule, gives approval 1 of 2
    (core/cases/approvals.py): the case then stays in Manual review, nothing is notified."""
    reason = _clean_reason(reason, required=False)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE, needs_assignee=False) as ctx:
        state = _four_eyes(ctx, CaseAction.APPROVE)
        _check_case_action(ctx, CaseAction.APPROVE)
        if state.needed == approvals.APPROVALS_NEEDED and not state.awaiting_second:
            approvals.record_first(ctx.session, ctx.case, ctx.user.username, reason, state.rule)
            return ApprovalStep(1, state.needed)
        given = []
        if state.awaiting_second:
            given = approvals.record_final(ctx.session, ctx.case, ctx.user.username, reason,
                                           state.first)
        elif state.first is not None:  # the rule no longer asks for two: this one decides
            approvals.withdraw(ctx.session, ctx.case, ctx.user.username,
                               "the four-eyes rule no longer applies to the case")
        ctx.case.decision, ctx.case.decision_reason = "approved", reason
        ctx.case.decided_by, ctx.case.decided_at = ctx.user.username, utcnow()
        extra = {"approvals": given} if given else None
        decision = _decide(ctx, CaseAction.APPROVE, reason, extra)
        refresh_status(ctx.session, ctx.case, ctx.user.username)  # the payload carries it
        _notify(ctx, decision, "approve", extra)
        return ApprovalStep(len(given) or 1, len(given) or 1)


def reject_case(db: Database, case_id: str, *, actor: str, expected_version: int,
                reason: str | None) -> None:
    """Rejects the case: final, also while approval 1 of 2 waits (which it withdraws)."""
    reason = _clean_reason(reason, required=True)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE, needs_assignee=False) as ctx:
        _four_eyes(ctx, CaseAction.REJECT)
        _check_case_action(ctx, CaseAction.REJECT)
        approvals.withdraw(ctx.session, ctx.case, ctx.user.username,
                           f"the case was rejected by {ctx.user.username}")
        ctx.case.decision, ctx.case.decision_reason = "rejected", reason
        ctx.case.decided_by, ctx.case.decided_at = ctx.user.username, utcnow()
        decision = _decide(ctx, CaseAction.REJECT, reason)
        end_relationship(ctx.session, ctx.case, ctx.user.username, how="rejection")  # retention
        refresh_status(ctx.session, ctx.case, ctx.user.username)
        _notify(ctx, decision, "reject")


def ask_for_reuploads(db: Database, case_id: str, *, actor: str, expected_version: int) -> int:
    """Sends every block marked "Re-upload needed" to "Pending re-upload"; returns N."""
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE) as ctx:
        _check_case_action(ctx, CaseAction.ASK_FOR_REUPLOADS)
        requested = []
        for block in [*ctx.case.documents, *ctx.case.ubos]:
            if block.block_status == BlockStatus.REUPLOAD_NEEDED.value:
                block.block_status = BlockStatus.PENDING_REUPLOAD.value
                kind = "document" if isinstance(block, Document) else "kyc"
                requested.append({"block": f"{kind}:{block.id}", "reason": block.reupload_reason,
                                  "document_type": getattr(block, "document_type", "kyc")})
        decision = _decide(ctx, CaseAction.ASK_FOR_REUPLOADS, None, {"blocks": requested})
        refresh_status(ctx.session, ctx.case, ctx.user.username)
        _notify(ctx, decision, "ask_for_reuploads", {"reuploads": requested})
        return len(requested)


# --- block actions ------------------------------------------------------------------------

def _block(ctx: CommandContext, ref: BlockRef) -> Document | Ubo:
    blocks = ctx.case.documents if ref.kind is BlockKind.DOCUMENT else ctx.case.ubos
    for block in blocks:
        if block.id == ref.id:
            return block
    raise NotFound(f"block {ref} not found in case {ctx.case.id}")


def _check_block_action(ctx: CommandContext, ref: BlockRef, block: Document | Ubo,
                        action: BlockAction) -> BlockStatus:
    status = block_status_of(ref.kind, block.block_status, getattr(block, "kyc_state", ""))
    kyc_result_in = ref.kind is BlockKind.DOCUMENT or getattr(block, "kyc_result", None) is not None
    verdict = block_action_availability(ctx.status, ref.kind, status, action, kyc_result_in)
    if not verdict:
        raise ActionNotAllowed(f"cannot {action.label} block {ref}: {verdict.reason}")
    return status


def approve_block(db: Database, case_id: str, block: BlockRef | str, *, actor: str,
                  expected_version: int) -> None:
    ref = block if isinstance(block, BlockRef) else BlockRef.parse(block)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE) as ctx:
        target = _block(ctx, ref)
        before = _check_block_action(ctx, ref, target, BlockAction.APPROVE)
        target.block_status = BlockStatus.APPROVED.value
        target.reupload_reason = None
        target.reviewed_by, target.reviewed_at = ctx.user.username, utcnow()
        audit.record(ctx.session, case_id=case_id, actor=ctx.user.username, kind="block.approved",
                     before={"block": str(ref), "status": before.value},
                     after={"block": str(ref), "status": BlockStatus.APPROVED.value})


def ask_to_reupload_block(db: Database, case_id: str, block: BlockRef | str, *, actor: str,
                          expected_version: int, reason: str | None) -> None:
    """Document: marks "Re-upload needed" (sent later by Ask for all re-uploads).
    KYC: immediate — the UBO is sent a new KYC flow, the block is "Pending re-upload"."""
    ref = block if isinstance(block, BlockRef) else BlockRef.parse(block)
    reason = _clean_reason(reason, required=ref.kind is BlockKind.DOCUMENT)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE) as ctx:
        target = _block(ctx, ref)
        before = _check_block_action(ctx, ref, target, BlockAction.ASK_TO_REUPLOAD)
        replaced = review_record(before, target.reviewed_by, target.reviewed_at,
                                 target.reupload_reason)
        target.reupload_reason = reason
        target.reviewed_by, target.reviewed_at = ctx.user.username, utcnow()
        if ref.kind is BlockKind.DOCUMENT:
            target.block_status = BlockStatus.REUPLOAD_NEEDED.value
        else:
            target.block_status = BlockStatus.PENDING_REUPLOAD.value
            target.kyc_state = "sent"
            _notify(ctx, None, "kyc_reupload",
                    {"ubo": {"id": target.id, "full_name": target.full_name,
                             "email": target.email}, "reason": reason})
        audit.record(ctx.session, case_id=case_id, actor=ctx.user.username,
                     kind="block.reupload_requested",
                     before={"block": str(ref), **replaced},
                     after={"block": str(ref), "status": target.block_status, "reason": reason})


def undo_reupload_request(db: Database, case_id: str, block: BlockRef | str, *, actor: str,
                          expected_version: int) -> None:
    """Puts the block back exactly as it was before "Ask to re-upload" (status, reviewed by,
    reviewed at), read from the request's audit event."""
    ref = block if isinstance(block, BlockRef) else BlockRef.parse(block)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.DECIDE) as ctx:
        target = _block(ctx, ref)
        _check_block_action(ctx, ref, target, BlockAction.UNDO_REUPLOAD_REQUEST)
        old_reason = target.reupload_reason
        prior = review_before_request(ctx.session, case_id, str(ref))
        target.block_status, target.reupload_reason = prior.status, prior.reupload_reason
        target.reviewed_by, target.reviewed_at = prior.reviewed_by, prior.reviewed_at
        restored = block_status_of(ref.kind, prior.status)
        audit.record(ctx.session, case_id=case_id, actor=ctx.user.username,
                     kind="block.reupload_request_undone",
                     before={"block": str(ref), "status": BlockStatus.REUPLOAD_NEEDED.value,
                             "reason": old_reason},
                     after={"block": str(ref), **review_record(
                         restored, prior.reviewed_by, prior.reviewed_at, prior.reupload_reason)})


# --- edits, assignment, notes -------------------------------------------------------------

def _clean_changes(changes: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(changes, dict) or not changes:
        raise InvalidInput("no changes given")
    problems = []
    for field, value in changes.items():
        if not isinstance(field, str) or not field.strip() or len(field) > 100:
            problems.append(f"field name {field!r} must be 1 to 100 characters")
        elif not (value is None or isinstance(value, (str, int, float, bool))):
            problems.append(f"{field}: value must be text, a number, true/false or empty")
        elif isinstance(value, str) and len(value) > MAX_FIELD_VALUE:
            problems.append(f"{field}: a value is at most {MAX_FIELD_VALUE:,} characters; this "
                            f"one has {len(value):,}")
    if problems:
        raise InvalidInput("the edit was refused", problems)
    return changes


def _check_editable(ctx: CommandContext) -> None:
    if ctx.status not in EDITABLE_STATUSES:
        raise ActionNotAllowed(f"the case cannot be edited while it is {ctx.status.label}")


def edit_user_data(db: Database, case_id: str, changes: dict[str, Any], *, actor: str,
                   expected_version: int) -> None:
    changes = _clean_changes(changes)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.EDIT_CASE) as ctx:
        _check_editable(ctx)
        data = dict(ctx.case.user_data or {})
        for field, new in changes.items():
            old = data.get(field)
            if old == new:
                continue
            data[field] = new
            audit.record(ctx.session, case_id=case_id, actor=ctx.user.username,
                         kind="user_data.edited", before={"field": field, "value": old},
                         after={"field": field, "value": new})
        ctx.case.user_data = data
        refresh_case_keys(ctx.session, case_id)  # related cases see the new values


def edit_document_properties(db: Database, case_id: str, document_id: int,
                             changes: dict[str, Any], *, actor: str, expected_version: int) -> None:
    changes = _clean_changes(changes)
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.EDIT_CASE) as ctx:
        _check_editable(ctx)
        document = _block(ctx, BlockRef(BlockKind.DOCUMENT, int(document_id)))
        props = dict(document.properties or {})
        for field, new in changes.items():
            old = props.get(field)
            if old == new:
                continue
            props[field] = new
            audit.record(ctx.session, case_id=case_id, actor=ctx.user.username,
                         kind="document.edited",
                         before={"block": f"document:{document.id}", "field": field, "value": old},
                         after={"block": f"document:{document.id}", "field": field, "value": new})
        document.properties = props


def assign_case(db: Database, case_id: str, assignee: str | None, *, actor: str,
                expected_version: int) -> None:
    """A reviewer takes an unassigned case for themself; an admin assigns anyone or no one."""
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.ASSIGN_SELF, needs_assignee=False) as ctx:
        _assign(ctx, assignee)


def assign_in(session: Session, case_id: str, assignee: str | None, *, actor: str,
              expected_version: int) -> None:
    """`assign_case` inside the caller's unit of work (Next case): the same checks, lock,
    version bump and audit event; the caller's commit writes it."""
    with command_in(session, case_id, actor=actor, expected_version=expected_version,
                    permission=Permission.ASSIGN_SELF, needs_assignee=False) as ctx:
        _assign(ctx, assignee)


def _assign(ctx: CommandContext, assignee: str | None) -> None:
    case_id = ctx.case.id
    if ctx.status in FINAL_STATUSES:
        raise ActionNotAllowed(f"the case is {ctx.status.label}, which is final")
    is_admin = can(ctx.user.role, Permission.REASSIGN)
    if not is_admin:
        if assignee != ctx.user.username:
            raise NotAllowed("a reviewer can only assign a case to themself")
        if ctx.case.assignee not in (None, ctx.user.username):
            raise NotAllowed(f"case {case_id} is assigned to {ctx.case.assignee}; "
                             "only an admin can reassign it")
    if assignee is not None:
        target = active_user(ctx.session, assignee)
        if target.role == Role.ANALYST:
            raise InvalidInput(f"{assignee} is an analyst and cannot be assigned cases")
    old = ctx.case.assignee
    if old == assignee:
        return
    ctx.case.assignee = assignee
    audit.record(ctx.session, case_id=case_id, actor=ctx.user.username, kind="case.assigned",
                 before={"assignee": old}, after={"assignee": assignee})


def add_note(db: Database, case_id: str, body: str, *, actor: str, expected_version: int) -> None:
    body = (body or "").strip()
    if not body:
        raise InvalidInput("a note cannot be empty")
    if len(body) > MAX_NOTE:
        raise InvalidInput(f"a note is at most {MAX_NOTE:,} characters; this one has "
                           f"{len(body):,} (shorten it and add it again)")
    with case_command(db, case_id, actor=actor, expected_version=expected_version,
                      permission=Permission.ADD_NOTE, needs_assignee=False) as ctx:
        ctx.session.add(Note(case_id=case_id, author=ctx.user.username, body=body, created_at=utcnow()))
        audit.record(ctx.session, case_id=case_id, actor=ctx.user.username, kind="note.added",
                     after={"body": body[:200]})
