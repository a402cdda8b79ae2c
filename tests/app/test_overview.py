"""pages/overview.py under Streamlit's AppTest: runs signed in without an exception and shows
its metrics and charts; refuses to show anything without a valid sign-in."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.access import users
from core.cases import actions as ca
from core.cases.state import refresh_status
from core.store.models import Case, Entity, utcnow
from core.worklist.views import ensure_default_views, save_view

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "overview.py")


def make_case(db, case_id: str, *, collected: bool = True, name: str = "Acme Ltd") -> None:
    with db.unit_of_work() as s:
        entity = Entity(kind="business", name=name, country="HK")
        s.add(entity)
        s.flush()
        case = Case(id=case_id, workflow="onboarding", entity_id=entity.id,
                    case_status="collection_flow", collection_completed=collected, version=1)
        s.add(case)
        refresh_status(s, case, "system")
        case.status_changed_at = utcnow() - timedelta(days=10)


def approve(db, case_id: str) -> None:
    def version():
        with db.read() as s:
            return s.scalar(select(Case.version).where(Case.id == case_id))
    ca.assign_case(db, case_id, "reviewer", actor="reviewer", expected_version=version())
    ca.approve_case(db, case_id, actor="reviewer", expected_version=version())


@pytest.fixture
def overview(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    with db.unit_of_work() as s:
        ensure_default_views(s)
    for i in range(3):
        make_case(db, f"MR-{i}")
    make_case(db, "CF-1", collected=False)
    make_case(db, "AP-1")
    approve(db, "AP-1")

    def run(username: str | None = "analyst") -> AppTest:
        at = AppTest.from_file(PAGE, default_timeout=60)
        if username is not None:
            at.session_state["authentication_status"] = True
            at.session_state["username"] = username
        return at.run()
    return run


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_signed_in_shows_metrics_and_charts(overview):
    at = overview("analyst")
    assert not at.exception
    got = metrics(at)
    assert got["Open cases"] == "4"
    assert got["In manual review"] == "3"
    assert got["Manual review > 7 days"] == "3"
    assert got["Decisions, last 30 days"] == "1"
    assert got["Approval rate, last 30 days"] == "100%"
    assert len(at.get("vega_lite_chart")) >= 4
    assert at.dataframe[0].value["View"].tolist()[0] == "All cases"


def test_period_selector_changes_the_window(overview):
    at = overview("analyst")
    assert at.radio(key="overview_period").value == 30
    at.radio(key="overview_period").set_value(7).run()
    assert not at.exception
    assert metrics(at)["Decisions, last 7 days"] == "1"
    at.radio(key="overview_period").set_value(90).run()
    assert "Approval rate, last 90 days" in metrics(at)


@pytest.mark.parametrize("username", ["reviewer", "admin"])
def test_other_roles_see_it_too(overview, username):
    at = overview(username)
    assert not at.exception and at.metric


def test_not_signed_in_shows_only_a_sign_in_message(overview):
    at = overview(None)
    assert not at.exception
    assert not at.metric
    assert any("Sign in" in i.value for i in at.info)


def test_disabled_or_unknown_user_sees_nothing(overview, db):
    users.set_disabled(db, "analyst", True)
    for name in ("analyst", "nobody"):
        at = overview(name)
        assert not at.exception and not at.metric
        assert any("Sign in" in i.value for i in at.info)


def test_view_names_are_never_rendered_as_html(overview, db):
    save_view(db, "<img src=x onerror=alert(1)>", [], [])
    at = overview("analyst")
    assert not at.exception
    assert "<img src=x onerror=alert(1)>" in at.dataframe[0].value["View"].tolist()
    assert not any("<img" in m.value for m in at.markdown)
