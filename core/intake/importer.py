"""Writing a checked import: all of the file's cases in one unit of work, or none.

`import_cases` parses the file (`format.py`) and checks all of it (`checks.py`) inside the same
unit of work that writes it, so a file with any problem writes nothing and ids are checked
against the database they are written to. Each case is written with its documents' files
(version 1), its `case.imported` audit event, its derived status and its keys for related
cases (core/cases/case_keys.py). The file format is
documented in docs/INTAKE.md; examples/cases.json is a complete example.

The rows are written WRITE_EVERY cases at a time, a few multi-row INSERTs per table (Core
INSERTs: the columns' defaults apply; the database's triggers keep the case counters and the
search index), in file order, so the ids come out as if written case by case; their
`case.imported` audit events too (`audit.record_many`, one `at` per round).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.case_keys import CaseSources, case_key_rows
from core.cases.risk import score_new_cases
from core.cases.screening_queue import enqueue
from core.cases.state import facts_from
from core.cases.status import derive_case_status
from core.errors import InvalidInput
from core.intake.checks import PlannedCase, check_import, existing_case_ids
from core.intake.documents import store_blob
from core.intake.format import REFUSED, parse_import
from core.intake.values import clean_actor
from core.store import audit
from core.store.db import Database
from core.store.models import Case, CaseKey, Document, DocumentFile, Entity, Process, Ubo, utcnow
from core.store.screening_list_models import ScreeningList
from core.workflows.sla import due_at, due_times

MAX_PUSH_CASES = 1_000  # per API request; a larger load goes through `import_cases` (a file)
WRITE_EVERY = 200  # cases per round of multi-row INSERTs


def _new_case_ids(session: Session, count: int, taken: set[str]) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        batch = {f"C-{secrets.token_hex(5).upper()}" for _ in range(count - len(ids))}
        batch -= taken
        batch -= existing_case_ids(session, sorted(batch))
        ids.extend(sorted(batch))
        taken |= batch
    return ids


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Inserts the rows into the model's table (a Core INSERT: the columns' defaults apply)."""
    if rows:
        session.execute(insert(model.__table__), rows)


def _inserted_ids(session: Session, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Inserts the rows into the model's table and returns their new ids, in row order."""
    if not rows:
        return []
    table = model.__table__
    if session.get_bind().dialect.name == "sqlite":
        # Asked to return the ids in row order, SQLAlchemy would insert one row per statement
        # on SQLite. Not needed: in our write transaction (BEGIN IMMEDIATE, the only writer)
        # SQLite gives each new row the largest rowid so far plus one, in the order of the
        # VALUES, so the ids sorted are in row order.
        return sorted(session.scalars(insert(table).returning(table.c.id), rows))
    return list(session.scalars(insert(table).returning(table.c.id,
                                                        sort_by_parameter_order=True), rows))


def _status(plan: PlannedCase) -> str:
    """The derived status of the planned case: every block new (no stored status), no
    decision; the same facts `refresh_status` reads off the written case."""
    documents = len(plan.documents) + sum(len(u.documents) for u in plan.ubos)
    return derive_case_status(facts_from(
        decision=None, collection_completed=plan.values["collection_completed"],
        document_block_statuses=[None] * documents,
        kyc_blocks=[(None, u.values["kyc_state"]) for u in plan.ubos],
        process_states=[p["state"] for p in plan.processes])).value


def _key_rows(chunk: list[tuple[PlannedCase, str]], documents: list[tuple], document_ids: list[int],
              files: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The new cases' keys for related cases (core/cases/case_keys.py), one multi-row INSERT."""
    case_of = {doc_id: row["case_id"] for doc_id, (row, _, _) in zip(document_ids, documents)}
    files_of: dict[str, list[tuple[str, str]]] = {}
    for f in files:
        files_of.setdefault(case_of[f["document_id"]], []).append((f["blob_sha256"], f["filename"]))
    return [row for plan, case_id in chunk for row in case_key_rows(case_id, CaseSources(
        plan.entity.get("kind", ""), plan.entity.get("name", ""), plan.entity.get("email", ""),
        plan.entity.get("phone", ""), plan.entity.get("country", ""),
        plan.entity.get("registration_number", ""), plan.values["user_data"],
        plan.values["registry_data"],
        [(u.values.get("full_name"), u.values.get("date_of_birth")) for u in plan.ubos],
        files_of.get(case_id, [])))]


def _write_cases(session: Session, chunk: list[tuple[PlannedCase, str]], actor: str) -> None:
    """Writes the planned cases (with their case ids) in file order: entities, cases,
    processes, UBOs, documents (each case's own, then its UBOs'), files, audit events."""
    nows = [utcnow() for _ in chunk]
    entity_ids = _inserted_ids(session, Entity, [dict(plan.entity) for plan, _ in chunk])
    statuses = [_status(plan) for plan, _ in chunk]
    slas = due_times(session, [plan.workflow for plan, _ in chunk])  # read once per chunk
    _insert(session, Case, [
        {"id": case_id, "workflow": plan.workflow, "entity_id": entity_id, "case_status": status,
         "collection_completed": plan.values["collection_completed"],
         "risk_score": plan.values["risk_score"], "tags": plan.values["tags"],
         "user_data": plan.values["user_data"], "registry_data": plan.values["registry_data"],
         "enriched_data": plan.values["enriched_data"],
         "created_at": plan.values["created_at"] or now, "updated_at": now,
         "status_changed_at": now, "version": 1,
         "due_at": (due_at(now, slas[(plan.workflow, status)])
                    if (plan.workflow, status) in slas else None)}
        for (plan, case_id), entity_id, status, now in zip(chunk, entity_ids, statuses, nows)])
    processes = [{"case_id": case_id, "name": p["name"], "state": p["state"],
                  "detail": p["detail"], "updated_at": now}
                 for (plan, case_id), now in zip(chunk, nows) for p in plan.processes]
    _insert(session, Process, processes)
    ubo_ids = iter(_inserted_ids(session, Ubo, [{**u.values, "case_id": case_id}
                                                for plan, case_id in chunk for u in plan.ubos]))
    documents = []  # (row, planned document, when)
    for (plan, case_id), now in zip(chunk, nows):
        owned = [(None, d) for d in plan.documents]
        for u in plan.ubos:
            ubo_id = next(ubo_ids)
            owned.extend((ubo_id, d) for d in u.documents)
        documents.extend(({"case_id": case_id, "ubo_id": ubo_id, "document_type": d.document_type,
                           "properties": d.properties}, d, now) for ubo_id, d in owned)
    document_ids = _inserted_ids(session, Document, [row for row, _, _ in documents])
    files = [{"document_id": document_id, "version": 1, "filename": d.filename,
              "blob_sha256": store_blob(session, d.content, d.content_type),
              "uploaded_at": now, "uploaded_by": "applicant"}
             for document_id, (_, d, now) in zip(document_ids, documents) if d.content is not None]
    _insert(session, DocumentFile, files)
    _insert(session, CaseKey, _key_rows(chunk, documents, document_ids, files))
    audit.record_many(session, (
        {"case_id": case_id, "actor": actor, "kind": "case.imported",
         "after": {"workflow": plan.workflow, "entity": plan.entity["name"], "status": status,
                   "documents": len(plan.documents) + sum(len(u.documents) for u in plan.ubos),
                   "ubos": len(plan.ubos), "processes": len(plan.processes)}}
        for (plan, case_id), status in zip(chunk, statuses)))


def _lists_loaded(session: Session) -> bool:
    """Whether a screening list is loaded: new cases are queued for the built-in screener
    only then (with no list there is nothing to screen against, and a list's first load
    queues every case anyway)."""
    return session.scalar(select(ScreeningList.id).where(ScreeningList.current_version > 0)
                          .limit(1)) is not None


def _write_planned(session: Session, planned: list[PlannedCase], actor: str,
                   on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Writes the planned cases (ids generated where the file gave none); their ids in order.
    `on_progress(done, total)` is called for each case once it is written."""
    given = {p.case_id for p in planned if p.case_id}
    generated = iter(_new_case_ids(session, sum(p.case_id is None for p in planned), set(given)))
    ids = [plan.case_id or next(generated) for plan in planned]
    for start in range(0, len(planned), WRITE_EVERY):
        _write_cases(session, list(zip(planned[start:start + WRITE_EVERY],
                                       ids[start:start + WRITE_EVERY])), actor)
        if on_progress is not None:
            for done in range(start + 1, min(start + WRITE_EVERY, len(planned)) + 1):
                on_progress(done, len(planned))
    if ids:
        score_new_cases(session, ids)  # their risk (core/cases/risk.py), batched
    if ids and _lists_loaded(session):  # no list, nothing to screen against
        enqueue(session, ids, "intake")
    return ids


def import_cases(db: Database, source: bytes | str | dict, *, actor: str = "system",
                 on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Imports every case of the file in one unit of work and returns their ids, in file
    order. Any problem raises InvalidInput listing them all, and nothing is written.
    `on_progress(done, total)` is called after each case is written."""
    actor = clean_actor(actor)
    data = parse_import(source)
    try:
        with db.unit_of_work() as session:
            problems, planned = check_import(data, session)
            if problems:
                raise InvalidInput(REFUSED, problems)
            return _write_planned(session, planned, actor, on_progress)
    except IntegrityError:
        raise InvalidInput(REFUSED, ["a case id of the file was imported by someone else "
                                     "at the same time; check the ids and try again"]) from None


def import_cases_in(session: Session, source: bytes | str | dict, *, actor: str) -> list[str]:
    """`import_cases` inside the caller's unit of work (the built-in screener opens a
    monitoring review and records its hits in one transaction). InvalidInput, nothing
    written by this call, on any problem."""
    actor = clean_actor(actor)
    problems, planned = check_import(parse_import(source), session)
    if problems:
        raise InvalidInput(REFUSED, problems)
    return _write_planned(session, planned, actor)


@dataclass(frozen=True)
class PushedCases:
    created: list[str]   # ids written now, in request order
    existing: list[str]  # ids that were in the database already, left as they were


def push_cases(db: Database, source: bytes | str | dict, *, actor: str) -> PushedCases:
    """Cases pushed by the onboarding stack (the API): one case object or `{"cases": [...]}`
    of up to MAX_PUSH_CASES, checked whole like an import file and written all-or-nothing.
    Idempotent by case id: a case whose id exists already is not written again and is listed
    under `existing`, so a client may retry a push it is unsure of. `actor` must be a user
    allowed to import cases (checked in the same unit of work)."""
    data = parse_import(source)
    if isinstance(data, dict) and "cases" not in data:
        data = {"cases": [data]}
    if isinstance(data, dict) and isinstance(data.get("cases"), list) \
            and len(data["cases"]) > MAX_PUSH_CASES:
        raise InvalidInput(REFUSED, [f"cases: {len(data['cases']):,} cases; at most "
                                     f"{MAX_PUSH_CASES:,} per request"])
    for attempt in (1, 2):  # a concurrent push of the same id: the retry sees it as existing
        try:
            with db.unit_of_work() as session:
                require_permission(session, actor, Permission.IMPORT_CASES)
                problems, planned = check_import(data, session, skip_existing=True)
                if problems:
                    raise InvalidInput(REFUSED, problems)
                fresh = [p for p in planned if not p.exists]
                created = _write_planned(session, fresh, actor)
                return PushedCases(created, [p.case_id for p in planned if p.exists])
        except IntegrityError:
            if attempt == 2:
                raise InvalidInput(REFUSED, ["a case id was pushed twice at the same time; "
                                             "push again"]) from None
    raise AssertionError("unreachable")
