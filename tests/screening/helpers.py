"""What the screening tests share: a case with a UBO, a list entry, and reading hits back."""
from __future__ import annotations

from sqlalchemy import select

from core.cases.read import case_detail
from core.screening.hits import record_screening
from core.store.models import Case, ScreeningHit
from tests.factories import make_case

ENTRY = {"entry_id": "SDN-12345", "dataset": "OFAC SDN", "name": "Owner 0",
         "aliases": ["O. Zero", "Owner Zero"], "birth_dates": ["1970-03-01"],
         "countries": ["Iran"], "programme": "SDGT", "url": "https://sanctionssearch.example/12345",
         "score": 91, "matched_fields": ["name", "birth_date"]}


def ubo_case(db, case_id: str = "S-1", *, assignee: str | None = "reviewer",
             **kwargs) -> tuple[str, str]:
    """A case in Manual review (every block reviewed) with one UBO, "Owner 0"; returns its id
    and the UBO's subject key."""
    make_case(db, case_id, ubos=1, assignee=assignee, reviewed=True, **kwargs)
    return case_id, f"ubo:{case_detail(db, case_id, 'admin').kyc_blocks[0].id}"


def screen(db, case_id: str, subject: str, *entries: dict, source: str = "api",
           actor: str = "admin", **kwargs):
    return record_screening(db, case_id, subject, source, list(entries), actor=actor, **kwargs)


def hits_of(db, case_id: str) -> list[ScreeningHit]:
    with db.read() as s:
        return list(s.scalars(select(ScreeningHit).where(ScreeningHit.case_id == case_id)
                              .order_by(ScreeningHit.id)))


def hit(db, hit_id: int) -> ScreeningHit:
    with db.read() as s:
        return s.get(ScreeningHit, hit_id)


def open_hits(db, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).open_hits
