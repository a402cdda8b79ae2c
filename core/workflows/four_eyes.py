"""The four-eyes rule of a workflow: which cases need a second approver.

A workflow's definition may carry (docs/ADMIN.md shows it in YAML):

    four_eyes:                   # a case matching ANY condition needs two approvers
      risk_score_at_least: 70    # the case's risk score (0-100) is at least this; null: unused
      countries: [IR, RU]        # the entity's country (ISO 3166 alpha-2) is one of these
      entity_types: [business]   # the entity's type (business, person) is one of these
      true_match: true           # a screening hit of the case is dispositioned true match
      risk_levels: [high]        # the case's explained risk level is one of these
                                 # (core/workflows/risk_model.py; docs/RISK.md)

Absent, null, or with no condition set: one approver, as before. `validate_four_eyes` lists
every problem as a sentence; `normalized_four_eyes` gives the stored shape; `four_eyes_reason`
says why a case needs two approvers ("" when it does not). Who may give which approval is
`core/cases/approvals.py`.
"""
from __future__ import annotations

import re
from typing import Any

from core.workflows.risk_model import LEVELS

KEYS = ("risk_score_at_least", "countries", "entity_types", "true_match", "risk_levels")
ENTITY_TYPES = ("business", "person")
COUNTRY = re.compile(r"^[A-Z]{2}$")
MAX_COUNTRIES = 250
OFF: dict[str, Any] = {"risk_score_at_least": None, "countries": [], "entity_types": [],
                       "true_match": False, "risk_levels": []}


def validate_four_eyes(value: Any, where: str = "four_eyes") -> list[str]:
    """Every problem of a workflow's `four_eyes` setting, as sentences; [] when it is good."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"{where}: a mapping with risk_score_at_least, countries, entity_types and "
                "true_match (or null for one approver)"]
    problems = []
    unknown = [str(k)[:60] for k in value if k not in KEYS]
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(KEYS)})")
    score = value.get("risk_score_at_least")
    if score is not None and (not isinstance(score, int) or isinstance(score, bool)
                              or not 0 <= score <= 100):
        problems.append(f"{where}.risk_score_at_least: a whole number from 0 to 100, or null")
    countries = value.get("countries", [])
    if not isinstance(countries, list):
        problems.append(f"{where}.countries: a list of two-letter country codes, e.g. [IR, RU]")
    else:
        bad = [str(c)[:20] for c in countries if not isinstance(c, str) or not COUNTRY.match(c)]
        if bad:
            problems.append(f"{where}.countries: {', '.join(repr(b) for b in bad[:5])} "
                            "not a two-letter country code in capitals (e.g. GB, IR)")
        elif len(set(countries)) != len(countries):
            problems.append(f"{where}.countries: a country appears twice")
        elif len(countries) > MAX_COUNTRIES:
            problems.append(f"{where}.countries: at most {MAX_COUNTRIES}")
    types = value.get("entity_types", [])
    if (not isinstance(types, list) or any(t not in ENTITY_TYPES for t in types)
            or len(set(types)) != len(types)):
        problems.append(f"{where}.entity_types: a list among {', '.join(ENTITY_TYPES)}, each "
                        "once")
    if not isinstance(value.get("true_match", False), bool):
        problems.append(f"{where}.true_match: true or false")
    levels = value.get("risk_levels", [])
    if (not isinstance(levels, list) or any(v not in LEVELS for v in levels)
            or len(set(levels)) != len(levels)):
        problems.append(f"{where}.risk_levels: a list among {', '.join(LEVELS)}, each once")
    return problems


def normalized_four_eyes(value: Any) -> dict[str, Any]:
    """A checked setting with every field present (no condition set: the rule is off)."""
    value = value or {}
    return {"risk_score_at_least": value.get("risk_score_at_least"),
            "countries": sorted(value.get("countries") or []),
            "entity_types": [t for t in ENTITY_TYPES if t in (value.get("entity_types") or [])],
            "true_match": bool(value.get("true_match", False)),
            "risk_levels": [v for v in LEVELS if v in (value.get("risk_levels") or [])]}


def is_on(value: Any) -> bool:
    rule = normalized_four_eyes(value)
    return (rule["risk_score_at_least"] is not None or bool(rule["countries"])
            or bool(rule["entity_types"]) or rule["true_match"] or bool(rule["risk_levels"]))


def four_eyes_reason(value: Any, *, risk_score: int | None, country: str | None,
                     entity_type: str | None, true_matches: int = 0,
                     risk_level: str | None = None) -> str:
    """Why a case with these properties needs a second approver under the rule `value`, in
    words ("risk score 85 is at least 70; country IR"); "" when no condition matches."""
    rule = normalized_four_eyes(value)
    why = []
    at_least = rule["risk_score_at_least"]
    if at_least is not None and risk_score is not None and risk_score >= at_least:
        why.append(f"risk score {risk_score} is at least {at_least}")
    if country and country in rule["countries"]:
        why.append(f"country {country} is on the four-eyes list")
    if entity_type and entity_type in rule["entity_types"]:
        why.append(f"entity type {entity_type}")
    if rule["true_match"] and true_matches > 0:
        why.append("a screening hit is a true match")
    if risk_level and risk_level in rule["risk_levels"]:
        why.append(f"risk level {risk_level}")
    return "; ".join(why)


def describe_four_eyes(value: Any) -> str:
    """The rule in words, for the editor and change notes ("" when off)."""
    rule = normalized_four_eyes(value)
    parts = []
    if rule["risk_score_at_least"] is not None:
        parts.append(f"risk score at least {rule['risk_score_at_least']}")
    if rule["countries"]:
        parts.append(f"country in {', '.join(rule['countries'])}")
    if rule["entity_types"]:
        parts.append(f"entity type {' or '.join(rule['entity_types'])}")
    if rule["true_match"]:
        parts.append("a screening hit dispositioned true match")
    if rule["risk_levels"]:
        parts.append(f"risk level {' or '.join(rule['risk_levels'])}")
    return " or ".join(parts)
