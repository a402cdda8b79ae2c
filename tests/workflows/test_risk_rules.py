"""The risk level drives rules: the four-eyes condition `risk_levels` and the SLA's
`hours_by_risk` (core/workflows/four_eyes.py, sla.py), checked, and applied to cases by their
stored level. Runs on SQLite and on PostgreSQL (DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from core.cases import actions
from core.cases.read import case_detail
from core.intake.events import complete_collection
from core.store.models import Case
from core.workflows import admin as wa
from core.workflows.four_eyes import (
    describe_four_eyes,
    four_eyes_reason,
    is_on,
    normalized_four_eyes,
    validate_four_eyes,
)
from core.workflows.sla import normalized_sla, sla_of, validate_sla
from tests.factories import make_case, version_of


def test_the_four_eyes_risk_condition_checks_and_reads():
    assert validate_four_eyes({"risk_levels": ["high", "severe"]}) == [
        "four_eyes.risk_levels: a list among low, medium, high, each once"]
    assert validate_four_eyes({"risk_levels": ["high", "high"]}) != []
    rule = normalized_four_eyes({"risk_levels": ["high", "medium"]})
    assert rule["risk_levels"] == ["medium", "high"] and is_on(rule)
    assert not is_on({"risk_levels": []})
    assert describe_four_eyes(rule) == "risk level medium or high"
    assert four_eyes_reason(rule, risk_score=None, country=None, entity_type=None,
                            risk_level="high") == "risk level high"
    assert four_eyes_reason(rule, risk_score=None, country=None, entity_type=None,
                            risk_level="low") == ""


def test_the_sla_hours_by_risk_check_and_apply():
    sla = {"hours": {"manual_review": 24},
           "hours_by_risk": {"high": {"manual_review": 8}, "low": {"revisions": 100}}}
    assert validate_sla(sla) == []
    assert validate_sla({"hours": {}, "hours_by_risk": {"severe": {"manual_review": 8},
                                                        "high": {"approved": 1},
                                                        "low": {"manual_review": 0}}}) == [
        "sla.hours_by_risk: 'severe' is not a risk level (low, medium, high)",
        "sla.hours_by_risk.high: 'approved' is not a status with a due time (statuses: "
        "collection_flow, pending_process, pending_id_verification, manual_review, revisions)",
        "sla.hours_by_risk.low.manual_review: a number of hours above 0 and at most 1000"]
    assert normalized_sla(sla)["hours_by_risk"] == {"low": {"revisions": 100},
                                                    "high": {"manual_review": 8}}
    assert "hours_by_risk" not in normalized_sla({"hours": {"manual_review": 24}})
    definition = {"sla": normalized_sla(sla)}
    assert sla_of(definition, "manual_review", "high").hours == 8
    assert sla_of(definition, "manual_review", "medium").hours == 24
    assert sla_of(definition, "manual_review", None).hours == 24
    assert sla_of(definition, "revisions", "high") is None


def _high_risk_workflow(db):
    definition = wa.get_workflow(db, "onboarding")
    wa.save_workflow(db, {**definition, "four_eyes": {"risk_levels": ["high"]},
                          "sla": {"hours": {"manual_review": 24},
                                  "hours_by_risk": {"high": {"manual_review": 8}}}},
                     actor="admin")


def test_a_high_risk_case_needs_two_approvers_and_gets_its_own_due_time(db):
    _high_risk_workflow(db)
    make_case(db, "H-1", assignee="reviewer", reviewed=True, country="IR",
              user_data={"industry": "Gambling"})
    make_case(db, "L-1", assignee="reviewer", reviewed=True, country="GB")
    with db.read() as s:
        high, low = s.get(Case, "H-1"), s.get(Case, "L-1")
        assert (high.risk_level, low.risk_level) == ("high", "low")
        assert high.due_at - high.status_changed_at == timedelta(hours=8)
        assert low.due_at - low.status_changed_at == timedelta(hours=24)
    detail = case_detail(db, "H-1", "reviewer")
    assert detail.approvals_needed == 2 and detail.four_eyes_rule == "risk level high"
    step = actions.approve_case(db, "H-1", actor="reviewer",
                                expected_version=version_of(db, "H-1"))
    assert (step.step, step.of) == (1, 2)
    step = actions.approve_case(db, "L-1", actor="reviewer",
                                expected_version=version_of(db, "L-1"))
    assert step.final
    yaml_text = wa.export_yaml(db, ["onboarding"])
    assert "hours_by_risk" in yaml_text and "risk_levels:\n    - high" in yaml_text
    assert wa.parse_yaml(yaml_text)


def test_the_level_read_is_the_one_scored_with_the_change(db):
    """A case whose level rises in the command that moves it into Manual review gets the
    high-risk hours at once (the score is refreshed before the status)."""
    _high_risk_workflow(db)
    make_case(db, "C-1", assignee="reviewer", collection_completed=False, country="GB",
              reviewed=True)
    with db.unit_of_work() as s:   # data changed outside a command: not scored yet
        s.execute(update(Case.__table__).where(Case.id == "C-1").values(
            user_data={"industry": "Gambling", "ownership_layers": 5, "legal_form": "Trust"}))
    assert complete_collection(db, "C-1", actor="admin").value == "manual_review"
    with db.read() as s:
        case = s.get(Case, "C-1")
        assert (case.risk_points, case.risk_level) == (60, "high")
        assert case.due_at - case.status_changed_at == timedelta(hours=8)
