"""The risk model on the Workflows page (ui/risk_model_editor.py) through AppTest: the stored
model shown as YAML, a change saved (and the cases scored again), text that is not YAML or a
model with problems blocks saving and says why."""
from __future__ import annotations

from core.store.models import Case
from core.workflows import admin as wa
from tests.app.harness import errors, new_app, sign_in
from tests.factories import make_case

KEY = "wf_e_risk__onboarding"


def _page(monkeypatch, database_url):
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page("pages/admin_workflows.py").run()
    assert not at.exception, at.exception
    return at


def _warnings(at) -> list[str]:
    """The warnings as they read (the Markdown escapes taken out)."""
    return [w.value.replace("\\", "") for w in at.warning]


def test_the_model_is_shown_and_a_change_is_saved_and_scores_the_cases(db, database_url,
                                                                       monkeypatch):
    make_case(db, "C-1", country="IR")
    at = _page(monkeypatch, database_url)
    area = at.text_area(key=KEY)
    assert "{factor: country, points: 40, list: high-risk list, countries: [IR, KP, MM]}" \
        in area.value
    area.input("bands: {medium: 10, high: 20}\nfactors:\n"
               "- {factor: country, points: 25, list: our list, countries: [IR]}\n").run()
    assert any("the risk model becomes 1 factor" in i.value for i in at.info)
    at.button(key="wf_save").click().run()
    assert not at.exception and not errors(at)
    assert wa.get_workflow(db, "onboarding")["risk_model"]["bands"] == {"medium": 10, "high": 20}
    with db.read() as s:
        assert (s.get(Case, "C-1").risk_points, s.get(Case, "C-1").risk_level) == (25, "high")


def test_bad_text_or_a_bad_model_blocks_saving_and_says_why(db, database_url, monkeypatch):
    at = _page(monkeypatch, database_url)
    at.text_area(key=KEY).input("bands: {medium: 10").run()
    assert any("risk model: expected ',' or '}'" in w for w in _warnings(at))
    assert at.button(key="wf_save").disabled
    at.text_area(key=KEY).input("bands: {medium: 50, high: 20}\nfactors: []\n").run()
    assert any("workflow.risk_model.bands: high (20) must be above medium (50)" in w
               for w in _warnings(at))
    assert at.button(key="wf_save").disabled
    before = wa.get_workflow(db, "onboarding")["risk_model"]
    assert before["bands"] == {"medium": 30, "high": 60}


def test_a_changed_model_shows_how_levels_would_move_before_saving(db, database_url,
                                                                  monkeypatch):
    make_case(db, "C-1", country="IR")   # medium now (40)
    make_case(db, "C-2", country="GB")   # low
    at = _page(monkeypatch, database_url)
    at.text_area(key=KEY).input("bands: {medium: 10, high: 30}\nfactors:\n"
                                "- {factor: country, points: 40, list: our list, "
                                "countries: [IR]}\n").run()
    frame = next(d.value for d in at.dataframe
                 if d.value is not None and "with this model" in d.value.columns)
    assert frame.to_dict("records") == [
        {"level": "low", "now": 1, "with this model": 1, "change": "+0"},
        {"level": "medium", "now": 1, "with this model": 0, "change": "-1"},
        {"level": "high", "now": 0, "with this model": 1, "change": "+1"}]
    assert any("all 2 cases of the workflow" in c.value for c in at.caption)
    with db.read() as s:   # nothing saved yet
        assert s.get(Case, "C-1").risk_level == "medium"
