"""A case's explained risk score: its facts read into risk inputs, scored under its
workflow's risk model (core/workflows/risk_model.py) and stored on the case (docs/RISK.md).

Why it exists: reviewers, the case list, four-eyes and SLA rules need the level of a case,
and an examiner needs to see what produced it ("+25 country on high-risk list: IR").
`refresh_risk` runs with every status refresh (`core.cases.state.refresh_status`: the end of
every case command and every screening record), so any change to a factor's facts is scored
in the same transaction; a case that becomes rejected or gains (or loses) a true match also
re-scores the cases related to it (at most NEIGHBOURS_CAP; a related case being changed by
someone else at that moment, which holds its lock, keeps its score until its next change).

Reading many cases at once (`risk_of_cases`: migration 0017's backfill, `recompute_risk`) uses
set-based queries BATCH cases at a time and gives the same inputs as the one-case path (a
test checks): the same pure `inputs_from` builds both.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.related import COMMON_AFTER, related_in, related_summary
from core.cases.status import HitDisposition
from core.store import audit
from core.store.db import Database
from core.store.models import (
    Case,
    CaseKey,
    Document,
    DocumentFile,
    Entity,
    ScreeningHit,
    Ubo,
    Workflow,
)
from core.workflows.definitions import definition_of
from core.workflows.risk_cases import WRITE, stored_risk
from core.workflows.risk_model import RiskScore, compact_inputs, model_of, score, scorer

NEIGHBOURS_CAP = 50   # related cases re-scored when a case becomes rejected or a true match
BATCH = 5_000         # cases per round when many are scored
VALUES_PER_QUERY = 500  # values (or case ids) per IN list
PEP = re.compile(r"\bpeps?\b|politically exposed", re.IGNORECASE)
DETAIL_FIELDS = ("legal_form", "industry", "ownership_layers")
RELATED_FACTORS = ("related_rejected", "related_true_match")


# --- inputs --------------------------------------------------------------------------------

def hit_kind(dataset: str | None, entry: dict[str, Any] | None) -> str:
    """"pep" when a true match's list or programme says PEP (a word "PEP"/"PEPs", or
    "politically exposed"), else "sanctions": a list that does not say is treated as the
    stricter kind (docs/RISK.md)."""
    entry = entry if isinstance(entry, dict) else {}
    said = " ".join(str(v) for v in (dataset, entry.get("programme"), entry.get("dataset"),
                                     entry.get("topics")) if v)
    return "pep" if PEP.search(said) else "sanctions"


def _detail(registry: Any, user: Any) -> str:
    """The registry's value when present, else the applicant's, as text."""
    for value in (registry, user):
        if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
            return str(value).strip()[:200]
    return ""


def _whole(text: str) -> int:
    try:
        return max(0, min(int(float(text)), 1_000_000))
    except ValueError:
        return 0


def inputs_from(*, country: str | None, kind: str | None, details: dict[str, tuple[Any, Any]],
                ubo_nationalities: Iterable[str | None], hit_kinds: Iterable[str],
                open_hits: int | None, reuploads: int, related_rejected: int,
                related_true_match: int, imported: int | None) -> dict[str, Any]:
    """A case's risk inputs (core.workflows.risk_model.INPUT_KEYS), compacted; `details`:
    field -> (registry_data's value, user_data's value)."""
    nationalities = [(n or "").strip().upper() for n in ubo_nationalities]
    kinds = list(hit_kinds)
    return compact_inputs({
        "country": (country or "").strip().upper(), "kind": kind or "",
        "legal_form": _detail(*details["legal_form"]), "industry": _detail(*details["industry"]),
        "ubo_nationalities": sorted({n for n in nationalities if n}),
        "ubos": len(nationalities), "layers": _whole(_detail(*details["ownership_layers"])),
        "sanctions": kinds.count("sanctions"), "pep": kinds.count("pep"),
        "open_hits": int(open_hits or 0), "reuploads": int(reuploads),
        "related_rejected": int(related_rejected), "related_true_match": int(related_true_match),
        "imported": imported,
    })


def _hit_kinds(session: Session, ids: list[str], contiguous: bool = False
               ) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for case_id, dataset, entry in session.execute(
            select(ScreeningHit.case_id, ScreeningHit.dataset, ScreeningHit.entry)
            .where(_among(ScreeningHit.case_id, ids, contiguous), ScreeningHit.gone_at.is_(None),
                   ScreeningHit.disposition == HitDisposition.TRUE_MATCH.value)):
        found.setdefault(case_id, []).append(hit_kind(dataset, entry))
    return found


def _reuploads(session: Session, ids: list[str], contiguous: bool = False) -> dict[str, int]:
    return dict(session.execute(
        select(Document.case_id, func.count())
        .join(DocumentFile, DocumentFile.document_id == Document.id)
        .where(_among(Document.case_id, ids, contiguous), DocumentFile.version > 1)
        .group_by(Document.case_id)).all())


def uses_related(model: dict[str, Any]) -> bool:
    return any(f["factor"] in RELATED_FACTORS and f["points"] > 0 for f in model["factors"])


def case_inputs(session: Session, case: Case, model: dict[str, Any]) -> dict[str, Any]:
    """The risk inputs of one loaded case (its related cases only when the model reads them)."""
    user, registry = case.user_data or {}, case.registry_data or {}
    related = related_summary(session, case.id) if uses_related(model) else None
    return inputs_from(
        country=case.entity.country, kind=case.entity.kind,
        details={f: (registry.get(f), user.get(f)) for f in DETAIL_FIELDS},
        ubo_nationalities=[u.nationality for u in case.ubos],
        hit_kinds=_hit_kinds(session, [case.id]).get(case.id, []), open_hits=case.open_hits,
        reuploads=_reuploads(session, [case.id]).get(case.id, 0),
        related_rejected=related.rejected if related else 0,
        related_true_match=related.true_match_cases if related else 0,
        imported=case.risk_score)


# --- one case, after every change ------------------------------------------------------------

def _telling(decision: str | None, inputs: dict[str, Any] | None) -> bool:
    """Rejected, or with a true match: raises the risk of the cases related to it."""
    inputs = inputs or {}
    return decision == "rejected" or bool(inputs.get("sanctions") or inputs.get("pep"))


def _model(session: Session, workflow: str) -> dict[str, Any]:
    return model_of(definition_of(session, workflow), workflow)


def refresh_risk(session: Session, case: Case, old_status: str | None) -> RiskScore:
    """Scores the case again (after a change, flushed) and stores it when it moved; re-scores
    its related cases when it became, or stopped being, rejected or a true match."""
    model = _model(session, case.workflow)
    inputs = case_inputs(session, case, model)
    result = score(model, inputs)
    stored = stored_risk(result, inputs)
    before = case.risk_factors
    if (case.risk_points, case.risk_level, before) != (result.points, result.level, stored):
        case.risk_points, case.risk_level, case.risk_factors = result.points, result.level, stored
    was = _telling("rejected" if old_status == "rejected" else None,
                   (before or {}).get("inputs"))
    if was != _telling(case.decision, inputs):
        session.flush()
        rescore_related(session, case.id)
    return result


def _lockable(session: Session, ids: list[str]) -> list[str]:
    """The cases of `ids` no other transaction holds (PostgreSQL: locked now, SKIP LOCKED);
    SQLite has one writer at a time: all of them."""
    if not ids or session.get_bind().dialect.name == "sqlite":
        return ids
    return list(session.scalars(select(Case.id).where(Case.id.in_(ids)).order_by(Case.id)
                                .with_for_update(skip_locked=True)))


def rescore_related(session: Session, case_id: str) -> int:
    """Re-scores the cases related to `case_id` (at most NEIGHBOURS_CAP, most telling first)
    without touching their version: their risk is derived, nobody's edit is stale for it."""
    others, _ = related_in(session, case_id)
    ids = _lockable(session, [c.case_id for c in others[:NEIGHBOURS_CAP]])
    writes = []
    for other_id in ids:
        other = session.get(Case, other_id)
        model = _model(session, other.workflow)
        inputs = case_inputs(session, other, model)
        result = score(model, inputs)
        stored = stored_risk(result, inputs)
        if (other.risk_points, other.risk_level, other.risk_factors) != (
                result.points, result.level, stored):
            writes.append({"b_id": other_id, "b_points": result.points, "b_level": result.level,
                           "b_factors": stored})
        session.expire(other, ["risk_points", "risk_level", "risk_factors"])
    if writes:
        session.execute(WRITE, writes)
    return len(writes)


def risk_sentences(stored: Any) -> list[str]:
    """The stored factors as the case shows them: "+25 country on high-risk list: IR"."""
    factors = (stored or {}).get("factors") if isinstance(stored, dict) else None
    return [f"+{points} {text}" for _, points, text in factors or []]


# --- many cases -----------------------------------------------------------------------------

# One kind and many values per statement: `kind = ? AND value IN (...)` reads the value index
# (kind, value, case_id); SQLite scans the table for a list of (kind, value) row values.
KIND, VALUES = bindparam("kind"), bindparam("values", expanding=True)
# the values of the list more than `most` cases share (common values), from the index alone
COMMON_AMONG = (select(CaseKey.value).where(CaseKey.kind == KIND, CaseKey.value.in_(VALUES))
                .group_by(CaseKey.value).having(func.count() > bindparam("most")))
# the telling cases (rejected, or with a true match) holding each value of the list
MATCHED = (select(ScreeningHit.id).where(
    ScreeningHit.case_id == CaseKey.case_id,
    ScreeningHit.disposition == HitDisposition.TRUE_MATCH.value).exists())
TELLING_WITH = (select(CaseKey.value, CaseKey.case_id, Case.decision == "rejected", MATCHED)
                .join(Case, Case.id == CaseKey.case_id)
                .where(CaseKey.kind == KIND, CaseKey.value.in_(VALUES),
                       (Case.decision == "rejected") | MATCHED))


def _chunks(items: list, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _related_counts(session: Session, ids: list[str], common: set[tuple[str, str]],
                    contiguous: bool = False) -> dict[str, tuple[int, int]]:
    """case -> (related rejected, related with a true match), counted as `related_summary`
    counts: a value more than COMMON_AFTER other cases share is left out. `common` holds the
    common values found so far (a caller scoring many batches passes the same set: a stock
    file shared by 300,000 cases is counted once, not once per batch)."""
    conn = session.connection()  # Core rows: thousands per batch, no ORM needed
    keys: dict[tuple[str, str], list[str]] = {}
    for case_id, kind, value in conn.execute(
            select(CaseKey.case_id, CaseKey.kind, CaseKey.value)
            .where(_among(CaseKey.case_id, ids, contiguous))):
        if (kind, value) not in common:
            keys.setdefault((kind, value), []).append(case_id)
    by_kind: dict[str, list[str]] = {}
    for kind, value in keys:
        by_kind.setdefault(kind, []).append(value)
    rejected, matched = set(), set()
    related: dict[str, set[str]] = {}
    for kind, values in by_kind.items():
        for chunk in _chunks(values, VALUES_PER_QUERY):
            params = {"kind": kind, "values": chunk}
            common.update((kind, v) for v in conn.scalars(COMMON_AMONG,
                                                          {**params, "most": COMMON_AFTER + 1}))
            for value, other, was_rejected, was_matched in conn.execute(TELLING_WITH, params):
                if (kind, value) in common:
                    continue
                if was_rejected:
                    rejected.add(other)
                if was_matched:
                    matched.add(other)
                for case_id in keys[(kind, value)]:
                    if case_id != other:
                        related.setdefault(case_id, set()).add(other)
    return {case_id: (len(found & rejected), len(found & matched))
            for case_id, found in related.items()}


def _among(column, ids: list[str], contiguous: bool):
    """`column IN ids`; a range when `ids` are every case from the first to the last (a
    batch in id order: no list of thousands of parameters to send)."""
    return column.between(ids[0], ids[-1]) if contiguous else column.in_(ids)


def inputs_of_cases(session: Session, ids: list[str], common: set[tuple[str, str]] | None = None,
                    *, contiguous: bool = False) -> dict[str, tuple[str, dict[str, Any]]]:
    """case -> (workflow, risk inputs) of the cases `ids` (a few set-based queries; `common`:
    see `_related_counts`; `contiguous`: see `_among`)."""
    if not ids:
        return {}
    details = [c for f in DETAIL_FIELDS for c in (Case.registry_data[f].as_string(),
                                                  Case.user_data[f].as_string())]
    rows = session.execute(
        select(Case.id, Case.workflow, Entity.country, Entity.kind, Case.open_hits,
               Case.risk_score, *details)
        .join(Entity, Entity.id == Case.entity_id)
        .where(_among(Case.id, ids, contiguous))).all()
    nationalities: dict[str, list[str | None]] = {}
    for case_id, nationality in session.execute(
            select(Ubo.case_id, Ubo.nationality).where(_among(Ubo.case_id, ids, contiguous))):
        nationalities.setdefault(case_id, []).append(nationality)
    kinds = _hit_kinds(session, ids, contiguous)
    reuploads = _reuploads(session, ids, contiguous)
    related = _related_counts(session, ids, set() if common is None else common, contiguous)
    found = {}
    for case_id, workflow, country, kind, open_hits, imported, *values in rows:
        rejected, matched = related.get(case_id, (0, 0))
        found[case_id] = (workflow, inputs_from(
            country=country, kind=kind,
            details={f: (values[2 * i], values[2 * i + 1]) for i, f in enumerate(DETAIL_FIELDS)},
            ubo_nationalities=nationalities.get(case_id, []),
            hit_kinds=kinds.get(case_id, []), open_hits=open_hits,
            reuploads=reuploads.get(case_id, 0), related_rejected=rejected,
            related_true_match=matched, imported=imported))
    return found


def stored_models(session: Session) -> dict[str, dict[str, Any]]:
    """Every workflow's risk model, read from the `workflows` table's name and definition
    only (migration 0017 calls this before any later column exists)."""
    table = Workflow.__table__
    return {name: model_of(definition or {}, name) for name, definition in session.execute(
        select(table.c.name, table.c.definition))}


def score_cases(session: Session, *, workflow: str | None = None, only_missing: bool = False,
                models: dict[str, dict[str, Any]] | None = None) -> int:
    """Computes and stores the risk of every case (of `workflow`; only those never scored)
    BATCH at a time in id order, in the caller's transaction; returns the cases written."""
    models = stored_models(session) if models is None else models
    common: set[tuple[str, str]] = set()
    written, after = 0, ""
    while True:
        query = select(Case.id).where(Case.id > after).order_by(Case.id).limit(BATCH)
        if workflow is not None:
            query = query.where(Case.workflow == workflow)
        if only_missing:
            query = query.where(Case.risk_level.is_(None))
        ids = list(session.scalars(query))
        if not ids:
            return written
        written += score_new_cases(session, ids, models, common,
                                   contiguous=workflow is None and not only_missing)
        after = ids[-1]


def score_new_cases(session: Session, ids: list[str],
                    models: dict[str, dict[str, Any]] | None = None,
                    common: set[tuple[str, str]] | None = None, *,
                    contiguous: bool = False) -> int:
    """Computes and stores the risk of the cases `ids` (at most a few thousand), e.g. cases a
    bulk writer has just inserted; returns the cases written."""
    models = stored_models(session) if models is None else models
    scorers = {name: scorer(model) for name, model in models.items()}
    writes = []
    for case_id, (wf, inputs) in inputs_of_cases(session, ids, common,
                                                 contiguous=contiguous).items():
        if wf not in scorers:
            scorers[wf] = scorer(model_of({}, wf))
        result = scorers[wf](inputs)
        writes.append({"b_id": case_id, "b_points": result.points, "b_level": result.level,
                       "b_factors": stored_risk(result, inputs)})
    if writes:
        session.execute(WRITE, writes)
    return len(writes)


def recompute_risk(db: Database, *, actor: str = "system", workflow: str | None = None,
                   only_missing: bool = False) -> int:
    """`score_cases` as an admin's command (e.g. after a bulk load that wrote cases without
    scoring them); returns the cases written. One `risk.recomputed` event (no case: the
    scores are derived from audited facts) says who ran it, over what and how many."""
    with db.unit_of_work() as session:
        require_permission(session, actor, Permission.MANAGE_WORKFLOWS)
        written = score_cases(session, workflow=workflow, only_missing=only_missing)
        audit.record(session, case_id=None, actor=actor, kind="risk.recomputed",
                     after={"workflow": workflow, "only_missing": only_missing,
                            "cases": written})
        return written
