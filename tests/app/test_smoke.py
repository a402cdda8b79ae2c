"""Every page for every role runs without an exception, including a full case preview
(documents with image and PDF files, UBO KYC blocks, processes, enriched data, notes)."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from core.cases import actions as case_actions
from core.intake.documents import add_file_version
from core.store.models import Case, Document
from tests.app.harness import new_app, open_case, sign_in
from tests.factories import make_case, version_of

ROLES = ("analyst", "reviewer", "lead", "admin")
# Written out here, not taken from ui.navigation (the code under test); the simulator is on.
EVERYONE = ("pages/cases.py", "pages/overview.py")
PAGES_BY_ROLE = {
    "analyst": EVERYONE,
    "reviewer": (*EVERYONE, "pages/simulator.py"),
    "lead": (*EVERYONE, "pages/workload.py"),
    "admin": (*EVERYONE, "pages/workload.py", "pages/admin_views.py", "pages/admin_workflows.py",
              "pages/admin_users.py", "pages/import_cases.py", "pages/simulator.py",
              "pages/settings.py", "pages/deliveries.py"),
}


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, format="PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _rich_case(db) -> None:
    make_case(db, "R-1", assignee="reviewer", documents=2, ubos=2, processes=("completed",),
              name="Rich *Markdown* [link](http://x) :red[red]")
    with db.unit_of_work() as s:
        case = s.get(Case, "R-1")
        case.enriched_data = {"risk": "low", "sources": ["a", "b"]}
        docs = s.query(Document).filter(Document.case_id == "R-1").all()
        add_file_version(s, docs[0], "certificate.png", _png(), "applicant")
        add_file_version(s, docs[0], "certificate-v2.png", _png()[:-1] + b"\x00", "applicant")
        add_file_version(s, docs[1], "passport.pdf", PDF, "applicant")
        docs[1].ubo_id = case.ubos[0].id
    case_actions.add_note(db, "R-1", "first note\n<b>not bold</b>", actor="reviewer",
                          expected_version=version_of(db, "R-1"))


@pytest.mark.parametrize("role", ROLES)
def test_every_page_runs_for_every_role(db, database_url, monkeypatch, role):
    monkeypatch.setenv("DOCKET_SIMULATOR", "on")
    _rich_case(db)
    at = sign_in(new_app(monkeypatch, database_url), role)
    assert not at.exception
    for path in PAGES_BY_ROLE[role]:
        at.switch_page(path).run()
        assert not at.exception, (role, path, at.exception)
    at.switch_page("pages/cases.py").run()
    open_case(at, "R-1")
    assert not at.exception, at.exception
    assert any("KYC" in e.label for e in at.expander)
