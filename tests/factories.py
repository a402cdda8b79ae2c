"""Builds cases for tests through the ORM, with the status derived by core.cases.state."""
from __future__ import annotations

from sqlalchemy import func, select

from core.cases.state import refresh_status
from core.store.db import Database
from core.store.models import Base, Case, Document, Entity, Process, Ubo, utcnow


def make_case(db: Database, case_id: str = "C-1", *, workflow: str = "onboarding",
              collection_completed: bool = True, documents: int = 1, ubos: int = 0,
              kyc_state: str = "completed", kyc_result: bool = True,
              processes: tuple[str, ...] = (), assignee: str | None = None,
              name: str = "Acme Trading Ltd", country: str = "HK", kind: str = "business",
              email: str = "owner@acme.example", registration_number: str = "HK-1234567",
              user_data: dict | None = None, reviewed: bool = False) -> str:
    """`reviewed`: every document and completed KYC block is approved already (by reviewer),
    so Approve is not held back by onboarding's rule that every block is reviewed first."""
    with db.unit_of_work() as s:
        entity = Entity(kind=kind, name=name, email=email, phone="+852 5555 0100",
                        country=country, registration_number=registration_number)
        s.add(entity)
        s.flush()
        now = utcnow()
        case = Case(id=case_id, workflow=workflow, entity_id=entity.id,
                    case_status="collection_flow", collection_completed=collection_completed,
                    assignee=assignee, user_data=user_data or {"industry": "trading"},
                    registry_data={"status": "active"}, tags=[], created_at=now, updated_at=now,
                    status_changed_at=now, version=1)
        s.add(case)
        s.flush()
        for i in range(documents):
            case.documents.append(Document(document_type="passport" if i else
                                           "certificate_of_incorporation", properties={}))
        for i in range(ubos):
            case.ubos.append(Ubo(full_name=f"Owner {i}", email=f"o{i}@acme.example",
                                 kyc_state=kyc_state,
                                 kyc_result={"vendor": "Veriff", "outcome": "clear"}
                                 if kyc_result and kyc_state == "completed" else None))
        if reviewed:
            for block in [*case.documents, *(u for u in case.ubos if u.kyc_state == "completed")]:
                block.block_status, block.reviewed_by, block.reviewed_at = "approved", "reviewer", now
        for state in processes:
            case.processes.append(Process(name=f"registry_lookup_{len(case.processes)}",
                                          state=state))
        refresh_status(s, case, "test")
    return case_id


def version_of(db: Database, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


def status_of(db: Database, case_id: str) -> str:
    with db.read() as s:
        return s.get(Case, case_id).case_status


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table: a refused command must leave all of them unchanged."""
    with db.read() as s:
        return {t.name: s.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables}
