"""A workflow's risk model as data: weighted factors and level bands, checked, and the pure
scoring of a case's risk inputs under it (docs/RISK.md).

Why it exists: a risk score imported from outside explains nothing. The model says which
facts of a case add how many points ("+25 country on high-risk list: IR"), and which point
totals make a case low, medium or high. `core/cases/risk.py` reads a case's facts into
*inputs* (the dict documented at INPUT_KEYS), scores them here and stores the result on the
case; the simulator scores stored inputs under a draft model without touching a case.

A workflow's definition carries (docs/ADMIN.md shows it in YAML):

    risk_model:
      bands: {medium: 30, high: 60}     # points at least; below medium: low
      factors:                          # each adds `points` when its condition holds
      - {factor: country, points: 40, list: high-risk list, countries: [IR, KP, MM]}
      - {factor: industry, points: 15, industries: [Crypto-asset services]}
      - {factor: related_rejected, points: 25, at_least: 1}
      - {factor: imported_score, points: 30}    # points x the imported score / 100

Absent: the workflow's default (DEFAULT_RISK_MODELS; onboarding's for a new workflow);
null: no factors (every case low, 0 points).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import yaml

LEVELS = ("low", "medium", "high")
BANDS = ("medium", "high")
MODEL_KEYS = ("bands", "factors")
COUNTRY = re.compile(r"^[A-Z]{2}$")
ENTITY_TYPES = ("business", "person")
MAX_FACTORS = 50
MAX_POINTS = 100
MAX_BAND = 10_000
MAX_COUNT = 1_000
MAX_LIST = 250
MAX_WORD = 100

# The facts a case's risk is computed from, as `core/cases/risk.py` reads them (and stores
# them with the score, so the simulator can score them again under a draft model). A value
# left out of a stored dict is its empty value (the dict is kept small at 1M cases).
INPUT_KEYS = {
    "country": "the entity's country (of incorporation for a business, of residence for a person)",
    "kind": "the entity's type: business or person",
    "legal_form": "registry_data.legal_form, else user_data.legal_form",
    "industry": "registry_data.industry, else user_data.industry",
    "ubo_nationalities": "the UBOs' nationalities, each once, sorted",
    "ubos": "the number of UBOs",
    "layers": "registry_data.ownership_layers, else user_data.ownership_layers (a whole number)",
    "sanctions": "screening hits dispositioned true match that are not PEP hits (not gone)",
    "pep": "screening hits dispositioned true match on a PEP list or programme (not gone)",
    "open_hits": "screening hits needing work (the case's open_hits counter)",
    "reuploads": "document files sent again (every version after a document's first)",
    "related_rejected": "related cases rejected (core/cases/related.py; common values left out)",
    "related_true_match": "related cases with a true screening match",
    "imported": "the imported risk score, 0-100 (cases.risk_score), or none",
}
TEXT_INPUTS = ("country", "kind", "legal_form", "industry")
COUNT_INPUTS = ("ubos", "layers", "sanctions", "pep", "open_hits", "reuploads",
                "related_rejected", "related_true_match")


@dataclass(frozen=True)
class FactorKind:
    """One kind of factor: the parameters it takes beside `points`, and what it reads."""
    params: tuple[str, ...]
    says: str  # for the editor and docs


FACTORS: dict[str, FactorKind] = {
    "country": FactorKind(("list", "countries"), "the entity's country is on a list"),
    "ubo_nationality": FactorKind(("list", "countries"), "a UBO's nationality is on a list"),
    "entity_type": FactorKind(("types",), "the entity is a business or a person"),
    "legal_form": FactorKind(("forms",), "the legal form is one of these (trust, foundation...)"),
    "industry": FactorKind(("industries",), "the industry is one of these"),
    "ubo_count": FactorKind(("at_least", "at_most"), "the number of UBOs"),
    "ownership_layers": FactorKind(("at_least",), "layers of ownership between UBOs and entity"),
    "sanctions_match": FactorKind(("at_least",), "true matches on a sanctions (or other) list"),
    "pep_match": FactorKind(("at_least",), "true matches on a PEP list"),
    "open_hits": FactorKind(("at_least",), "screening hits needing work"),
    "reuploads": FactorKind(("at_least",), "document files sent again"),
    "related_rejected": FactorKind(("at_least",), "related cases that were rejected"),
    "related_true_match": FactorKind(("at_least",), "related cases with a true match"),
    "imported_score": FactorKind((), "the imported risk score, scaled: points x score / 100"),
}
COUNT_FACTORS = {"ubo_count": "ubos", "ownership_layers": "layers", "sanctions_match": "sanctions",
                 "pep_match": "pep", "open_hits": "open_hits", "reuploads": "reuploads",
                 "related_rejected": "related_rejected",
                 "related_true_match": "related_true_match"}
LIST_PARAMS = {"countries": "a list of two-letter country codes in capitals, e.g. [IR, KP]",
               "types": f"a list among {', '.join(ENTITY_TYPES)}",
               "forms": f"a list of texts of 1 to {MAX_WORD} characters",
               "industries": f"a list of texts of 1 to {MAX_WORD} characters"}

# FATF's "call for action" jurisdictions: a starting point, not advice. A team keeps its own
# lists current (docs/RISK.md).
HIGH_RISK_COUNTRIES = ["IR", "KP", "MM"]
HIGHER_RISK_INDUSTRIES = ["Crypto-asset services", "Money services", "Gambling",
                          "Precious metals and stones", "Arms and defence"]
ELEVATED_INDUSTRIES = ["Financial services", "Real estate", "Import/export"]
OPAQUE_LEGAL_FORMS = ["Trust", "Foundation", "Bearer-share company"]

DEFAULT_RISK_MODELS: dict[str, dict[str, Any]] = {
    # A new business customer: who is behind it, where, in which trade, and what screening
    # and related applications found.
    "onboarding": {
        "bands": {"medium": 30, "high": 60},
        "factors": [
            {"factor": "country", "points": 40, "list": "high-risk list",
             "countries": HIGH_RISK_COUNTRIES},
            {"factor": "ubo_nationality", "points": 25, "list": "high-risk list",
             "countries": HIGH_RISK_COUNTRIES},
            {"factor": "industry", "points": 25, "industries": HIGHER_RISK_INDUSTRIES},
            {"factor": "industry", "points": 10, "industries": ELEVATED_INDUSTRIES},
            {"factor": "legal_form", "points": 20, "forms": OPAQUE_LEGAL_FORMS},
            {"factor": "ubo_count", "points": 10, "at_least": 4},
            {"factor": "ownership_layers", "points": 15, "at_least": 2},
            {"factor": "sanctions_match", "points": 100, "at_least": 1},
            {"factor": "pep_match", "points": 35, "at_least": 1},
            {"factor": "open_hits", "points": 10, "at_least": 1},
            {"factor": "reuploads", "points": 10, "at_least": 3},
            {"factor": "related_rejected", "points": 30, "at_least": 1},
            {"factor": "related_true_match", "points": 30, "at_least": 1},
            {"factor": "imported_score", "points": 30},
        ],
    },
    # A periodic review of a known customer: the same facts; screening and related cases
    # weigh more, the trade less (it was accepted once).
    "ongoing_monitoring": {
        "bands": {"medium": 30, "high": 60},
        "factors": [
            {"factor": "country", "points": 40, "list": "high-risk list",
             "countries": HIGH_RISK_COUNTRIES},
            {"factor": "ubo_nationality", "points": 25, "list": "high-risk list",
             "countries": HIGH_RISK_COUNTRIES},
            {"factor": "industry", "points": 15, "industries": HIGHER_RISK_INDUSTRIES},
            {"factor": "ownership_layers", "points": 10, "at_least": 2},
            {"factor": "sanctions_match", "points": 100, "at_least": 1},
            {"factor": "pep_match", "points": 40, "at_least": 1},
            {"factor": "open_hits", "points": 15, "at_least": 1},
            {"factor": "reuploads", "points": 10, "at_least": 3},
            {"factor": "related_rejected", "points": 35, "at_least": 1},
            {"factor": "related_true_match", "points": 35, "at_least": 1},
            {"factor": "imported_score", "points": 30},
        ],
    },
}
NO_MODEL: dict[str, Any] = {"bands": {"medium": 30, "high": 60}, "factors": []}


def default_risk_model(workflow: str) -> dict[str, Any]:
    """The model a workflow has when its definition names none (a new workflow: onboarding's)."""
    return copy.deepcopy(DEFAULT_RISK_MODELS.get(workflow, DEFAULT_RISK_MODELS["onboarding"]))


def model_of(definition: dict[str, Any], workflow: str) -> dict[str, Any]:
    """The normalized model of a stored workflow definition."""
    if "risk_model" in definition:
        return normalized_risk_model(definition["risk_model"])
    return normalized_risk_model(default_risk_model(workflow))


# --- checking ------------------------------------------------------------------------------

def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _word_list(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and len(value) <= MAX_LIST
            and all(isinstance(w, str) and w.strip() and len(w) <= MAX_WORD for w in value))


def _factor_problems(f: Any, w: str) -> list[str]:
    if not isinstance(f, dict):
        return [f"{w}: a mapping with factor, points and the factor's parameters"]
    kind = f.get("factor")
    if kind not in FACTORS:
        return [f"{w}.factor: {str(kind)[:60]!r} is not a factor (factors: {', '.join(FACTORS)})"]
    spec = FACTORS[kind]
    problems = []
    unknown = [str(k)[:60] for k in f if k not in ("factor", "points", *spec.params)]
    if unknown:
        problems.append(f"{w} ({kind}): unknown field(s) {', '.join(unknown)} (fields: factor, "
                        f"points{''.join(', ' + p for p in spec.params)})")
    if not _whole(f.get("points")) or not 0 <= f["points"] <= MAX_POINTS:
        problems.append(f"{w}.points: a whole number from 0 to {MAX_POINTS}")
    for param in ("countries", "types", "forms", "industries"):
        if param not in spec.params:
            continue
        value = f.get(param)
        if param == "countries":
            good = (isinstance(value, list) and bool(value) and len(value) <= MAX_LIST
                    and all(isinstance(c, str) and COUNTRY.match(c) for c in value))
        elif param == "types":
            good = (isinstance(value, list) and bool(value)
                    and all(t in ENTITY_TYPES for t in value))
        else:
            good = _word_list(value)
        if not good:
            problems.append(f"{w}.{param}: {LIST_PARAMS[param]} (at least one, at most "
                            f"{MAX_LIST})")
        elif len({str(v).strip().lower() for v in value}) != len(value):
            problems.append(f"{w}.{param}: a value appears twice")
    if "list" in spec.params:
        name = f.get("list", "list")
        if not isinstance(name, str) or not name.strip() or len(name) > 60:
            problems.append(f"{w}.list: the list's name, a text of 1 to 60 characters "
                            "(e.g. high-risk list)")
    bounds = [p for p in ("at_least", "at_most") if p in spec.params and f.get(p) is not None]
    for p in bounds:
        if not _whole(f[p]) or not 0 <= f[p] <= MAX_COUNT:
            problems.append(f"{w}.{p}: a whole number from 0 to {MAX_COUNT}")
    if len(bounds) > 1:
        problems.append(f"{w}: at_least or at_most, not both")
    if kind == "ubo_count" and not bounds:
        problems.append(f"{w}: ubo_count needs at_least or at_most (e.g. at_least: 4)")
    return problems


def validate_risk_model(value: Any, where: str = "risk_model") -> list[str]:
    """Every problem of a workflow's `risk_model`, as sentences; [] when it is good."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"{where}: a mapping with bands and factors (or null for no risk model)"]
    problems = []
    unknown = [str(k)[:60] for k in value if k not in MODEL_KEYS]
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(MODEL_KEYS)})")
    bands = value.get("bands")
    if not isinstance(bands, dict) or set(bands) != set(BANDS):
        problems.append(f"{where}.bands: a mapping with medium and high, the points at least "
                        "for each level (e.g. {medium: 30, high: 60}); below medium is low")
    elif not all(_whole(bands[b]) and 1 <= bands[b] <= MAX_BAND for b in BANDS):
        problems.append(f"{where}.bands: medium and high are whole numbers from 1 to {MAX_BAND}")
    elif not bands["medium"] < bands["high"]:
        problems.append(f"{where}.bands: high ({bands['high']}) must be above medium "
                        f"({bands['medium']})")
    factors = value.get("factors", [])
    if not isinstance(factors, list):
        problems.append(f"{where}.factors: a list of factors")
    elif len(factors) > MAX_FACTORS:
        problems.append(f"{where}.factors: at most {MAX_FACTORS}")
    else:
        for i, f in enumerate(factors):
            problems.extend(_factor_problems(f, f"{where}.factors[{i}]"))
    return problems


def normalized_risk_model(value: Any) -> dict[str, Any]:
    """A checked model with every field present, in a stable order (null: no factors)."""
    if value is None:
        return copy.deepcopy(NO_MODEL)
    factors = []
    for f in value.get("factors") or []:
        spec = FACTORS[f["factor"]]
        out: dict[str, Any] = {"factor": f["factor"], "points": f["points"]}
        for p in spec.params:
            if p == "countries":
                out[p] = sorted(dict.fromkeys(f[p]))
            elif p == "types":
                out[p] = [t for t in ENTITY_TYPES if t in f[p]]
            elif p in ("forms", "industries"):
                out[p] = [w.strip() for w in f[p]]
            elif p == "list":
                out[p] = str(f.get("list", "list")).strip()
            elif f.get(p) is not None:
                out[p] = f[p]
        if f["factor"] in COUNT_FACTORS and "at_least" not in out and "at_most" not in out:
            out["at_least"] = 1
        factors.append(out)
    bands = value["bands"]
    return {"bands": {b: bands[b] for b in BANDS}, "factors": factors}


MAX_MODEL_TEXT = 64 * 1024


def risk_model_from_yaml(text: str) -> tuple[Any, list[str]]:
    """A model typed as YAML (the workflows page's text box): (the value, the problems of
    reading it); check the value with `validate_risk_model`. Plain YAML only: no anchors or
    aliases. Empty text is null: no factors."""
    if len(text) > MAX_MODEL_TEXT:
        return None, [f"risk model: at most {MAX_MODEL_TEXT:,} characters"]
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return None, ["risk model: anchors and aliases (& and *) are not allowed"]
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        return None, [f"risk model: {getattr(exc, 'problem', None) or 'not valid YAML'}{where}"]
    return value, []


def risk_model_yaml(model: dict[str, Any]) -> str:
    """A normalized model as the YAML the text box shows (one factor per line)."""
    factors = "\n".join("- " + yaml.safe_dump(f, default_flow_style=True, sort_keys=False,
                                               allow_unicode=True, width=10_000).strip()
                         for f in model["factors"])
    bands = yaml.safe_dump(model["bands"], default_flow_style=True, sort_keys=False).strip()
    return f"bands: {bands}\nfactors:\n{factors}\n" if factors else f"bands: {bands}\nfactors: []\n"


def describe_risk_model(model: dict[str, Any]) -> str:
    """The model in a few words, for change notes and the editor."""
    n = len(model["factors"])
    return (f"{n} factor{'' if n == 1 else 's'}; medium from {model['bands']['medium']} "
            f"points, high from {model['bands']['high']}")


# --- scoring -------------------------------------------------------------------------------

@dataclass(frozen=True)
class RiskScore:
    points: int
    level: str
    # (factor, points, sentence without the points) of every factor that added points, the
    # most points first: ("country", 40, "country on high-risk list: IR")
    factors: list[tuple[str, int, str]] = field(default_factory=list)

    def sentences(self) -> list[str]:
        return [f"+{points} {text}" for _, points, text in self.factors]


def level_of(points: int, bands: dict[str, int]) -> str:
    if points >= bands["high"]:
        return "high"
    return "medium" if points >= bands["medium"] else "low"


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def _count_sentence(kind: str, n: int, f: dict[str, Any]) -> str:
    bound = (f"at least {f['at_least']}" if f.get("at_least") is not None
             else f"at most {f['at_most']}")
    return {
        "ubo_count": f"UBOs: {n} ({bound})",
        "ownership_layers": f"ownership layers: {n} ({bound})",
        "sanctions_match": f"sanctions true match{'es' if n != 1 else ''}: {n}",
        "pep_match": f"PEP true match{'es' if n != 1 else ''}: {n}",
        "open_hits": f"open screening hit{'s' if n != 1 else ''}: {n}",
        "reuploads": f"document re-uploads: {n} ({bound})",
        "related_rejected": f"related case{'s' if n != 1 else ''} rejected: {n}",
        "related_true_match": f"related case{'s' if n != 1 else ''} with a true match: {n}",
    }[kind]


@dataclass(frozen=True)
class _Prepared:
    """A factor with its lists as sets (lower-case words), made once per model."""
    f: dict[str, Any]
    countries: frozenset[str]
    words: frozenset[str]


def _factor(p: _Prepared, inputs: dict[str, Any]) -> tuple[int, str] | None:
    """(points, sentence) when the factor holds for `inputs`, else None."""
    f = p.f
    kind, points = f["factor"], f["points"]
    if kind == "country":
        country = inputs.get("country") or ""
        if country in p.countries:
            return points, f"country on {f['list']}: {country}"
    elif kind == "ubo_nationality":
        found = [c for c in inputs.get("ubo_nationalities") or () if c in p.countries]
        if found:
            return points, f"UBO nationality on {f['list']}: {', '.join(found)}"
    elif kind == "entity_type":
        if inputs.get("kind") in f["types"]:
            return points, f"entity type: {inputs['kind']}"
    elif kind in ("legal_form", "industry"):
        value = (inputs.get(kind) or "").strip()
        if value and value.lower() in p.words:
            return points, f"{kind.replace('_', ' ')}: {_short(value)}"
    elif kind in COUNT_FACTORS:
        n = int(inputs.get(COUNT_FACTORS[kind]) or 0)
        holds = (n >= f["at_least"] if f.get("at_least") is not None else n <= f["at_most"])
        if holds:
            return points, _count_sentence(kind, n, f)
    elif kind == "imported_score":
        imported = inputs.get("imported")
        if imported is not None:
            return round(points * int(imported) / 100), f"imported risk score {imported} of 100"
    return None


def scorer(model: dict[str, Any]) -> Callable[[dict[str, Any]], RiskScore]:
    """`score` under one normalized model, its lists made sets once (for many cases)."""
    prepared = [_Prepared(f, frozenset(f.get("countries") or ()),
                          frozenset(w.lower() for w in f.get("forms") or f.get("industries")
                                    or ())) for f in model["factors"]]
    bands = dict(model["bands"])

    def scored(inputs: dict[str, Any]) -> RiskScore:
        found = []
        for p in prepared:
            hit = _factor(p, inputs)
            if hit is not None and hit[0] > 0:
                found.append((p.f["factor"], hit[0], hit[1]))
        found.sort(key=lambda item: -item[1])  # stable: the model's order among equals
        points = sum(item[1] for item in found)
        return RiskScore(points, level_of(points, bands), found)
    return scored


def score(model: dict[str, Any], inputs: dict[str, Any]) -> RiskScore:
    """A case's points, level and the factors that produced them under a normalized model."""
    return scorer(model)(inputs)


def compact_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs without their empty values (how they are stored on the case)."""
    return {k: v for k, v in inputs.items() if k in INPUT_KEYS and v not in (None, "", 0, [])}
