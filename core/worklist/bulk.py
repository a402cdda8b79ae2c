"""Bulk actions: one action on many cases of the list (issue #10, item 5).

`bulk_act` takes at most `MAX_BULK` case ids and one action — assign, unassign, tag, untag,
reject — and runs it case by case through the ordinary service functions
(`core.cases.actions.assign_case` / `reject_case`, `core.cases.tags.add_tag` / `remove_tag`),
each in its own unit of work with the case's version read just before. Every rule of the
single-case command holds for each case: a case the rules refuse is reported in
`BulkResult.refused` with the core's reason, and the others go on. Nothing is done twice: a
case already in the wanted state (the tag there, already assigned to that person) is
`unchanged`, with nothing written.

The request as a whole is checked first, and a bad one is refused (`InvalidInput`,
`NotAllowed`) before anything is written: no ids or more than MAX_BULK, an unknown action, an
actor who is disabled or may not do it in bulk, an assignee who cannot hold cases, a tag or
reason that is not valid. Who may do what in bulk:

- reviewers: only "assign to me" (their own cases stay theirs; each case's rules still
  apply: someone else's case is refused);
- leads and admins (`Permission.REASSIGN`): every action.

Reject keeps the core's rule that only the case's assignee decides: a lead's bulk reject
refuses the cases assigned to someone else (or to no one). To reject a batch, a lead first
bulk-assigns it to themself, then rejects it.

`case_ids_for` gives the ids of every case of a list (its filter and sort, in SQL), for
"select all N cases of this list"; a list of more than MAX_BULK is refused with its size.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import select

from core.access.actors import active_user
from core.access.roles import Permission, Role, can
from core.cases.actions import MAX_REASON, assign_case, reject_case
from core.cases.tags import add_tag, clean_tag, remove_tag
from core.errors import CaseChanged, DocketError, InvalidInput, NotAllowed, NotFound
from core.store.db import Database
from core.store.models import Case, Entity
from core.worklist.query import CaseFilter, count_cases, filter_clauses, sort_columns

MAX_BULK = 500
BULK_ACTIONS = ("assign", "unassign", "tag", "untag", "reject")
ACTION_VERBS = {"assign": "assigned", "unassign": "unassigned", "tag": "tagged",
                "untag": "untagged", "reject": "rejected"}

Progress = Callable[[int, int], None]
CHANGED = ("the case changed while the bulk action ran (someone else acted on it); "
           "nothing was done to it: run the action again for it")


@dataclass
class BulkResult:
    """What a bulk action did, case by case: `done` (changed), `unchanged` (already so,
    nothing written) and `refused` as (case id, the core's reason), each in request order."""
    action: str
    done: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.done) + len(self.unchanged) + len(self.refused)

    def summary(self) -> str:
        """"187 assigned, 3 unchanged, 10 refused"."""
        return (f"{len(self.done):,} {ACTION_VERBS[self.action]}, "
                f"{len(self.unchanged):,} unchanged, {len(self.refused):,} refused")


@dataclass(frozen=True)
class BulkRequest:
    """A checked request: its action, the unique ids in order, the actor and the action's
    own value (assignee, cleaned tag, trimmed reason)."""
    action: str
    ids: list[str]
    actor: str
    to: str | None
    tag: str | None
    reason: str | None


def may_bulk(role: str | None) -> tuple[str, ...]:
    """The bulk actions a role may take (the UI offers those): reviewers "assign" (to
    themselves only), leads and admins all of them; analysts none."""
    if not role:
        return ()
    if can(role, Permission.REASSIGN):
        return BULK_ACTIONS
    if can(role, Permission.ASSIGN_SELF):
        return ("assign",)
    return ()


def _unique_ids(case_ids) -> list[str]:
    if isinstance(case_ids, str):
        raise InvalidInput("give the case ids as a list, not one text")
    ids = list(dict.fromkeys(str(c).strip() for c in case_ids if str(c).strip()))
    if not ids:
        raise InvalidInput("select at least one case")
    if len(ids) > MAX_BULK:
        raise InvalidInput(f"a bulk action takes at most {MAX_BULK} cases at once; "
                           f"{len(ids):,} were selected (narrow the list, or split it)")
    return ids


def check_request(db: Database, case_ids, action: str, *, actor: str, to: str | None = None,
                  tag: str | None = None, reason: str | None = None) -> BulkRequest:
    """The whole request's checks (`bulk_act` runs them first; a confirmation dialog may run
    them before it closes); raises InvalidInput or NotAllowed, writes nothing."""
    if action not in BULK_ACTIONS:
        raise InvalidInput(f"unknown bulk action {action!r}; actions: {', '.join(BULK_ACTIONS)}")
    ids = _unique_ids(case_ids)
    with db.read() as s:
        user = active_user(s, actor)
        allowed = may_bulk(user.role)
        if action not in allowed:
            raise NotAllowed(f"{user.username} ({user.role}) may not {action} cases in bulk"
                             + ("; a reviewer may only assign cases to themself"
                                if allowed else ""))
        if action == "assign":
            to = (to or "").strip() or user.username
            if to != user.username and not can(user.role, Permission.REASSIGN):
                raise NotAllowed("a reviewer can only assign cases to themself")
            target = active_user(s, to)
            if target.role == Role.ANALYST:
                raise InvalidInput(f"{to} is an analyst and cannot be assigned cases")
    if action in ("tag", "untag"):
        tag = clean_tag(tag if tag is not None else "")
    if action == "reject":
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("a reason is required to reject cases")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"a reason is at most {MAX_REASON:,} characters; this one has "
                               f"{len(reason):,} (shorten it and try again)")
    return BulkRequest(action, ids, user.username, to if action == "assign" else None,
                    tag, reason)


def _current(db: Database, case_id: str) -> tuple[int, str | None] | None:
    """The case's version and assignee now (None: no such case)."""
    with db.read() as s:
        row = s.execute(select(Case.version, Case.assignee).where(Case.id == case_id)).first()
    return None if row is None else (row.version, row.assignee)


def _one(db: Database, req: BulkRequest, case_id: str) -> bool:
    """The action on one case through its service function; False when nothing needed
    doing. Refusals raise the core's errors."""
    found = _current(db, case_id)
    if found is None:
        raise NotFound(f"case {case_id!r} not found")
    version, assignee = found
    common = {"actor": req.actor, "expected_version": version}
    if req.action in ("assign", "unassign"):
        if assignee == req.to:
            return False
        assign_case(db, case_id, req.to, **common)
        return True
    if req.action == "tag":
        return add_tag(db, case_id, req.tag, **common)
    if req.action == "untag":
        return remove_tag(db, case_id, req.tag, **common)
    reject_case(db, case_id, reason=req.reason, **common)
    return True


def bulk_act(db: Database, case_ids, action: str, *, actor: str, to: str | None = None,
             tag: str | None = None, reason: str | None = None,
             on_progress: Progress | None = None) -> BulkResult:
    """Runs `action` on each case (see the module docstring); `to` is the assignee of
    "assign" (default: the actor), `tag` the tag of tag/untag, `reason` the reject reason.
    `on_progress(done, total)` is called after each case."""
    req = check_request(db, case_ids, action, actor=actor, to=to, tag=tag, reason=reason)
    result = BulkResult(req.action)
    total = len(req.ids)
    for n, case_id in enumerate(req.ids, start=1):
        try:
            changed = _one(db, req, case_id)
        except CaseChanged:  # between the version read and the command: another's action
            result.refused.append((case_id, CHANGED))
        except DocketError as e:
            result.refused.append((case_id, str(e).split("\n", 1)[0]))
        else:
            (result.done if changed else result.unchanged).append(case_id)
        if on_progress is not None:
            on_progress(n, total)
    return result


def case_ids_for(db: Database, flt: CaseFilter, *, sort: str = "created_at",
                 descending: bool = True, limit: int = MAX_BULK) -> list[str]:
    """The ids of every case of the list (filter and sort as `list_cases`), for "select all":
    at most `limit`; a longer list is refused (InvalidInput) with its size."""
    order = sort_columns(sort, descending)
    clauses, needs_entity = filter_clauses(flt, db.dialect)
    stmt = select(Case.id).where(*clauses)
    if needs_entity:
        stmt = stmt.join(Entity, Entity.id == Case.entity_id)
    with db.read() as s:
        ids = list(s.scalars(stmt.order_by(*order).limit(limit + 1)))
    if len(ids) > limit:
        raise InvalidInput(f"this list has {count_cases(db, flt):,} cases; a bulk action takes "
                           f"at most {limit} at once: narrow the list with the filters")
    return ids


def still_listed(db: Database, flt: CaseFilter, case_ids) -> list[str]:
    """Those of `case_ids` (at most MAX_BULK) the list still holds, in their given order:
    after a bulk action, the selection keeps only the cases still in the list."""
    ids = list(dict.fromkeys(case_ids))[:MAX_BULK]
    if not ids:
        return []
    clauses, needs_entity = filter_clauses(flt, db.dialect)
    stmt = select(Case.id).where(Case.id.in_(ids), *clauses)
    if needs_entity:
        stmt = stmt.join(Entity, Entity.id == Case.entity_id)
    with db.read() as s:
        found = set(s.scalars(stmt))
    return [c for c in ids if c in found]
