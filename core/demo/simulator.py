"""The simulator: product managers create a case from a template and play the outside world.

A case is made through the JSON import (`core.intake.importer.import_cases`), so it is a real case
checked by the same rules; the world's steps are the intake events (`complete_collection`,
`finish_process`, `start_process`, `send_kyc`, `complete_kyc`, `upload_document`). Reviewer
decisions stay in the Cases page. Every function checks that the simulator is on
(`DOCKET_SIMULATOR`, or demo mode) and that the actor is an admin or a reviewer.
"""
from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from core import config
from core.access.actors import active_user
from core.access.roles import Role
from core.cases.actions import load_case
from core.cases.read import CaseDetail, case_detail
from core.cases.state import facts_of
from core.cases.status import CaseAction, CaseStatus, case_action_availability
from core.errors import InvalidInput, NotAllowed
from core.intake.events import (
    complete_collection,
    complete_kyc,
    finish_process,
    send_kyc,
    start_process,
    upload_document,
)
from core.intake.importer import import_cases
from core.store.db import Database
from core.workflows.definitions import definition_of
from core.worklist.query import CaseFilter, list_cases
from core.worklist.views import draft_view

SIMULATOR_ROLES = frozenset({Role.ADMIN, Role.REVIEWER})
TAG = "simulator"
TEMPLATES = {
    "business": "A company (KYB) with UBOs",
    "person": "A person (KYC)",
}
DEFAULT_PROCESSES = ("registry_lookup", "sanctions_screening")
MAX_UBOS = 5
# Which document types suit which template when none is chosen: a person starts with an
# identity document and a proof of address; a company with the workflow's first two types
# that are not a person's identity documents.
IDENTITY_DOCUMENTS = ("passport", "identity_card", "driving_licence")
COMPANY_DOCUMENTS = ("certificate_of_incorporation", "annual_report",
                     "articles_of_association", "register_of_directors",
                     "register_of_shareholders")
VENDOR_RESULTS: dict[str, dict[str, Any]] = {
    "clear": {"vendor": "Simulated IDV", "outcome": "clear", "document_check": "passed",
              "face_match": 0.97, "watchlists": []},
    "document_expired": {"vendor": "Simulated IDV", "outcome": "review",
                         "document_check": "expired", "face_match": 0.95, "watchlists": []},
    "face_mismatch": {"vendor": "Simulated IDV", "outcome": "review",
                      "document_check": "passed", "face_match": 0.41, "watchlists": []},
    "watchlist_hit": {"vendor": "Simulated IDV", "outcome": "review",
                      "document_check": "passed", "face_match": 0.96,
                      "watchlists": ["Simulated PEP list"]},
}
_COMPANIES = ("Harbour Light Trading Ltd", "Northwind Logistics GmbH", "Blue Lotus Imports Ltd",
              "Kestrel Analytics SAS", "Copperfield Foods BV")
_PEOPLE = ("Mei Chen", "Lukas Becker", "Amara Okafor", "Sofia Rossi", "Daniel Novak")
_COUNTRIES = ("HK", "DE", "GB", "FR", "NL", "SG")


def _actor(db: Database, username: str) -> str:
    """Checks the simulator is on and the user may use it; returns the audit actor name."""
    if not config.simulator_enabled(db.url):
        raise NotAllowed("the simulator is off (set DOCKET_SIMULATOR=on, or use demo mode)")
    with db.read() as s:
        user = active_user(s, username)
        if user.role not in SIMULATOR_ROLES:
            raise NotAllowed(f"{username} ({user.role}) may not use the simulator")
    return f"{username} (simulator)"[:64]


def document_png(title: str, subtitle: str = "") -> bytes:
    """A small real PNG that looks like a scanned document: its title and a subtitle."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (640, 420), (250, 248, 240))
    d = ImageDraw.Draw(img)
    d.rectangle((12, 12, 627, 407), outline=(60, 70, 90), width=3)
    d.text((40, 40), title[:60], fill=(20, 30, 60))
    d.text((40, 70), subtitle[:80], fill=(90, 90, 90))
    for i in range(8):
        y = 120 + 30 * i
        d.line((40, y, 600 - 37 * (i % 3), y), fill=(180, 180, 190), width=6)
    d.text((40, 380), "SIMULATED DOCUMENT - NOT A REAL RECORD", fill=(160, 40, 40))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def _file(document_type: str, label: str, who: str, version: int = 1) -> dict[str, str]:
    import base64
    return {"filename": f"{document_type}_v{version}.png",
            "content_base64": base64.b64encode(
                document_png(label, f"{who} - version {version}")).decode()}


@dataclass(frozen=True)
class CaseTemplate:
    """What a simulated case starts with."""
    kind: str = "business"                     # business | person
    workflow: str = "onboarding"
    ubos: int = 2                              # business only
    documents: tuple[str, ...] = ()            # document types; () = `default_documents`
    processes: tuple[str, ...] = DEFAULT_PROCESSES
    collection_completed: bool = False
    name: str = ""                             # "" = a generated name
    country: str = ""


def default_documents(kind: str, doc_types: dict[str, str] | list[str]) -> tuple[str, ...]:
    """The document types a new case of this template starts with, among the workflow's
    (`doc_types`, in their order): a person's identity document and proof of address, never
    a company's certificate; a company's first two that are not identity documents."""
    types = list(doc_types)
    if kind != "person":
        return tuple([t for t in types if t not in IDENTITY_DOCUMENTS][:2] or types[:2])
    identity = [t for t in types if t in IDENTITY_DOCUMENTS][:1]
    others = [t for t in types if t not in IDENTITY_DOCUMENTS and t not in COMPANY_DOCUMENTS]
    return tuple((identity + others)[:2])


def case_from_template(db: Database, template: CaseTemplate) -> dict[str, Any]:
    """The intake JSON of one simulated case (not written)."""
    if template.kind not in TEMPLATES:
        raise InvalidInput(f"template must be one of {', '.join(TEMPLATES)}")
    if not 0 <= int(template.ubos) <= MAX_UBOS:
        raise InvalidInput(f"a simulated case has 0 to {MAX_UBOS} UBOs")
    with db.read() as s:
        doc_types = definition_of(s, template.workflow).get("document_types", {})
    documents = list(template.documents) or list(default_documents(template.kind, doc_types))
    unknown = [d for d in documents if d not in doc_types]
    if unknown:
        raise InvalidInput(f"workflow {template.workflow!r} has no document type "
                           f"{', '.join(unknown)} (types: {', '.join(doc_types)})")
    rng = secrets.SystemRandom()
    business = template.kind == "business"
    name = template.name.strip() or rng.choice(_COMPANIES if business else _PEOPLE)
    country = template.country or rng.choice(_COUNTRIES)
    case_id = f"SIM-{secrets.token_hex(4).upper()}"
    slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "applicant"
    entity = {"type": template.kind, "name": name, "country": country,
              "email": f"{slug}@example.com", "phone": "+44 20 7946 0000"}
    if business:
        entity["registration_number"] = f"{country}-{rng.randint(1000000, 9999999)}"
    case: dict[str, Any] = {
        "id": case_id, "workflow": template.workflow, "entity": entity,
        "collection_completed": bool(template.collection_completed),
        "risk_score": rng.randint(5, 95), "tags": [TAG],
        "user_data": {"industry": "trading" if business else "individual",
                      "source": "simulator"},
        "registry_data": {"status": "active", "source": "simulated registry"} if business else {},
        "processes": [{"name": p, "state": "pending"} for p in template.processes],
        "documents": [{"type": d, "properties": {"simulated": True},
                       "file": _file(d, doc_types[d], name)} for d in documents],
    }
    if business and template.ubos:
        person_doc = next((d for d in ("passport", "identity_card") if d in doc_types), None)
        ubos = []
        for i in range(int(template.ubos)):
            full_name = _PEOPLE[i % len(_PEOPLE)]
            ubo: dict[str, Any] = {
                "full_name": full_name, "email": f"ubo{i + 1}@example.com",
                "date_of_birth": f"19{70 + i}-0{1 + i % 9}-15", "nationality": country,
                "ownership_percent": round(100 / (int(template.ubos) + 1), 1),
                "kyc": {"state": "not_sent"}}
            if person_doc:
                ubo["documents"] = [{"type": person_doc, "properties": {"simulated": True},
                                     "file": _file(person_doc, doc_types[person_doc],
                                                   full_name)}]
            ubos.append(ubo)
        case["ubos"] = ubos
    return case


def create_case(db: Database, template: CaseTemplate, *, actor: str) -> str:
    """Creates a simulated case (tagged `simulator`) through the JSON import; returns its id."""
    who = _actor(db, actor)
    return import_cases(db, {"cases": [case_from_template(db, template)]}, actor=who)[0]


# --- the outside world --------------------------------------------------------------------

def collection_completed(db: Database, case_id: str, *, actor: str) -> CaseStatus:
    return complete_collection(db, case_id, actor=_actor(db, actor))


def process_finished(db: Database, case_id: str, name: str, *, failed: bool = False,
                     actor: str) -> CaseStatus:
    detail = "simulated failure" if failed else "simulated result"
    return finish_process(db, case_id, name, failed=failed, detail=detail,
                          actor=_actor(db, actor))


def process_restarted(db: Database, case_id: str, name: str, *, actor: str) -> CaseStatus:
    return start_process(db, case_id, name, detail="restarted in the simulator",
                         actor=_actor(db, actor))


def kyc_sent(db: Database, case_id: str, ubo_id: int, *, actor: str) -> CaseStatus:
    return send_kyc(db, case_id, ubo_id, actor=_actor(db, actor))


def kyc_completed(db: Database, case_id: str, ubo_id: int, result: str = "clear", *,
                  actor: str) -> CaseStatus:
    if result not in VENDOR_RESULTS:
        raise InvalidInput(f"vendor result must be one of {', '.join(VENDOR_RESULTS)}")
    return complete_kyc(db, case_id, ubo_id, dict(VENDOR_RESULTS[result]),
                        actor=_actor(db, actor))


def document_reuploaded(db: Database, case_id: str, document_id: int, *,
                        actor: str) -> CaseStatus:
    """The applicant uploads a new file (a generated PNG) for a document."""
    who = _actor(db, actor)
    detail = case_detail(db, case_id, with_timeline=False)
    documents = [*detail.documents, *(d for k in detail.kyc_blocks for d in k.documents)]
    doc = next((d for d in documents if d.id == int(document_id)), None)
    version = (len(doc.files) + 1) if doc else 1
    label = doc.label if doc else "Document"
    content = document_png(label, f"{detail.entity.get('name', '')} - version {version}")
    return upload_document(db, case_id, document_id,
                           f"{doc.document_type if doc else 'document'}_v{version}.png",
                           content, uploaded_by=who)


@dataclass(frozen=True)
class WorldStep:
    """One thing the outside world can do to the case now."""
    kind: str            # collection | process_completed | process_failed | process_restarted
                         # | kyc_sent | kyc_completed | document_uploaded
    label: str
    target: str = ""     # process name, UBO id or document id
    extra: dict[str, Any] = field(default_factory=dict)


def world_steps(detail: CaseDetail) -> list[WorldStep]:
    """The outside events that make sense for the case as it is (none once it is final)."""
    status = CaseStatus(detail.status)
    if status in (CaseStatus.APPROVED, CaseStatus.REJECTED):
        return []
    steps: list[WorldStep] = []
    if status is CaseStatus.COLLECTION_FLOW:
        steps.append(WorldStep("collection", "Applicant completes the collection flow"))
    for p in detail.processes:
        if p["state"] == "pending":
            steps.append(WorldStep("process_completed", f"Process {p['name']} completes",
                                   p["name"]))
            steps.append(WorldStep("process_failed", f"Process {p['name']} fails", p["name"]))
        else:
            steps.append(WorldStep("process_restarted", f"Process {p['name']} runs again",
                                   p["name"]))
    for k in detail.kyc_blocks:
        if k.kyc_state == "not_sent":
            steps.append(WorldStep("kyc_sent", f"KYC flow sent to {k.full_name}", str(k.id)))
        elif k.kyc_state == "sent":
            steps.append(WorldStep("kyc_completed", f"{k.full_name} completes KYC", str(k.id)))
    uploads = [(d, d.label) for d in detail.documents]
    uploads += [(d, f"{d.label} of {k.full_name}") for k in detail.kyc_blocks
                for d in k.documents]  # each UBO's own: the button says whose it is
    for d, what in uploads:
        steps.append(WorldStep("document_uploaded", f"Applicant re-uploads {what}",
                               str(d.id), {"status": d.status_label}))
    return _distinct_labels(steps)


def _distinct_labels(steps: list[WorldStep]) -> list[WorldStep]:
    """Two steps never read the same (two UBOs of one name, two documents of one type):
    the later ones get " (2)", " (3)"... in the order they are listed."""
    seen: dict[str, int] = {}
    out = []
    for step in steps:
        seen[step.label] = seen.get(step.label, 0) + 1
        n = seen[step.label]
        out.append(step if n == 1 else replace(step, label=f"{step.label} ({n})"))
    return out


def play(db: Database, case_id: str, step: WorldStep, *, actor: str,
         vendor_result: str = "clear") -> CaseStatus:
    """Applies one world step."""
    if step.kind == "collection":
        return collection_completed(db, case_id, actor=actor)
    if step.kind in ("process_completed", "process_failed"):
        return process_finished(db, case_id, step.target, failed=step.kind == "process_failed",
                                actor=actor)
    if step.kind == "process_restarted":
        return process_restarted(db, case_id, step.target, actor=actor)
    if step.kind == "kyc_sent":
        return kyc_sent(db, case_id, int(step.target), actor=actor)
    if step.kind == "kyc_completed":
        return kyc_completed(db, case_id, int(step.target), vendor_result, actor=actor)
    if step.kind == "document_uploaded":
        return document_reuploaded(db, case_id, int(step.target), actor=actor)
    raise InvalidInput(f"unknown simulator step {step.kind!r}")


@dataclass(frozen=True)
class ActionState:
    label: str
    allowed: bool
    reason: str = ""


def case_actions_now(db: Database, case_id: str) -> list[ActionState]:
    """Which case actions the status rules offer now, whoever looks (the reviewer's own gate
    — role, assignee — is left out: the simulator shows what the status allows)."""
    with db.read() as s:
        case = load_case(s, case_id)
        definition = definition_of(s, case.workflow)
        needs_all = bool(definition.get("approve_needs_all_blocks_approved"))
        screening = bool(definition.get("screening_blocks_approval"))
        facts, status = facts_of(case), CaseStatus(case.case_status)
        result = []
        for action in CaseAction:
            verdict = case_action_availability(status, action, facts, needs_all,
                                               screening_blocks_approval=screening)
            label = action.label + (f" ({facts.reupload_needed_blocks})"
                                    if action is CaseAction.ASK_FOR_REUPLOADS else "")
            result.append(ActionState(label, verdict.allowed, verdict.reason))
        return result


def simulated_cases(db: Database, limit: int = 200) -> list[tuple[str, str, str]]:
    """(id, entity name, status) of the simulator's cases, newest first."""
    view = draft_view("simulator", [], [{"field": "tags", "op": "contains", "value": TAG}])
    page = list_cases(db, CaseFilter(view=view), page_size=min(limit, 500))
    return [(r.id, r.entity_name, r.status) for r in page.rows]
