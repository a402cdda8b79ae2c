"""The case as a reviewer sees it: blocks, statuses and which actions they may take now.

`case_detail` answers, for one viewer, every question the preview and `python -m core show`
ask: the status, each case action and each block action with "allowed" or the reason not,
the blocks' contents, notes and the timeline. It asks `core.cases.status` and `core.access.roles`;
it never decides a rule itself.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.access.roles import Permission, can
from core.cases import review_log
from core.cases.actions import load_case
from core.cases.approvals import FourEyes, four_eyes_of
from core.cases.hits_read import (
    ScreeningSubject,
    screening_lists_loaded,
    screening_subjects,
)
from core.cases.retention_state import check_visible
from core.cases.risk import risk_sentences
from core.cases.state import (
    case_action_verdict,
    document_label,
    facts_of,
    unreviewed_blocks,
)
from core.cases.status import (
    CASE_ACTIONS_BY_STATUS,
    EDITABLE_STATUSES,
    FINAL_STATUSES,
    Availability,
    BlockAction,
    BlockKind,
    CaseAction,
    CaseStatus,
    block_action_availability,
    block_status_of,
    second_approval_availability,
)
from core.cases.tags import may_tag
from core.store.db import Database
from core.store.models import Document, DocumentFile, FileBlob, Note, User
from core.workflows.definitions import BLOCKS, definition_of


@dataclass(frozen=True)
class ActionOption:
    action: str
    label: str
    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class FileVersion:
    id: int
    version: int
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: str


@dataclass(frozen=True)
class DocumentBlock:
    ref: str
    id: int
    document_type: str
    label: str
    properties: dict[str, Any]
    status: str
    status_label: str
    reupload_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    files: list[FileVersion]
    actions: list[ActionOption]
    ubo_id: int | None = None


@dataclass(frozen=True)
class KycBlock:
    ref: str
    id: int
    full_name: str
    email: str
    date_of_birth: str
    nationality: str
    ownership_percent: float | None
    kyc_state: str
    kyc_result: dict[str, Any] | None
    status: str
    status_label: str
    reupload_reason: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    documents: list[DocumentBlock]
    actions: list[ActionOption]


@dataclass(frozen=True)
class CaseDetail:
    id: str
    workflow: str
    version: int
    status: str
    status_label: str
    entity: dict[str, Any]
    assignee: str | None
    decision: str | None
    decision_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime
    risk_score: int | None
    tags: list[str]
    user_data: dict[str, Any]
    registry_data: dict[str, Any]
    enriched_data: dict[str, Any] | None
    processes: list[dict[str, Any]]
    reupload_needed_count: int
    case_actions: list[ActionOption]
    can_assign_to_self: bool
    can_reassign: bool
    can_edit: bool
    can_add_note: bool
    can_tag: bool
    documents: list[DocumentBlock]
    kyc_blocks: list[KycBlock]
    notes: list[dict[str, Any]] = field(default_factory=list)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    reupload_reasons: list[str] = field(default_factory=list)
    blocks_shown: list[str] = field(default_factory=list)  # the workflow's choice of blocks
    # Why the viewer cannot take the case actions, as lines to show under them (not only in a
    # tooltip): one line for a read-only role; else who must act, then each refusal.
    action_notes: list[str] = field(default_factory=list)
    # "Passport (Awaiting review)" for every block not reviewed yet (the Approve dialog lists
    # them)
    unreviewed_blocks: list[str] = field(default_factory=list)
    last_event_id: int = 0  # the newest audit event when read: "what changed since" starts here
    # Four-eyes approval (core/cases/approvals.py): approvals the case needs now (2 under its
    # workflow's rule) and why; the approvals that count ({step, of, approver, at, reason});
    # the first approver while the case waits for its second; which approval the viewer's
    # Approve would be (1 or 2 of `approvals_needed`).
    approvals_needed: int = 1
    four_eyes_rule: str = ""
    approvals: list[dict[str, Any]] = field(default_factory=list)
    awaiting_second_approver: str | None = None
    next_approval: int = 1
    # Screening hits (core/cases/hits_read.py): the entity and each UBO with their hits, the
    # case's open hits (its counter), and whether the viewer may disposition hits in bulk
    screening: list[ScreeningSubject] = field(default_factory=list)
    open_hits: int = 0
    can_bulk_disposition: bool = False
    screening_lists: bool = False  # the built-in screener has a list: every case is screened
    # The explained risk score (core/cases/risk.py): points, low | medium | high (None: not
    # scored yet) and the factors that produced it ("+25 country on high-risk list: IR")
    risk_points: int = 0
    risk_level: str | None = None
    risk_factors: list[str] = field(default_factory=list)

    def shows(self, block: str) -> bool:
        return block in self.blocks_shown

    def action(self, name: str) -> ActionOption:
        return next(a for a in self.case_actions if a.action == name)

    def block(self, ref: str) -> DocumentBlock | KycBlock:
        for b in [*self.documents, *self.kyc_blocks, *(d for k in self.kyc_blocks for d in k.documents)]:
            if b.ref == ref:
                return b
        raise KeyError(ref)

    def to_json(self) -> dict[str, Any]:
        def default(o):
            return o.isoformat() if isinstance(o, datetime) else o
        data = asdict(self)
        return _walk(data, default)


def _walk(value, fn):
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    return fn(value)


def read_only_line(role: str) -> str:
    return f"Read-only: {role}s can view cases but not act on them"


def _viewer_gate(viewer: User | None, assignee: str | None, permission: Permission) -> str:
    """Why this viewer may not take a case/block action on the case ("" when they may)."""
    if viewer is None or viewer.disabled:
        return "sign in to act"
    if not can(viewer.role, permission):
        return read_only_line(viewer.role)
    if assignee != viewer.username:
        return "assign the case to yourself first" if assignee is None else \
            f"only the assignee ({assignee}) can act on this case"
    return ""


def _option(action, verdict: Availability, gate: str) -> ActionOption:
    if not verdict.allowed:
        return ActionOption(action.value, action.label, False, verdict.reason)
    if gate:
        return ActionOption(action.value, action.label, False, gate)
    return ActionOption(action.value, action.label, True)


def _case_actions(case, definition: dict[str, Any], user: User | None, gate: str,
                  four_eyes: FourEyes) -> list[ActionOption]:
    """Each case action for the viewer. While approval 1 of 2 waits, Approve and Reject are
    open to anyone who may decide (not only the assignee), Approve not to the first approver."""
    options = []
    for action in CaseAction:
        verdict, action_gate = case_action_verdict(case, action, definition), gate
        if (four_eyes.awaiting_second and action in (CaseAction.APPROVE, CaseAction.REJECT)
                and user is not None and not user.disabled and can(user.role, Permission.DECIDE)):
            action_gate = ""
            if action is CaseAction.APPROVE and verdict:
                verdict = second_approval_availability(four_eyes.first.approver, user.username)
        options.append(_option(action, verdict, action_gate))
    return options


def _action_notes(viewer: User | None, status: CaseStatus, gate: str,
                  options: list[ActionOption], four_eyes: FourEyes) -> list[str]:
    """The lines under the case actions: why each one that is off is off."""
    if viewer is not None and not viewer.disabled and not can(viewer.role, Permission.DECIDE):
        return [read_only_line(viewer.role)]
    if not CASE_ACTIONS_BY_STATUS[status]:
        return [f"No case action is available while the case is {status.label}."]
    if gate and four_eyes.awaiting_second and viewer is not None and not viewer.disabled:
        gate = ("as the second approver you may Approve or Reject; the other case actions "
                "are the assignee's")
    notes = [gate[0].upper() + gate[1:] + "."] if gate else []
    for option in options:
        if not option.allowed and option.reason != gate:
            notes.append(option.reason[0].upper() + option.reason[1:])
    return notes


def case_detail(db: Database, case_id: str, viewer: str | None = None, *,
                with_timeline: bool = True) -> CaseDetail:
    with db.read() as s:
        case = load_case(s, case_id)
        user = s.get(User, viewer) if viewer else None
        check_visible(case, user)  # restricted cases (erasure requested): admins only
        definition = definition_of(s, case.workflow)
        status = CaseStatus(case.case_status)
        facts = facts_of(case)
        gate = _viewer_gate(user, case.assignee, Permission.DECIDE)
        four_eyes = four_eyes_of(s, case, definition)
        case_actions = _case_actions(case, definition, user, gate, four_eyes)
        doc_types = definition.get("document_types") or {}

        files_by_doc: dict[int, list[FileVersion]] = {}
        doc_ids = [d.id for d in case.documents]
        if doc_ids:
            stmt = (select(DocumentFile, FileBlob.content_type, FileBlob.size)
                    .join(FileBlob, FileBlob.sha256 == DocumentFile.blob_sha256)
                    .where(DocumentFile.document_id.in_(doc_ids)).order_by(DocumentFile.version))
            for f, content_type, size in s.execute(stmt):
                files_by_doc.setdefault(f.document_id, []).append(FileVersion(
                    f.id, f.version, f.filename, content_type, size, f.uploaded_at, f.uploaded_by))

        def document_block(d: Document) -> DocumentBlock:
            bs = block_status_of(BlockKind.DOCUMENT, d.block_status)
            actions = [_option(a, block_action_availability(status, BlockKind.DOCUMENT, bs, a), gate)
                       for a in BlockAction]
            return DocumentBlock(
                f"document:{d.id}", d.id, d.document_type,
                document_label(d.document_type, doc_types),
                dict(d.properties or {}), bs.value, bs.label, d.reupload_reason, d.reviewed_by,
                d.reviewed_at, files_by_doc.get(d.id, []), actions, d.ubo_id)

        kyc_blocks = []
        for u in case.ubos:
            bs = block_status_of(BlockKind.KYC, u.block_status, u.kyc_state)
            actions = [_option(a, block_action_availability(status, BlockKind.KYC, bs, a,
                                                            u.kyc_result is not None), gate)
                       for a in (BlockAction.APPROVE, BlockAction.ASK_TO_REUPLOAD)]
            kyc_blocks.append(KycBlock(
                f"kyc:{u.id}", u.id, u.full_name, u.email, u.date_of_birth, u.nationality,
                u.ownership_percent, u.kyc_state, u.kyc_result, bs.value, bs.label,
                u.reupload_reason, u.reviewed_by, u.reviewed_at,
                [document_block(d) for d in case.documents if d.ubo_id == u.id], actions))

        notes, timeline = [], []
        if with_timeline:
            notes = [{"author": n.author, "body": n.body, "at": n.created_at} for n in s.scalars(
                select(Note).where(Note.case_id == case_id).order_by(Note.id))]
            timeline = [{"at": e.at, "actor": e.actor, "kind": e.kind, "before": e.before,
                         "after": e.after} for e in review_log.case_history_events(s, case_id)]
        e = case.entity
        editable = not _viewer_gate(user, case.assignee, Permission.EDIT_CASE)
        return CaseDetail(
            id=case.id, workflow=case.workflow, version=case.version, status=status.value,
            status_label=status.label,
            entity={"type": e.kind, "name": e.name, "email": e.email, "phone": e.phone,
                    "country": e.country, "registration_number": e.registration_number},
            assignee=case.assignee, decision=case.decision, decision_reason=case.decision_reason,
            decided_by=case.decided_by, decided_at=case.decided_at, created_at=case.created_at,
            updated_at=case.updated_at, risk_score=case.risk_score, tags=list(case.tags or []),
            user_data=dict(case.user_data or {}), registry_data=dict(case.registry_data or {}),
            enriched_data=case.enriched_data,
            processes=[{"name": p.name, "state": p.state, "detail": p.detail,
                        "updated_at": p.updated_at} for p in case.processes],
            reupload_needed_count=facts.reupload_needed_blocks,
            case_actions=case_actions,
            can_assign_to_self=bool(user and not user.disabled
                                    and can(user.role, Permission.ASSIGN_SELF)
                                    and case.assignee is None
                                    and status not in FINAL_STATUSES),
            can_reassign=bool(user and not user.disabled and can(user.role, Permission.REASSIGN)
                              and status not in FINAL_STATUSES),
            can_edit=editable and status in EDITABLE_STATUSES,
            can_add_note=bool(user and not user.disabled and can(user.role, Permission.ADD_NOTE)),
            can_tag=bool(user and not user.disabled
                         and may_tag(user.role, case.assignee, user.username)),
            documents=[document_block(d) for d in case.documents if d.ubo_id is None],
            kyc_blocks=kyc_blocks, notes=notes, timeline=timeline,
            reupload_reasons=list(definition.get("reupload_reasons", [])),
            blocks_shown=list(definition.get("blocks", BLOCKS)),
            action_notes=_action_notes(user, status, gate, case_actions, four_eyes),
            unreviewed_blocks=[f"{name} ({bs.label})"
                               for name, bs in unreviewed_blocks(case, doc_types)],
            last_event_id=review_log.last_event_id(s, case_id),
            approvals_needed=four_eyes.needed, four_eyes_rule=four_eyes.rule,
            approvals=[asdict(a) for a in four_eyes.approvals],
            awaiting_second_approver=four_eyes.first_approver,
            next_approval=2 if four_eyes.awaiting_second else 1,
            screening=screening_subjects(s, case, user), open_hits=case.open_hits or 0,
            screening_lists=screening_lists_loaded(s),
            can_bulk_disposition=bool(user and not user.disabled
                                      and can(user.role, Permission.SIGN_OFF_HITS)),
            risk_points=case.risk_points or 0, risk_level=case.risk_level,
            risk_factors=risk_sentences(case.risk_factors))



def events_since(db: Database, case_id: str, since_event_id: int) -> list[dict[str, Any]]:
    """What happened to the case after the audit event `since_event_id` (a `CaseDetail`'s
    `last_event_id`), oldest first, as timeline events: who did what since a reader saw it
    (`core.cases.history.describe` says each in words)."""
    with db.read() as s:
        return review_log.events_since(s, case_id, since_event_id)
