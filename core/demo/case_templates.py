"""Case templates: block, process and UBO states drawn per intended stage, each with its
status derived by the real rules.

Why it exists: every stored `case_status` of a demo case must equal the status its facts
give. Rather than derive a status per case, a few thousand *templates* are drawn here and
each template's status is derived once with `core.cases.status.derive_case_status` (through
`template_facts`, the same reading as for a stored case); `core.demo.rows` then dresses
templates up with names, dates and numbers.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from core.cases.state import facts_from
from core.cases.status import CaseFacts, CaseStatus, derive_case_status
from core.demo.world import REUPLOAD_REASONS

STAGES = ("collection_flow", "pending_process", "pending_id_verification", "revisions",
          "manual_review", "approved", "rejected")


@dataclass(frozen=True)
class _Ubo:
    kyc_state: str
    outcome: str | None
    block_status: str | None
    reupload_reason: str | None


@dataclass(frozen=True)
class _Doc:
    document_type: str
    block_status: str | None
    reupload_reason: str | None
    versions: int
    ubo_index: int | None


@dataclass(frozen=True)
class _Template:
    kind: str
    workflow: str
    collection_completed: bool
    decision: str | None
    processes: tuple[tuple[str, str, str], ...]
    ubos: tuple[_Ubo, ...]
    docs: tuple[_Doc, ...]
    asked_reuploads: bool
    status: str
    risk: tuple[int, int]
    reviewed_blocks: int


_PROCESS_DETAIL = {
    ("registry_lookup", "pending"): "Waiting for the registry's response",
    ("registry_lookup", "completed"): "Company found in the registry; status: live",
    ("registry_lookup", "failed"): "Registry API timed out after 3 attempts",
    ("sanctions_screening", "pending"): "Queued at the screening provider",
    ("sanctions_screening", "completed"): "No matches on OFAC, UN, EU and HMT lists",
    ("sanctions_screening", "failed"): "Screening provider returned HTTP 503",
}


def template_facts(t: _Template) -> CaseFacts:
    """The facts of a template, read by the same function that reads a stored case."""
    return facts_from(decision=t.decision, collection_completed=t.collection_completed,
                      document_block_statuses=[d.block_status for d in t.docs],
                      kyc_blocks=[(u.block_status, u.kyc_state) for u in t.ubos],
                      process_states=[state for _, state, _ in t.processes])


def _pick(rng: random.Random, weighted: dict[Any, float]) -> Any:
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


def _make_template(rng: random.Random, stage: str) -> _Template:
    kind = "business" if stage == "pending_id_verification" or rng.random() < 0.58 else "person"
    workflow = "onboarding" if rng.random() < 0.75 else "ongoing_monitoring"
    collected = stage != "collection_flow"
    decision = {"approved": "approved", "rejected": "rejected"}.get(stage)

    # processes
    names = ["registry_lookup", "sanctions_screening"] if kind == "business" else ["sanctions_screening"]
    states: list[str] = []
    for _ in names:
        if stage == "collection_flow":
            states.append(_pick(rng, {"": 0.5, "pending": 0.3, "completed": 0.2}))
        elif stage == "pending_process":
            states.append(_pick(rng, {"pending": 0.5, "completed": 0.5}))
        elif stage == "approved":
            states.append("completed")
        elif stage == "rejected":
            states.append(_pick(rng, {"completed": 0.8, "failed": 0.12, "pending": 0.08}))
        else:
            states.append(_pick(rng, {"completed": 0.93, "failed": 0.07}))
    if stage == "pending_process" and "pending" not in states:
        states[rng.randrange(len(states))] = "pending"
    processes = tuple((n, s, _PROCESS_DETAIL[(n, s)]) for n, s in zip(names, states) if s)

    # UBOs (businesses only)
    ubos: list[_Ubo] = []
    if kind == "business":
        for _ in range(_pick(rng, {1: 0.45, 2: 0.35, 3: 0.2})):
            if stage == "collection_flow":
                state = "not_sent"
            elif stage in ("pending_process", "pending_id_verification"):
                state = _pick(rng, {"completed": 0.55, "sent": 0.35, "not_sent": 0.1})
            else:
                state = "completed"
            outcome = None
            if state == "completed":
                outcome = _pick(rng, {
                    "approved": {"clear": 0.92, "consider": 0.08},
                    "rejected": {"clear": 0.5, "consider": 0.25, "declined": 0.25},
                }.get(stage, {"clear": 0.75, "consider": 0.2, "declined": 0.05}))
            block = None
            if state == "completed":
                if stage == "approved":
                    block = _pick(rng, {"approved": 0.85, None: 0.15})
                elif stage in ("manual_review", "rejected", "revisions", "pending_process",
                               "pending_id_verification"):
                    block = (_pick(rng, {"approved": 0.5, None: 0.5}) if outcome == "clear"
                             else _pick(rng, {None: 0.6, "reupload_needed": 0.4}))
            ubos.append(_Ubo(state, outcome, block, "KYC result needs a new selfie"
                             if block == "reupload_needed" else None))
        if stage == "pending_id_verification" and not any(u.kyc_state == "sent" for u in ubos):
            ubos[0] = _Ubo("sent", None, None, None)

    # documents
    if kind == "business":
        types = (["certificate_of_incorporation", "proof_of_address"] if workflow == "onboarding"
                 else ["annual_report", "proof_of_address"])
        if rng.random() < 0.6:
            types.append("bank_statement")
    else:
        types = [("passport" if workflow == "ongoing_monitoring" or rng.random() < 0.65
                  else "identity_card"), "proof_of_address"]
        if rng.random() < 0.5:
            types.append("bank_statement")
    doc_specs: list[tuple[str, int | None]] = [(t, None) for t in types]
    if kind == "business" and workflow == "onboarding" and rng.random() < 0.5:
        doc_specs.append(("passport", 0))  # the first UBO's passport
    weights = {
        "collection_flow": {None: 1.0},
        "pending_process": {None: 0.7, "approved": 0.25, "reupload_needed": 0.05},
        "pending_id_verification": {None: 0.7, "approved": 0.25, "reupload_needed": 0.05},
        "revisions": {None: 0.5, "approved": 0.5},
        "manual_review": {None: 0.45, "approved": 0.4, "reupload_needed": 0.15},
        "approved": {"approved": 0.85, None: 0.15},
        "rejected": {None: 0.4, "approved": 0.3, "reupload_needed": 0.2, "pending_reupload": 0.1},
    }[stage]
    docs: list[_Doc] = []
    for dtype, ubo_index in doc_specs:
        if stage == "collection_flow" and rng.random() < 0.4:
            continue  # not uploaded yet
        block = _pick(rng, weights)
        versions = 2 if stage in ("manual_review", "approved") and rng.random() < 0.1 else 1
        docs.append(_Doc(dtype, block, rng.choice(REUPLOAD_REASONS) if block in (
            "reupload_needed", "pending_reupload") else None, versions, ubo_index))
    if stage == "revisions":
        if ubos and rng.random() < 0.3:
            k = rng.randrange(len(ubos))
            ubos[k] = _Ubo("sent", None, "pending_reupload",
                           "KYC result needs a new selfie")
        elif docs:
            k = rng.randrange(len(docs))
            d = docs[k]
            docs[k] = _Doc(d.document_type, "pending_reupload", rng.choice(REUPLOAD_REASONS),
                           d.versions, d.ubo_index)
    asked = any(d.block_status == "pending_reupload" for d in docs)
    risk = {"approved": (2, 45), "rejected": (45, 100), "collection_flow": (0, 60)}.get(stage, (5, 90))
    reviewed = sum(d.block_status is not None for d in docs) + sum(u.block_status is not None for u in ubos)
    t = _Template(kind, workflow, collected, decision, processes, tuple(ubos), tuple(docs), asked,
                  "", risk, reviewed)
    status = derive_case_status(template_facts(t)).value
    return _Template(kind, workflow, collected, decision, processes, tuple(ubos), tuple(docs),
                     asked, status, risk, reviewed)


@lru_cache(maxsize=4)
def _templates(seed: int, per_stage: int = 400) -> dict[str, list[_Template]]:
    """Templates grouped by their *derived* status."""
    rng = random.Random(seed * 7919 + 17)
    groups: dict[str, list[_Template]] = {s.value: [] for s in CaseStatus}
    for stage in STAGES:
        for _ in range(per_stage):
            t = _make_template(rng, stage)
            groups[t.status].append(t)
    assert all(groups.values()), "every status has templates"
    return groups


# Status mix by age of the case (days): (max age, {status: weight})
STATUS_MIX_BY_AGE: tuple[tuple[float, dict[str, float]], ...] = (
    (2, {"collection_flow": 28, "pending_process": 22, "pending_id_verification": 14,
         "manual_review": 26, "revisions": 5, "approved": 3, "rejected": 2}),
    (14, {"collection_flow": 9, "pending_process": 9, "pending_id_verification": 9,
          "manual_review": 38, "revisions": 12, "approved": 15, "rejected": 8}),
    (60, {"collection_flow": 3, "pending_process": 3, "pending_id_verification": 4,
          "manual_review": 28, "revisions": 8, "approved": 36, "rejected": 18}),
    (10_000, {"collection_flow": 2, "pending_process": 1.5, "pending_id_verification": 1.5,
              "manual_review": 16, "revisions": 3, "approved": 51, "rejected": 25}),
)
