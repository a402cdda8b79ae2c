"""The risk model as data (core/workflows/risk_model.py): defaults that check, every problem
named, scoring with sentences and bands, and the model as a workflow field — YAML round trip,
audited save, change notes, cases scored again on save. Runs on SQLite and on PostgreSQL
(DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

import pytest
import yaml
from sqlalchemy import select

from core.errors import InvalidInput
from core.store.models import AuditEvent, Case
from core.workflows import admin as wa
from core.workflows.risk_model import (
    DEFAULT_RISK_MODELS,
    FACTORS,
    INPUT_KEYS,
    default_risk_model,
    level_of,
    normalized_risk_model,
    score,
    validate_risk_model,
)
from tests.factories import make_case

MODEL = {"bands": {"medium": 30, "high": 60}, "factors": [
    {"factor": "country", "points": 25, "list": "high-risk list", "countries": ["KP", "IR"]},
    {"factor": "ubo_nationality", "points": 20, "list": "watch list", "countries": ["RU"]},
    {"factor": "entity_type", "points": 5, "types": ["person"]},
    {"factor": "legal_form", "points": 20, "forms": ["Trust"]},
    {"factor": "industry", "points": 15, "industries": ["Crypto-asset services"]},
    {"factor": "ubo_count", "points": 10, "at_least": 4},
    {"factor": "ubo_count", "points": 30, "at_most": 0},
    {"factor": "ownership_layers", "points": 15, "at_least": 2},
    {"factor": "sanctions_match", "points": 100},
    {"factor": "pep_match", "points": 35, "at_least": 1},
    {"factor": "open_hits", "points": 10, "at_least": 2},
    {"factor": "reuploads", "points": 10, "at_least": 3},
    {"factor": "related_rejected", "points": 25},
    {"factor": "related_true_match", "points": 25},
    {"factor": "imported_score", "points": 40},
]}


def test_the_defaults_check_and_use_every_kind_of_factor_between_them():
    used = set()
    for name, model in DEFAULT_RISK_MODELS.items():
        assert validate_risk_model(model) == [], name
        assert normalized_risk_model(normalized_risk_model(model)) == normalized_risk_model(model)
        used |= {f["factor"] for f in model["factors"]}
    assert set(FACTORS) - used == {"entity_type"}  # a business team's default has no use for it
    assert default_risk_model("kyc_eu") == DEFAULT_RISK_MODELS["onboarding"]
    assert validate_risk_model(MODEL) == [] and validate_risk_model(None) == []


def test_every_problem_is_named():
    bad = {"bands": {"medium": 60, "high": 30}, "colour": "red", "factors": [
        {"factor": "star_sign", "points": 5},
        {"factor": "country", "points": 101, "countries": ["iran", "IR"], "list": ""},
        {"factor": "industry", "points": True, "industries": []},
        {"factor": "ubo_count", "points": 5},
        {"factor": "ubo_count", "points": 5, "at_least": 2, "at_most": 1},
        {"factor": "open_hits", "points": 5, "at_least": -1, "weight": 2},
        {"factor": "entity_type", "points": 5, "types": ["robot"]},
        {"factor": "country", "points": 5, "countries": ["IR", "IR"]},
        "country",
    ]}
    problems = validate_risk_model(bad)
    assert problems == [
        "risk_model: unknown field(s) colour (fields: bands, factors)",
        "risk_model.bands: high (30) must be above medium (60)",
        "risk_model.factors[0].factor: 'star_sign' is not a factor (factors: "
        + ", ".join(FACTORS) + ")",
        "risk_model.factors[1].points: a whole number from 0 to 100",
        "risk_model.factors[1].countries: a list of two-letter country codes in capitals, "
        "e.g. [IR, KP] (at least one, at most 250)",
        "risk_model.factors[1].list: the list's name, a text of 1 to 60 characters "
        "(e.g. high-risk list)",
        "risk_model.factors[2].points: a whole number from 0 to 100",
        "risk_model.factors[2].industries: a list of texts of 1 to 100 characters "
        "(at least one, at most 250)",
        "risk_model.factors[3]: ubo_count needs at_least or at_most (e.g. at_least: 4)",
        "risk_model.factors[4]: at_least or at_most, not both",
        "risk_model.factors[5] (open_hits): unknown field(s) weight (fields: factor, points, "
        "at_least)",
        "risk_model.factors[5].at_least: a whole number from 0 to 1000",
        "risk_model.factors[6].types: a list among business, person (at least one, at most 250)",
        "risk_model.factors[7].countries: a value appears twice",
        "risk_model.factors[8]: a mapping with factor, points and the factor's parameters",
    ]
    assert validate_risk_model({"factors": []}) == [
        "risk_model.bands: a mapping with medium and high, the points at least for each "
        "level (e.g. {medium: 30, high: 60}); below medium is low"]
    assert validate_risk_model("high") == [
        "risk_model: a mapping with bands and factors (or null for no risk model)"]


def test_scoring_says_which_factors_gave_how_many_points_the_most_first():
    model = normalized_risk_model(MODEL)
    inputs = {"country": "IR", "kind": "business", "legal_form": "trust",
              "industry": "Crypto-asset services", "ubo_nationalities": ["GB", "RU"], "ubos": 5,
              "layers": 3, "sanctions": 1, "pep": 2, "open_hits": 2, "reuploads": 3,
              "related_rejected": 1, "related_true_match": 2, "imported": 62}
    assert set(inputs) == set(INPUT_KEYS)
    result = score(model, inputs)
    assert result.sentences() == [
        "+100 sanctions true match: 1",
        "+35 PEP true matches: 2",
        "+25 country on high-risk list: IR",
        "+25 related case rejected: 1",        # equal points: the model's order
        "+25 related cases with a true match: 2",
        "+25 imported risk score 62 of 100",   # 40 x 62 / 100 = 24.8
        "+20 UBO nationality on watch list: RU",
        "+20 legal form: trust",
        "+15 industry: Crypto-asset services",
        "+15 ownership layers: 3 (at least 2)",
        "+10 UBOs: 5 (at least 4)",
        "+10 open screening hits: 2",
        "+10 document re-uploads: 3 (at least 3)",
    ]
    assert result.points == 335 and result.level == "high"
    nothing = score(model, {"country": "GB", "kind": "business", "ubos": 1})
    assert (nothing.points, nothing.level, nothing.factors) == (0, "low", [])
    person = score(model, {"country": "GB", "kind": "person", "ubos": 0, "open_hits": 1})
    assert person.sentences() == ["+30 UBOs: 0 (at most 0)", "+5 entity type: person"]
    assert person.level == "medium"


@pytest.mark.parametrize("points, level", [(0, "low"), (29, "low"), (30, "medium"),
                                           (59, "medium"), (60, "high"), (500, "high")])
def test_bands_are_points_at_least(points, level):
    assert level_of(points, {"medium": 30, "high": 60}) == level


def test_no_model_scores_every_case_low():
    assert score(normalized_risk_model(None), {"country": "IR", "sanctions": 3}).level == "low"


# --- the model as a workflow field ------------------------------------------------------------

def test_a_workflow_has_its_default_model_and_round_trips_through_yaml(db):
    onboarding = wa.get_workflow(db, "onboarding")
    assert onboarding["risk_model"] == normalized_risk_model(DEFAULT_RISK_MODELS["onboarding"])
    exported = wa.export_yaml(db, ["onboarding"])
    assert "risk_model:" in exported and "high-risk list" in exported
    data = yaml.safe_load(exported)
    data["workflows"][0]["risk_model"] = MODEL
    assert wa.import_yaml(db, yaml.safe_dump(data), actor="admin") == ["onboarding"]
    assert wa.get_workflow(db, "onboarding")["risk_model"] == normalized_risk_model(MODEL)
    again = yaml.safe_load(wa.export_yaml(db, ["onboarding"]))["workflows"][0]["risk_model"]
    assert again == normalized_risk_model(MODEL)


def test_a_bad_model_in_yaml_is_refused_whole_naming_the_problem(db):
    data = yaml.safe_load(wa.export_yaml(db, ["onboarding"]))
    data["workflows"][0]["risk_model"]["bands"] = {"medium": 80, "high": 40}
    before = wa.get_workflow(db, "onboarding")
    with pytest.raises(InvalidInput) as refused:
        wa.import_yaml(db, yaml.safe_dump(data), actor="admin")
    assert refused.value.problems == [
        "workflows[0] (onboarding).risk_model.bands: high (40) must be above medium (80)"]
    assert wa.get_workflow(db, "onboarding") == before


def test_saving_a_changed_model_is_audited_noted_and_scores_the_cases_again(db):
    make_case(db, "R-1", country="IR")
    make_case(db, "R-2", country="GB")
    make_case(db, "M-1", country="IR", workflow="ongoing_monitoring")
    with db.read() as s:
        assert s.get(Case, "R-1").risk_level == "medium"      # +40 country
    definition = wa.get_workflow(db, "onboarding")
    new_model = {"bands": {"medium": 10, "high": 20},
                 "factors": [{"factor": "country", "points": 25, "list": "our list",
                              "countries": ["IR"]}]}
    notes = wa.change_notes(db, {**definition, "risk_model": new_model})
    assert notes == ["the risk model becomes 1 factor; medium from 10 points, high from 20: "
                     "every case of the workflow is scored again when you save (the "
                     "simulator shows how levels move)"]
    wa.save_workflow(db, {**definition, "risk_model": new_model}, actor="admin")
    with db.read() as s:
        r1, r2, m1 = (s.get(Case, c) for c in ("R-1", "R-2", "M-1"))
        assert (r1.risk_points, r1.risk_level) == (25, "high")
        assert r1.risk_factors["factors"] == [["country", 25, "country on our list: IR"]]
        assert (r2.risk_points, r2.risk_level) == (0, "low")
        assert (m1.risk_points, m1.risk_level) == (40, "medium")  # another workflow: untouched
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "workflow.changed")).one()
    assert event.before["risk_model"]["factors"][0]["points"] == 40
    assert event.after["risk_model"] == normalized_risk_model(new_model)
    # saving the same model again writes nothing
    wa.save_workflow(db, wa.get_workflow(db, "onboarding"), actor="admin")
    with db.read() as s:
        assert len(s.scalars(select(AuditEvent).where(
            AuditEvent.kind == "workflow.changed")).all()) == 1


def test_null_model_switches_scoring_off(db):
    make_case(db, "R-1", country="IR")
    definition = wa.get_workflow(db, "onboarding")
    wa.save_workflow(db, {**definition, "risk_model": None}, actor="admin")
    assert wa.get_workflow(db, "onboarding")["risk_model"]["factors"] == []
    with db.read() as s:
        assert (s.get(Case, "R-1").risk_points, s.get(Case, "R-1").risk_level) == (0, "low")
