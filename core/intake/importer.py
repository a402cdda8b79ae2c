"""Writing a checked import: all of the file's cases in one unit of work, or none.

`import_cases` parses the file (`format.py`) and checks all of it (`checks.py`) inside the same
unit of work that writes it, so a file with any problem writes nothing and ids are checked
against the database they are written to. Each case is written with its documents' files
(version 1), its `case.imported` audit event and its derived status. The file format is
documented in docs/INTAKE.md; examples/cases.json is a complete example.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.cases.state import facts_of, refresh_status
from core.cases.status import derive_case_status
from core.errors import InvalidInput
from core.intake.checks import PlannedCase, PlannedDocument, check_import, existing_case_ids
from core.intake.documents import store_blob
from core.intake.format import REFUSED, parse_import
from core.intake.values import clean_actor
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Document, DocumentFile, Entity, Process, Ubo, utcnow

MAX_PUSH_CASES = 1_000  # per API request; a larger load goes through `import_cases` (a file)


def _new_case_ids(session: Session, count: int, taken: set[str]) -> list[str]:
    ids: list[str] = []
    while len(ids) < count:
        batch = {f"C-{secrets.token_hex(5).upper()}" for _ in range(count - len(ids))}
        batch -= taken
        batch -= existing_case_ids(session, sorted(batch))
        ids.extend(sorted(batch))
        taken |= batch
    return ids


def _new_document(session: Session, plan: PlannedDocument, now: datetime,
                  ubo_id: int | None = None) -> Document:
    """A new document block; its file (already checked) becomes version 1."""
    document = Document(document_type=plan.document_type, properties=plan.properties,
                        ubo_id=ubo_id)
    if plan.content is not None:
        sha256 = store_blob(session, plan.content, plan.content_type)
        document.files = [DocumentFile(version=1, filename=plan.filename, blob_sha256=sha256,
                                       uploaded_at=now, uploaded_by="applicant")]
    return document


def _write_case(session: Session, plan: PlannedCase, case_id: str, actor: str) -> Case:
    now = utcnow()
    entity = Entity(**plan.entity)
    case = Case(id=case_id, workflow=plan.workflow, entity=entity,
                collection_completed=plan.values["collection_completed"],
                risk_score=plan.values["risk_score"], tags=plan.values["tags"],
                user_data=plan.values["user_data"], registry_data=plan.values["registry_data"],
                enriched_data=plan.values["enriched_data"],
                created_at=plan.values["created_at"] or now, updated_at=now,
                status_changed_at=now, version=1)
    case.processes = [Process(name=p["name"], state=p["state"], detail=p["detail"], updated_at=now)
                      for p in plan.processes]
    case.ubos = [Ubo(**u.values) for u in plan.ubos]
    case.documents = [_new_document(session, d, now) for d in plan.documents]
    # The placeholder status is read off the case in memory; refresh_status below confirms it.
    case.case_status = derive_case_status(facts_of(case)).value
    session.add(case)
    if any(u.documents for u in plan.ubos):
        session.flush()  # the UBOs' ids, for their documents
        for ubo, ubo_plan in zip(case.ubos, plan.ubos):
            case.documents.extend(_new_document(session, d, now, ubo.id)
                                  for d in ubo_plan.documents)
    audit.record(session, case_id=case.id, actor=actor, kind="case.imported",
                 after={"workflow": case.workflow, "entity": entity.name,
                        "status": case.case_status, "documents": len(case.documents),
                        "ubos": len(case.ubos), "processes": len(case.processes)})
    refresh_status(session, case, actor)
    return case


def _write_planned(session: Session, planned: list[PlannedCase], actor: str,
                   on_progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Writes the planned cases (ids generated where the file gave none); their ids in order."""
    given = {p.case_id for p in planned if p.case_id}
    generated = iter(_new_case_ids(session, sum(p.case_id is None for p in planned), set(given)))
    ids = []
    for done, plan in enumerate(planned, start=1):
        ids.append(_write_case(session, plan, plan.case_id or next(generated), actor).id)
        if on_progress is not None:
            on_progress(done, len(planned))
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
