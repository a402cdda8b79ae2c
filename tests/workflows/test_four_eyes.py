"""The four-eyes rule of a workflow: checked, saved, exported; bad input changes nothing."""
from __future__ import annotations

import pytest
import yaml

from core.errors import InvalidInput
from core.workflows import admin as wa
from core.workflows.four_eyes import four_eyes_reason, is_on, validate_four_eyes


@pytest.mark.parametrize("value, problem", [
    ("yes", "a mapping"),
    ({"risk_score_at_least": 101}, "0 to 100"),
    ({"risk_score_at_least": True}, "0 to 100"),
    ({"risk_score_at_least": "70"}, "0 to 100"),
    ({"countries": "IR"}, "a list of two-letter"),
    ({"countries": ["ir"]}, "'ir' not a two-letter country code"),
    ({"countries": ["IR", "IR"]}, "appears twice"),
    ({"entity_types": ["company"]}, "among business, person"),
    ({"risk": 5}, "unknown field(s) risk"),
])
def test_bad_rules_are_named(value, problem):
    problems = validate_four_eyes(value)
    assert problems and problem in " ".join(problems), problems


def test_any_condition_matches():
    rule = {"risk_score_at_least": 70, "countries": ["IR"], "entity_types": ["person"]}
    assert four_eyes_reason(rule, risk_score=69, country="GB", entity_type="business") == ""
    assert four_eyes_reason(rule, risk_score=None, country="IR", entity_type="business") == \
        "country IR is on the four-eyes list"
    assert "risk score 90 is at least 70" in four_eyes_reason(
        rule, risk_score=90, country="IR", entity_type="person")
    assert not is_on(None) and not is_on({"countries": []}) and is_on({"entity_types": ["person"]})
    assert is_on({"true_match": True})
    assert four_eyes_reason({"true_match": True}, risk_score=None, country=None,
                            entity_type=None, true_matches=0) == ""
    assert four_eyes_reason({"true_match": True}, risk_score=None, country=None,
                            entity_type=None, true_matches=1) == "a screening hit is a true match"


def test_saved_audited_and_exported(db):
    definition = wa.get_workflow(db, "onboarding")
    assert definition["four_eyes"] == {"risk_score_at_least": None, "countries": [],
                                       "entity_types": [], "true_match": False,
                                       "risk_levels": []}
    definition["four_eyes"] = {"risk_score_at_least": 80, "countries": ["RU", "IR"]}
    assert any("approval 1 of 2" in n for n in wa.change_notes(db, definition))
    saved = wa.save_workflow(db, definition, actor="admin", create=False)
    assert saved["four_eyes"] == {"risk_score_at_least": 80, "countries": ["IR", "RU"],
                                  "entity_types": [], "true_match": False, "risk_levels": []}
    exported = yaml.safe_load(wa.export_yaml(db, ["onboarding"]))["workflows"][0]
    assert exported["four_eyes"]["countries"] == ["IR", "RU"]
    assert wa.parse_yaml(wa.export_yaml(db, ["onboarding"]))  # round trip


def test_a_bad_rule_is_refused_and_nothing_changes(db):
    before = wa.get_workflow(db, "onboarding")
    bad = {**before, "four_eyes": {"risk_score_at_least": 150, "countries": ["Iran"]}}
    with pytest.raises(InvalidInput) as refused:
        wa.save_workflow(db, bad, actor="admin", create=False)
    assert any("onboarding" not in p and "four_eyes.risk_score_at_least" in p
               for p in refused.value.problems)
    assert any("four_eyes.countries" in p for p in refused.value.problems)
    assert wa.get_workflow(db, "onboarding") == before
