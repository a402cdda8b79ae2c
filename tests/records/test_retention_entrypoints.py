"""Retention from the shell (`python -m core retention ...`, core/cli/retention.py), the
`relationship_ended` event over the API's event route, the Retention page (admins only), and
the workflow's `retention_years` (validated, a change leaving existing dates alone)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.cases import actions as ca
from core.cli.main import main as cli_main
from core.errors import InvalidInput
from core.store.models import Case, utcnow
from core.workflows import admin as wa
from tests.app.harness import errors, new_app, sign_in
from tests.factories import make_case, version_of


def _ended_long_ago(db, case_id: str) -> None:
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(
            relationship_ended_at=utcnow() - timedelta(days=2200),
            retention_until=utcnow() - timedelta(days=10)))


def test_the_cli_lists_then_erases_and_refuses_with_why(db, database_url, monkeypatch, capsys):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    make_case(db, "K-1")
    make_case(db, "K-2", name="Held Holdings")
    assert cli_main(["event", "K-1", "relationship_ended"]) == 0
    assert cli_main(["retention", "run", "--apply", "--case", "K-1"]) == 1
    assert "runs until" in capsys.readouterr().err
    _ended_long_ago(db, "K-1")
    _ended_long_ago(db, "K-2")
    assert cli_main(["retention", "hold", "K-2", "--reason", "Subpoena 88", "--as",
                     "admin"]) == 0
    capsys.readouterr()
    assert cli_main(["retention", "run"]) == 0
    out = capsys.readouterr().out
    assert "would erase K-1 (onboarding" in out and "retention ended on" in out
    assert "skipped K-2: case K-2 is under legal hold (held by admin" in out and "Subpoena 88" in out
    assert "dry run" in out
    assert cli_main(["retention", "run", "--apply", "--as", "reviewer"]) == 1
    assert "may not manage retention" in capsys.readouterr().err
    assert cli_main(["retention", "run", "--apply"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("erased K-1") and "1 erased, 1 held" in out
    with db.read() as s:
        assert s.get(Case, "K-1").erased_at is not None and s.get(Case, "K-2").erased_at is None
    assert cli_main(["retention", "request-erasure", "K-2", "--reason", "email of 3 May"]) == 0
    assert "retention is over" in capsys.readouterr().out


def test_a_rejection_ends_the_relationship_with_the_workflows_years(db):
    definition = wa.get_workflow(db, "onboarding")
    with pytest.raises(InvalidInput, match="retention_years"):
        wa.save_workflow(db, {**definition, "retention_years": 31}, actor="admin")
    wa.save_workflow(db, {**definition, "retention_years": 7}, actor="admin")
    make_case(db, "K-3", assignee="reviewer")
    ca.reject_case(db, "K-3", actor="reviewer", expected_version=version_of(db, "K-3"),
                   reason="fraud")
    with db.read() as s:
        case = s.get(Case, "K-3")
        assert case.retention_until.year - case.relationship_ended_at.year == 7
        until = case.retention_until
    wa.save_workflow(db, {**definition, "retention_years": 2}, actor="admin")
    with db.read() as s:
        assert s.get(Case, "K-3").retention_until == until  # computed once, when it ended
    assert "relationships that end from now on" in " ".join(
        wa.change_notes(db, {**definition, "retention_years": 9}))


def test_the_api_takes_the_relationship_ended_event(db, database_url, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_api
    from core.access.api_keys import create_key
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    make_case(db, "K-4")
    key = create_key(db, "crm", scopes="events,read", acting_user="admin", actor="admin")
    secret = key.secret
    with TestClient(create_api()) as client:
        schema = client.get("/openapi.json").json()
        answer = client.post("/cases/K-4/events", json={"event": "relationship_ended"},
                             headers={"Authorization": f"Bearer {secret}"})
    assert "relationship_ended" in str(schema)
    assert answer.status_code == 200, answer.text
    with db.read() as s:
        assert s.get(Case, "K-4").retention_until is not None


def test_the_retention_page_is_for_admins(db, database_url, monkeypatch):
    make_case(db, "K-5")
    _ended_long_ago(db, "K-5")
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page("pages/retention.py").run()
    assert not at.exception, at.exception
    due = next(d for d in at.dataframe if d.value is not None and "Why" in d.value.columns)
    assert list(due.value["Case"]) == ["K-5"]
    at.text_input(key="ret_case").input("K-5")
    at.text_area(key="ret_reason").input("Regulator's request 12")
    next(b for b in at.button if b.label == "Apply").click()
    at.run()
    assert not at.exception and not errors(at), errors(at)
    held = [d.value for d in at.dataframe if d.value is not None and "Held by" in d.value.columns]
    assert held and list(held[0]["Why"]) == ["Regulator's request 12"]
    for role in ("reviewer", "lead"):  # not in their navigation: the page cannot be reached
        at = sign_in(new_app(monkeypatch, database_url), role)
        with pytest.raises(ValueError, match="navigation page"):
            at.switch_page("pages/retention.py")
