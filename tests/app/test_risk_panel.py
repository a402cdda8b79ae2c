"""The risk panel of the case preview (ui/risk_panel.py) through AppTest: the level badge,
the points and the factor sentences, as text; a case never scored says so."""
from __future__ import annotations

from sqlalchemy import update

from core.store.models import Case
from tests.app.harness import new_app, sign_in, table, texts
from tests.factories import make_case

HOSTILE = "<img src=x onerror=alert(1)>"


def _preview(monkeypatch, database_url, case_id):
    at = sign_in(new_app(monkeypatch, database_url, query={"case": case_id}), "analyst")
    assert not at.exception
    return at


def test_the_preview_shows_level_points_and_factors_as_text(db, database_url, monkeypatch):
    from core.workflows import admin as wa
    definition = wa.get_workflow(db, "onboarding")
    model = {"bands": {"medium": 10, "high": 60}, "factors": [
        {"factor": "country", "points": 40, "list": "high-risk list", "countries": ["IR"]},
        {"factor": "industry", "points": 25, "industries": [HOSTILE]}]}
    wa.save_workflow(db, {**definition, "risk_model": model}, actor="admin")
    make_case(db, "C-1", country="IR", user_data={"industry": HOSTILE})
    at = _preview(monkeypatch, database_url, "C-1")
    shown = texts(at)
    assert any("High risk" in t for t in shown)
    assert any("65 points" in t for t in shown)
    factors = next(t for t in shown if "country on high" in t)
    assert "\\+40 country on high\\-risk list\\: IR" in factors
    assert "onerror" in factors and "\\<img" in factors  # escaped: shows literally
    for node in at._tree:
        body = getattr(getattr(node, "proto", None), "body", "")
        if isinstance(body, str) and "onerror" in body:
            assert not getattr(node.proto, "allow_html", False)


def test_a_case_never_scored_says_so(db, database_url, monkeypatch):
    make_case(db, "C-1")
    with db.unit_of_work() as s:
        s.execute(update(Case.__table__).values(risk_points=0, risk_level=None,
                                                risk_factors=None))
    shown = texts(_preview(monkeypatch, database_url, "C-1"))
    assert any("not scored yet" in t for t in shown)


def test_the_list_shows_the_risk_column_and_filters_by_level(db, database_url, monkeypatch):
    make_case(db, "H-1", country="IR", user_data={"industry": "Gambling"})
    make_case(db, "L-1", country="GB")
    at = sign_in(new_app(monkeypatch, database_url), "analyst")
    assert not at.exception
    rows = dict(zip(table(at)["ID"], table(at)["Risk"]))
    assert rows == {"H-1": "High · 65", "L-1": "Low · 0"}
    at.multiselect(key="f_risk").set_value(["high"]).run()
    assert list(table(at)["ID"]) == ["H-1"]
    assert at.query_params["risk"] in ("high", ["high"])
    linked = sign_in(new_app(monkeypatch, database_url, query={"risk": "low"}), "analyst")
    assert list(table(linked)["ID"]) == ["L-1"]
