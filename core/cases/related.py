"""Related cases: the other cases that share a key with a case (the same normalised email,
phone, registration number, person, address or document file; core/cases/case_keys.py).

Why it exists: one person behind several applications, or one file sent by two applicants,
is invisible case by case. `related_cases` answers the preview's "Related cases (N)" for one
viewer; `related_summary` gives the counts a risk rule reads (a rejected related case, one
with a true screening match).

A few index reads whatever the size of the book: the case's keys; for each key, at most
COMMON_AFTER + 1 other cases (one UNION ALL over the value index alone); the rows of the
related cases, each with its true-match flag; a capped count for a key past COMMON_AFTER.
A value more than COMMON_AFTER other cases share (a registered agent's address, a
switchboard number, a template file) is a *common value*: named with its count, its cases
are neither listed nor counted.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Integer, bindparam, exists, func, literal, select, union_all
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.case_keys import KIND_LABELS
from core.cases.retention_state import check_visible, restricted_clause, sees_restricted
from core.cases.status import CaseStatus, HitDisposition
from core.errors import NotFound
from core.store.db import Database
from core.store.models import Case, CaseKey, ScreeningHit, User

COMMON_AFTER = 50      # a value shared by more other cases than this is a common value
COUNT_CAP = 1_000      # a common value's other cases are counted up to this
SHOWN_CASES = 50       # related cases listed, most telling first; the rest counted
KEYS_PER_QUERY = 200   # keys per UNION ALL (SQLite allows 500 compound members)


@dataclass(frozen=True)
class SharedValue:
    kind: str
    label: str   # "Phone", "Address"...
    shown: str   # as the case being looked at has it


@dataclass(frozen=True)
class RelatedCase:
    case_id: str
    entity_name: str
    workflow: str
    status: str
    status_label: str
    decision: str | None
    created_at: datetime
    true_match: bool          # has a screening hit dispositioned as a true match
    shared: tuple[SharedValue, ...]

    @property
    def telling(self) -> bool:
        """Rejected, or a true screening match: raises the risk of the cases it shares with."""
        return self.decision == "rejected" or self.true_match


@dataclass(frozen=True)
class CommonValue:
    kind: str
    label: str
    shown: str
    others: int    # other cases with the value, counted up to COUNT_CAP
    capped: bool   # there are more than COUNT_CAP


@dataclass(frozen=True)
class RelatedCases:
    case_id: str
    cases: list[RelatedCase]    # at most SHOWN_CASES
    total: int                  # every related case (common values left out)
    common: list[CommonValue]

    @property
    def more(self) -> int:
        """Related cases not listed."""
        return self.total - len(self.cases)


@dataclass(frozen=True)
class RelatedSummary:
    """What a risk rule reads: the related cases (common values left out) by status and
    decision, and how many of them have a true screening match."""
    related: int
    by_status: dict[str, int]
    by_decision: dict[str, int]
    true_match_cases: int
    common_values: int

    @property
    def rejected(self) -> int:
        return self.by_decision.get("rejected", 0)

    @property
    def raises_risk(self) -> bool:
        return self.rejected > 0 or self.true_match_cases > 0


# The statements are built once per number of keys (SQLAlchemy's compiled cache then holds
# them; building a UNION of subqueries each call cost more than running it).
KEYS_OF_CASE = (select(CaseKey.kind, CaseKey.value, CaseKey.shown)
                .where(CaseKey.case_id == bindparam("case_id"))
                .order_by(CaseKey.kind, CaseKey.value))
CASE_EXISTS = select(Case.id).where(Case.id == bindparam("case_id"))
# the related cases' rows, each with whether it has a hit dispositioned as a true match
CASES_OF = select(
    Case.id, Case.entity_name, Case.workflow, Case.case_status, Case.decision, Case.created_at,
    exists().where(ScreeningHit.case_id == Case.id,
                   ScreeningHit.disposition == HitDisposition.TRUE_MATCH.value).label("tm"),
).where(Case.id.in_(bindparam("ids", expanding=True)))
IDS_PER_QUERY = 500


def _keys(session: Session, case_id: str) -> list[tuple[str, str, str]]:
    if session.scalar(CASE_EXISTS, {"case_id": case_id}) is None:
        raise NotFound(f"case {case_id!r} not found")
    return [tuple(r) for r in session.execute(KEYS_OF_CASE, {"case_id": case_id})]


@lru_cache(maxsize=KEYS_PER_QUERY)
def _matches_statement(n_keys: int):
    """(kind, value, other case id) for at most `limit` other cases per key, from the index
    alone (a common value's cases are never read)."""
    def others(i: int):
        return (select(CaseKey.kind, CaseKey.value, CaseKey.case_id)
                .where(CaseKey.kind == bindparam(f"k{i}"), CaseKey.value == bindparam(f"v{i}"),
                       CaseKey.case_id != bindparam("case_id"))
                .limit(bindparam("limit", type_=Integer)).subquery(f"k{i}").select())
    return union_all(*(others(i) for i in range(n_keys)))


def _params(keys: list[tuple[str, str]]) -> dict[str, str]:
    return {name: v for i, (kind, value) in enumerate(keys)
            for name, v in ((f"k{i}", kind), (f"v{i}", value))}


def _matches(session: Session, case_id: str, keys: list[tuple[str, str]]):
    """(kind, value, other case id) for at most COMMON_AFTER + 1 others per key."""
    found = []
    for start in range(0, len(keys), KEYS_PER_QUERY):
        part = keys[start:start + KEYS_PER_QUERY]
        found.extend(session.execute(_matches_statement(len(part)), {
            **_params(part), "case_id": case_id, "limit": COMMON_AFTER + 1}).all())
    return found


@lru_cache(maxsize=KEYS_PER_QUERY)
def _counts_statement(n_keys: int):
    """Each key's cases (the case itself included), counted up to `cap`."""
    def count(i: int):
        capped = (select(literal(1).label("one")).select_from(CaseKey)
                  .where(CaseKey.kind == bindparam(f"k{i}"), CaseKey.value == bindparam(f"v{i}"))
                  .limit(bindparam("cap", type_=Integer)).subquery(f"c{i}"))
        return select(literal(i).label("i"), func.count().label("n")).select_from(capped)
    return union_all(*(count(i) for i in range(n_keys)))


def _common_counts(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Each common value's cases (this one included), counted up to COUNT_CAP + 2."""
    counts: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), KEYS_PER_QUERY):
        part = keys[start:start + KEYS_PER_QUERY]
        for i, n in session.execute(_counts_statement(len(part)),
                                    {**_params(part), "cap": COUNT_CAP + 2}):
            counts[part[i]] = n
    return counts


def _case_rows(session: Session, case_ids: list[str]) -> list[tuple]:
    rows = []
    for start in range(0, len(case_ids), IDS_PER_QUERY):
        rows.extend(session.execute(CASES_OF, {"ids": case_ids[start:start + IDS_PER_QUERY]}))
    return rows


def related_in(session: Session, case_id: str) -> tuple[list[RelatedCase], list[CommonValue]]:
    """Every related case (most telling first) and the case's common values."""
    keys = _keys(session, case_id)
    shown = {(kind, value): text for kind, value, text in keys}
    matches = _matches(session, case_id, list(shown))
    per_key = Counter((kind, value) for kind, value, _ in matches)
    common_keys = [key for key, n in per_key.items() if n > COMMON_AFTER]
    shared: dict[str, list[SharedValue]] = {}
    for kind, value, other in matches:
        if (kind, value) not in common_keys:
            shared.setdefault(other, []).append(
                SharedValue(kind, KIND_LABELS.get(kind, kind), shown[(kind, value)]))
    cases = [RelatedCase(other, name or "", workflow, status, CaseStatus(status).label,
                         decision, created, bool(true_match), tuple(shared[other]))
             for other, name, workflow, status, decision, created, true_match
             in _case_rows(session, list(shared))]
    cases.sort(key=lambda c: (-len(c.shared), not c.telling, -c.created_at.timestamp(),
                              c.case_id))
    counts = _common_counts(session, common_keys)
    common = [CommonValue(kind, KIND_LABELS.get(kind, kind), shown[(kind, value)],
                          min(counts[(kind, value)] - 1, COUNT_CAP),
                          counts[(kind, value)] - 1 > COUNT_CAP)
              for kind, value in common_keys]
    return cases, common


def related_cases(db: Database, case_id: str, viewer: str) -> RelatedCases:
    """The preview's "Related cases (N)" for `viewer`, who must be allowed to read cases
    (every case a reader may open is listed: Docket has no per-case read rule)."""
    with db.read() as session:
        require_permission(session, viewer, Permission.READ)
        user, case = session.get(User, viewer), session.get(Case, case_id)
        if case is not None:
            check_visible(case, user)  # restricted cases (erasure requested): admins only
        cases, common = related_in(session, case_id)
        if user is not None and not sees_restricted(user.role) and cases:
            hidden = set(session.scalars(select(Case.id).where(
                Case.id.in_([c.case_id for c in cases]), restricted_clause())))
            cases = [c for c in cases if c.case_id not in hidden]
    return RelatedCases(case_id, cases[:SHOWN_CASES], len(cases), common)


def related_summary(session: Session, case_id: str) -> RelatedSummary:
    """The related cases of `case_id` counted by status and decision, and those with a true
    screening match (for a risk rule, in the caller's session)."""
    cases, common = related_in(session, case_id)
    return RelatedSummary(
        related=len(cases), by_status=dict(Counter(c.status for c in cases)),
        by_decision=dict(Counter(c.decision for c in cases if c.decision)),
        true_match_cases=sum(c.true_match for c in cases), common_values=len(common))
