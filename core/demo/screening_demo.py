"""Screening hits on a few demo cases, so a newcomer sees the Screening blocks: one case whose
UBO has an open hit (Approve waits for it), one whose entity hit a lead already cleared as a
false positive, one whose UBO is a true match awaiting a second lead's sign-off.

Written through core/screening like any screening (the built-in screener's actor, "system";
the decisions as the demo lead), after the demo cases are bulk-loaded: the bulk loader itself
leaves every case's `open_hits` at 0. The list entries are made up.
"""
from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import exists, select

from core.cases.status import CaseStatus
from core.errors import DocketError
from core.screening.dispositions import disposition_hit
from core.screening.hits import record_screening
from core.screening.lists import load_list
from core.store.db import Database
from core.store.models import Case, Ubo

log = logging.getLogger(__name__)
SOURCE = "demo-screening"
LEAD = "lead"  # a demo user (core/access/users.py): may disposition hits on any case


def _candidates(db: Database, n: int) -> list[tuple[str, int, str, str]]:
    """(case id, first UBO id, UBO name, entity name) of onboarding cases in Manual review."""
    with db.read() as s:
        rows = s.execute(
            select(Case.id, Case.entity_name)
            .where(Case.workflow == "onboarding",
                   Case.case_status == CaseStatus.MANUAL_REVIEW.value,
                   exists().where(Ubo.case_id == Case.id))
            .order_by(Case.id).limit(n)).all()
        found = []
        for case_id, entity in rows:
            ubo = s.execute(select(Ubo.id, Ubo.full_name).where(Ubo.case_id == case_id)
                            .order_by(Ubo.id).limit(1)).one()
            found.append((case_id, ubo.id, ubo.full_name, entity or ""))
    return found


def _version(db: Database, case_id: str) -> int:
    with db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def _entry(entry_id: str, dataset: str, name: str, born: str, country: str, programme: str,
           score: int) -> dict:
    return {"entry_id": entry_id, "dataset": dataset, "name": name, "birth_dates": [born],
            "countries": [country], "programme": programme, "score": score,
            "matched_fields": ["name"]}


def seed_demo_screening(db: Database) -> int:
    """Screens up to three demo cases (see the module docstring); returns how many."""
    cases = _candidates(db, 3)
    done = 0
    try:
        if len(cases) > 0:  # an open UBO hit: Approve waits for it
            case_id, ubo, person, _ = cases[0]
            record_screening(db, case_id, f"ubo:{ubo}", SOURCE, [
                _entry("DEMO-SDN-1021", "OFAC SDN", person, "1961", "Russia", "RUSSIA-EO14024",
                       92)], actor="system")
            done += 1
        if len(cases) > 1:  # an entity hit cleared already
            case_id, _, _, entity = cases[1]
            hit = record_screening(db, case_id, "entity", SOURCE, [
                _entry("DEMO-EU-377", "EU Consolidated List", entity or "Unknown", "2009",
                       "Syria", "EU Syria regime", 78)], actor="system").new[0]
            disposition_hit(db, hit, "false_positive", "A Syrian state-owned company of a "
                            "similar name; ours is registered elsewhere with another number",
                            actor=LEAD, expected_version=_version(db, case_id))
            done += 1
        if len(cases) > 2:  # a true match, awaiting a second lead's sign-off
            case_id, ubo, person, _ = cases[2]
            hit = record_screening(db, case_id, f"ubo:{ubo}", SOURCE, [
                _entry("DEMO-PEP-88", "PEP list", person, "1974", "United Kingdom",
                       "PEP: member of a regional parliament", 85)], actor="system").new[0]
            disposition_hit(db, hit, "true_match", "Same person: the registry lists the UBO "
                            "as a sitting regional MP", actor=LEAD,
                            expected_version=_version(db, case_id))
            done += 1
    except DocketError as e:  # demo data is a courtesy: a refusal never stops a start
        log.warning("demo screening hits not all written: %s", e)
    return done


DEMO_LISTS = (("demo-sanctions", "demo_sanctions.csv", "opensanctions",
               "Docket demo sanctions (fictional)"),
              ("demo-sdn", "demo_sdn.csv", "ofac_sdn", "Docket demo SDN (fictional)"))


def load_demo_lists(db: Database) -> None:
    """The built-in screener's two fictional lists (core/demo/lists), loaded as the system:
    every demo case is then queued, and the worker screens it (docs/SCREENING.md)."""
    folder = Path(__file__).with_name("lists")
    for name, file_name, fmt, title in DEMO_LISTS:
        try:
            load_list(db, name, (folder / file_name).read_bytes(), fmt=fmt, actor="system",
                      title=title, file_name=file_name)
        except DocketError as e:  # the demo stays usable without its lists
            log.warning("demo list %s not loaded: %s", name, e)
