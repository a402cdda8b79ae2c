"""Workflow definitions as data: checked, saved with an audit event, exported and imported
as YAML so a team can keep them in git.

A definition (docs/ADMIN.md shows the YAML):

    name: onboarding                        # the key cases point to; never renamed
    title: Onboarding
    document_types: {passport: Passport, ...}   # type -> label shown on the block
    reupload_reasons: [Bad image quality, ...]  # offered by "Ask to re-upload"
    blocks: [user_data, registry_data, enriched_data, documents, kyc]  # shown in a case
    approve_needs_all_blocks_approved: true     # Approve only once every block is reviewed
    screening_blocks_approval: true             # Approve refused while a screening hit is
                                                # open or a true match is not signed off
    screening_threshold: null                   # the built-in screener's score (50-100) a
                                                # list entry needs to be a hit; null: the
                                                # screener's default (docs/SCREENING.md)
    notifications:                              # action -> channels
      approve: [webhook, email]
      reject: [webhook, email]
      ask_for_reuploads: [webhook, email]
      kyc_reupload: [email]
    sla:                                    # due times (core/workflows/sla.py); absent: the
      hours: {manual_review: 24}            # workflow's default, {} for none
      business_hours: null                  # or {days: [mon, ...], start: 9, end: 17,
                                            #     time_zone: Europe/London}
    four_eyes:                              # two approvers when ANY condition matches
      risk_score_at_least: 70               # (core/workflows/four_eyes.py); all empty: one
      countries: [IR, RU]                   # approver
      entity_types: [business]
      true_match: false                     # a screening hit dispositioned true match
    retention_years: 5                      # records kept this long after the relationship
                                            # ends, then erased (1-30; docs/RECORDS.md)
    risk_model:                             # the explained risk score (docs/RISK.md;
      bands: {medium: 30, high: 60}         # core/workflows/risk_model.py); absent: the
      factors: [{factor: country, points: 40, list: high-risk list, countries: [IR]}, ...]
                                            # workflow's default, null: no factors

Changing a workflow never corrupts its cases: the name cannot change; a document type
removed from the list keeps its existing documents (they show the type's key as a label and
can still be reviewed); a workflow with cases (or named by a view) cannot be deleted.
"""
from __future__ import annotations

import copy
import re
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.access.actors import require_permission
from core.access.roles import Permission
from core.errors import InvalidInput, NotFound
from core.store import audit
from core.store.db import Database
from core.store.models import Case, Document, View, Workflow
from core.workflows.definitions import (
    BLOCKS,
    DEFAULT_NOTIFICATIONS,
    DOCUMENT_REUPLOAD_REASONS,
    RETENTION_YEARS_RANGE,
    definition_of,
    retention_years,
)
from core.workflows.four_eyes import (
    OFF,
    describe_four_eyes,
    normalized_four_eyes,
    validate_four_eyes,
)
from core.workflows.risk_cases import rescore_cases
from core.workflows.risk_model import (
    default_risk_model,
    describe_risk_model,
    normalized_risk_model,
    validate_risk_model,
)
from core.workflows.sla import default_sla, normalized_sla, validate_sla

FORMAT_VERSION = 1
NAME = re.compile(r"^[a-z0-9_]{1,64}$")
DOCUMENT_TYPE = re.compile(r"^[a-z0-9_]{1,64}$")
FIELDS = ("name", "title", "document_types", "reupload_reasons", "blocks",
          "approve_needs_all_blocks_approved", "screening_blocks_approval",
          "screening_threshold", "notifications", "sla", "four_eyes", "risk_model",
          "retention_years")
NOTIFICATION_ACTIONS = ("approve", "reject", "ask_for_reuploads", "kyc_reupload")
CHANNELS = ("webhook", "email", "sms", "crm")
MAX_TITLE = 200
MAX_LABEL = 100
MAX_REASON = 200
MAX_DOCUMENT_TYPES = 100
MAX_REASONS = 50
MAX_YAML_BYTES = 1024 * 1024
MAX_WORKFLOWS_PER_FILE = 100
THRESHOLD_RANGE = (50, 100)  # below 50 a name shares little more than a common word
# The built-in screener's threshold where a workflow sets none (recall and precision measured
# at it: docs/SCREENING.md); core.screening.matching uses it.
DEFAULT_SCREENING_THRESHOLD = 85
RESCORE = "docket_rescore"  # session.info: workflows whose cases to score again once saved


# --- checking ------------------------------------------------------------------------------

def validate_definition(d: Any, where: str = "workflow") -> list[str]:
    """Every problem of one definition, as sentences; [] when it is good."""
    if not isinstance(d, dict):
        return [f"{where}: must be a mapping with {', '.join(FIELDS)}"]
    problems = []
    unknown = [str(k) for k in d if k not in FIELDS]
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(FIELDS)})")
    name = d.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        problems.append(f"{where}.name: 1 to 64 characters a-z, 0-9 and _ (e.g. onboarding_eu)")
    title = d.get("title")
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        problems.append(f"{where}.title: a text of 1 to {MAX_TITLE} characters")

    types = d.get("document_types", {})
    if not isinstance(types, dict):
        problems.append(f"{where}.document_types: a mapping of type: label")
    else:
        if len(types) > MAX_DOCUMENT_TYPES:
            problems.append(f"{where}.document_types: at most {MAX_DOCUMENT_TYPES}")
        for key, label in types.items():
            if not isinstance(key, str) or not DOCUMENT_TYPE.match(key):
                problems.append(f"{where}.document_types: type {str(key)[:60]!r} must be 1 to 64 "
                                "characters a-z, 0-9 and _")
            if not isinstance(label, str) or not label.strip() or len(label) > MAX_LABEL:
                problems.append(f"{where}.document_types.{str(key)[:60]}: the label must be a "
                                f"text of 1 to {MAX_LABEL} characters")

    reasons = d.get("reupload_reasons", [])
    if not isinstance(reasons, list) or not reasons:
        problems.append(f"{where}.reupload_reasons: a list of at least one reason")
    else:
        if len(reasons) > MAX_REASONS:
            problems.append(f"{where}.reupload_reasons: at most {MAX_REASONS}")
        bad = [r for r in reasons if not isinstance(r, str) or not r.strip()
               or len(r) > MAX_REASON]
        if bad:
            problems.append(f"{where}.reupload_reasons: each reason is a text of 1 to "
                            f"{MAX_REASON} characters")
        elif len({r.strip().lower() for r in reasons}) != len(reasons):
            problems.append(f"{where}.reupload_reasons: a reason appears twice")

    blocks = d.get("blocks", list(BLOCKS))
    if not isinstance(blocks, list) or any(b not in BLOCKS for b in blocks):
        problems.append(f"{where}.blocks: a list among {', '.join(BLOCKS)}")
    elif len(set(blocks)) != len(blocks):
        problems.append(f"{where}.blocks: a block appears twice")

    for flag_name in ("approve_needs_all_blocks_approved", "screening_blocks_approval"):
        if not isinstance(d.get(flag_name, False), bool):
            problems.append(f"{where}.{flag_name}: true or false")
    threshold = d.get("screening_threshold")
    low, high = THRESHOLD_RANGE
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)
                                  or not low <= threshold <= high):
        problems.append(f"{where}.screening_threshold: empty (the screener's default) or a "
                        f"whole number from {low} to {high}")

    rules = d.get("notifications", {})
    if not isinstance(rules, dict):
        problems.append(f"{where}.notifications: a mapping of action: [channels]")
    else:
        for action, channels in rules.items():
            if action not in NOTIFICATION_ACTIONS:
                problems.append(f"{where}.notifications: unknown action {str(action)[:60]!r} "
                                f"(actions: {', '.join(NOTIFICATION_ACTIONS)})")
                continue
            if not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
                problems.append(f"{where}.notifications.{action}: a list among "
                                f"{', '.join(CHANNELS)}")
            elif len(set(channels)) != len(channels):
                problems.append(f"{where}.notifications.{action}: a channel appears twice")
    years, (low, high) = d.get("retention_years"), RETENTION_YEARS_RANGE
    if years is not None and (isinstance(years, bool) or not isinstance(years, int)
                              or not low <= years <= high):
        problems.append(f"{where}.retention_years: a whole number of years from {low} to {high}")
    problems.extend(validate_sla(d.get("sla"), f"{where}.sla"))
    problems.extend(validate_four_eyes(d.get("four_eyes"), f"{where}.four_eyes"))
    problems.extend(validate_risk_model(d.get("risk_model"), f"{where}.risk_model"))
    return problems


def normalized(d: dict[str, Any]) -> dict[str, Any]:
    """A checked definition with every field present, in a stable order."""
    return {
        "name": d["name"],
        "title": d["title"].strip(),
        "document_types": {k: v.strip() for k, v in (d.get("document_types") or {}).items()},
        "reupload_reasons": [r.strip() for r in d.get("reupload_reasons") or []],
        "blocks": [b for b in BLOCKS if b in d.get("blocks", list(BLOCKS))],
        "approve_needs_all_blocks_approved": bool(d.get("approve_needs_all_blocks_approved",
                                                        False)),
        "screening_blocks_approval": bool(d.get("screening_blocks_approval", False)),
        "screening_threshold": d.get("screening_threshold"),
        "notifications": {a: list((d.get("notifications") or {}).get(a, []))
                          for a in NOTIFICATION_ACTIONS},
        "sla": normalized_sla(d["sla"] if "sla" in d else default_sla(d["name"])),
        "four_eyes": normalized_four_eyes(d.get("four_eyes")),
        "risk_model": normalized_risk_model(d["risk_model"] if "risk_model" in d
                                            else default_risk_model(d["name"])),
        "retention_years": retention_years(d),
    }


# --- reading -------------------------------------------------------------------------------

def _definition(session: Session, wf: Workflow) -> dict[str, Any]:
    d = definition_of(session, wf.name)
    return normalized({**d, "name": wf.name, "title": wf.title,
                       "notifications": {**{a: [] for a in NOTIFICATION_ACTIONS},
                                         **(d.get("notifications") or {})}})


def list_workflows(db: Database) -> list[dict[str, Any]]:
    with db.read() as s:
        return [_definition(s, wf) for wf in s.scalars(select(Workflow).order_by(Workflow.name))]


def get_workflow(db: Database, name: str) -> dict[str, Any]:
    with db.read() as s:
        wf = s.get(Workflow, name)
        if wf is None:
            raise NotFound(f"workflow {name!r} not found")
        return _definition(s, wf)


def usage(db: Database, name: str) -> dict[str, Any]:
    """What depends on a workflow: its case count, documents per type, views naming it."""
    with db.read() as s:
        cases = s.scalar(select(func.count()).select_from(Case).where(Case.workflow == name)) or 0
        per_type = dict(s.execute(
            select(Document.document_type, func.count()).join(Case, Case.id == Document.case_id)
            .where(Case.workflow == name).group_by(Document.document_type)).all())
        views = [v.name for v in s.scalars(select(View).order_by(View.position))
                 if name in (v.workflows or [])]
    return {"cases": int(cases), "documents_by_type": {k: int(v) for k, v in per_type.items()},
            "views": views}


def change_notes(db: Database, new: dict[str, Any]) -> list[str]:
    """What saving `new` means for the cases already in the workflow (shown before saving)."""
    try:
        old = get_workflow(db, new.get("name", ""))
    except NotFound:
        return []
    used = usage(db, old["name"])["documents_by_type"]
    notes = []
    for key in old["document_types"]:
        if key not in (new.get("document_types") or {}) and used.get(key):
            notes.append(f"{used[key]:,} existing document(s) of type {key!r} keep their files "
                         "and stay reviewable; new cases will not ask for this type")
    if (bool(new.get("approve_needs_all_blocks_approved"))
            and not old["approve_needs_all_blocks_approved"]):
        notes.append("open cases can be approved only once every document and KYC block is "
                     "reviewed (approved)")
    if (bool(new.get("screening_blocks_approval"))
            and not old["screening_blocks_approval"]):
        notes.append("open cases can be approved only once every screening hit is "
                     "dispositioned and every true match signed off by a lead")
    if new.get("screening_threshold") != old["screening_threshold"]:
        notes.append("the built-in screener uses the new threshold from the next screening of "
                     "each case; hits found before stay until a rescreen no longer returns them")
    if "retention_years" in new and retention_years(new) != old["retention_years"]:
        notes.append(f"records are kept {retention_years(new)} years after relationships that "
                     "end from now on; cases whose relationship already ended keep their date")
    if "sla" in new and normalized_sla(new.get("sla")) != old["sla"]:
        notes.append("cases keep the due time they have; a case gets the new service level "
                     "when it next enters a status")
    rule = normalized_four_eyes(new.get("four_eyes"))
    if "four_eyes" in new and rule != old["four_eyes"]:
        said = describe_four_eyes(rule)
        notes.append(f"from now on an Approve of a case with {said} is approval 1 of 2: a "
                     "second person gives the final one (a first approval already given "
                     "stays pending)" if said else
                     "four-eyes approval is switched off: the next Approve of any case is "
                     "final (also one waiting for its second approver)")
    model = (normalized_risk_model(new["risk_model"])
             if "risk_model" in new and not validate_risk_model(new["risk_model"]) else None)
    if model is not None and model != old["risk_model"]:
        notes.append(f"the risk model becomes {describe_risk_model(model)}: every case of the "
                     "workflow is scored again when you save (the simulator shows how levels "
                     "move)")
    return notes


# --- writing -------------------------------------------------------------------------------

def _admin(session: Session, actor: str) -> None:
    require_permission(session, actor, Permission.MANAGE_WORKFLOWS)


def _write(session: Session, d: dict[str, Any], actor: str, *, create: bool | None) -> str:
    """Creates or updates one checked definition; `create` True/False insists on one."""
    d = normalized(d)
    wf = session.get(Workflow, d["name"])
    if create is True and wf is not None:
        raise InvalidInput("the workflow was refused",
                           [f"a workflow named {d['name']!r} already exists"])
    if create is False and wf is None:
        raise NotFound(f"workflow {d['name']!r} not found (workflows cannot be renamed)")
    before = _definition(session, wf) if wf is not None else None
    body = {k: v for k, v in d.items() if k not in ("name", "title")}
    if wf is None:
        session.add(Workflow(name=d["name"], title=d["title"], definition=body))
    else:
        wf.title, wf.definition = d["title"], body
    if before is not None and before["risk_model"] != d["risk_model"]:
        session.info.setdefault(RESCORE, []).append(d["name"])  # once committed
    if before != d:
        audit.record(session, case_id=None, actor=actor,
                     kind="workflow.created" if before is None else "workflow.changed",
                     before=before, after=d)
    session.flush()
    return d["name"]


def save_workflow(db: Database, definition: dict[str, Any], *, actor: str = "system",
                  create: bool | None = None) -> dict[str, Any]:
    """Checks and saves one definition (audited); nothing is written on a problem."""
    problems = validate_definition(definition)
    if problems:
        raise InvalidInput("the workflow was refused", problems)
    with db.unit_of_work() as s:
        _admin(s, actor)
        _write(s, definition, actor, create=create)
        rescore = s.info.pop(RESCORE, [])
    for name in rescore:
        rescore_cases(db, name)
    return get_workflow(db, definition["name"])


def delete_workflow(db: Database, name: str, *, actor: str = "system") -> None:
    """Deletes a workflow no case and no view uses (audited)."""
    with db.unit_of_work() as s:
        _admin(s, actor)
        wf = s.get(Workflow, name)
        if wf is None:
            raise NotFound(f"workflow {name!r} not found")
        cases = s.scalar(select(func.count()).select_from(Case).where(Case.workflow == name))
        if cases:
            raise InvalidInput(f"workflow {name!r} has {cases:,} case(s); a workflow with cases "
                               "cannot be deleted")
        views = [v.name for v in s.scalars(select(View)) if name in (v.workflows or [])]
        if views:
            raise InvalidInput(f"workflow {name!r} is named by the view(s) {', '.join(views)}; "
                               "edit those views first")
        audit.record(s, case_id=None, actor=actor, kind="workflow.deleted",
                     before=_definition(s, wf))
        s.delete(wf)


# --- YAML ----------------------------------------------------------------------------------

def export_yaml(db: Database, names: list[str] | None = None) -> str:
    """The workflows (all, or the named ones) as a YAML file for git."""
    found = [w for w in list_workflows(db) if names is None or w["name"] in names]
    if names is not None:
        missing = sorted(set(names) - {w["name"] for w in found})
        if missing:
            raise NotFound(f"no workflow named {', '.join(missing)}")
    return yaml.safe_dump({"format_version": FORMAT_VERSION, "workflows": found},
                          sort_keys=False, allow_unicode=True, width=100)


def parse_yaml(source: bytes | str) -> list[dict[str, Any]]:
    """The workflows of a YAML file, checked whole; InvalidInput lists every problem.
    Only plain YAML is read (yaml.safe_load; anchors and aliases refused)."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_YAML_BYTES:
            raise InvalidInput("the YAML file was refused",
                               [f"the file is {len(source):,} bytes; at most {MAX_YAML_BYTES:,}"])
        try:
            source = bytes(source).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput("the YAML file was refused",
                               [f"not UTF-8 text (bad byte at offset {exc.start})"]) from None
    if len(source) > MAX_YAML_BYTES:
        raise InvalidInput("the YAML file was refused", [f"at most {MAX_YAML_BYTES:,} bytes"])
    try:
        for event in yaml.parse(source, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise InvalidInput("the YAML file was refused",
                                   ["anchors and aliases (& and *) are not allowed"])
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise InvalidInput("the YAML file was refused", [f"{problem}{where}"]) from None
    if isinstance(data, dict) and "workflows" in data:
        problems = []
        if set(data) - {"format_version", "workflows"}:
            problems.append("top level: only format_version and workflows are allowed")
        if data.get("format_version", FORMAT_VERSION) != FORMAT_VERSION:
            problems.append(f"format_version: must be {FORMAT_VERSION}")
        items = data["workflows"]
    elif isinstance(data, dict) and "name" in data:
        problems, items = [], [data]          # a single workflow
    else:
        raise InvalidInput("the YAML file was refused",
                           ["expected a mapping with a 'workflows' list (as exported)"])
    if not isinstance(items, list) or not items:
        raise InvalidInput("the YAML file was refused", ["workflows: a non-empty list"])
    if len(items) > MAX_WORKFLOWS_PER_FILE:
        raise InvalidInput("the YAML file was refused",
                           [f"workflows: at most {MAX_WORKFLOWS_PER_FILE}"])
    for i, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        problems.extend(validate_definition(item, f"workflows[{i}]"
                                            + (f" ({name})" if isinstance(name, str) else "")))
    names = [item.get("name") for item in items if isinstance(item, dict)]
    dupes = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    if dupes:
        problems.append(f"workflows: {', '.join(dupes)} appear(s) twice")
    if problems:
        raise InvalidInput("the YAML file was refused; nothing was changed", problems)
    return [copy.deepcopy(item) for item in items]


def import_yaml(db: Database, source: bytes | str, *, actor: str = "system") -> list[str]:
    """Creates or updates every workflow of the file in one transaction (all or none);
    returns their names."""
    items = parse_yaml(source)
    with db.unit_of_work() as s:
        _admin(s, actor)
        names = [_write(s, item, actor, create=None) for item in items]
        rescore = s.info.pop(RESCORE, [])
    for name in rescore:
        rescore_cases(db, name)
    return names


# --- editing helpers for the admin page -----------------------------------------------------

def slug(label: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", label.strip().lower())).strip("_")[:64]


def document_types_from_text(text: str) -> tuple[dict[str, str], list[str]]:
    """`type: Label` (or just `Label`) per line -> {type: label}, with per-line problems."""
    types: dict[str, str] = {}
    problems = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        key, sep, label = line.partition(":")
        key, label = (key.strip(), label.strip()) if sep else (slug(line), line)
        if not label:
            label = key.replace("_", " ").capitalize()
        if not DOCUMENT_TYPE.match(key):
            problems.append(f"document types, line {number}: type {key[:60]!r} must be 1 to 64 "
                            "characters a-z, 0-9 and _")
        elif key in types:
            problems.append(f"document types, line {number}: type {key!r} appears twice")
        else:
            types[key] = label
    return types, problems


def document_types_text(types: dict[str, str]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in types.items())


def new_definition(name: str, title: str) -> dict[str, Any]:
    """A starting point for a new workflow."""
    return {"name": name, "title": title, "document_types": {"passport": "Passport"},
            "reupload_reasons": list(DOCUMENT_REUPLOAD_REASONS),
            "blocks": list(BLOCKS),
            "approve_needs_all_blocks_approved": False,
            "screening_blocks_approval": False,
            "notifications": copy.deepcopy(DEFAULT_NOTIFICATIONS),
            "sla": default_sla(name), "four_eyes": copy.deepcopy(OFF),
            "risk_model": default_risk_model(name)}


def set_sla(db: Database, workflow: str, sla: dict[str, Any] | None, *,
            actor: str = "system") -> dict[str, Any]:
    """Replaces a workflow's service levels (`{"hours": {status: hours}, "business_hours":
    ...}`; None or {} for none), checked like the rest of the definition: on a problem
    InvalidInput lists them and nothing is written. Returns the saved workflow."""
    definition = get_workflow(db, workflow)
    definition["sla"] = sla if sla else {"hours": {}, "business_hours": None}
    return save_workflow(db, definition, actor=actor, create=False)
