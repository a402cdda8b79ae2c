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
from ui.navigation import PAGES, specs_for

ROLES = ("analyst", "reviewer", "admin")


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
    _rich_case(db)
    at = sign_in(new_app(monkeypatch, database_url), role)
    assert not at.exception
    for spec in PAGES:
        if spec not in specs_for(role):
            continue
        at.switch_page(spec.path).run()
        assert not at.exception, (role, spec.path, at.exception)
    at.switch_page("pages/cases.py").run()
    open_case(at, "R-1")
    assert not at.exception, at.exception
    assert any("KYC" in e.label for e in at.expander)
