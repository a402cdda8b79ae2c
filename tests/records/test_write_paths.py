"""Every service function that writes leaves chained audit events (seq set), and no event is
ever left unchained. One row of WRITERS per writer: a new writer is one more line."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select

from core.access import api_keys, users
from core.cases import commands
from core.intake.events import complete_collection
from core.intake.importer import import_cases
from core.records.verify import verify_chain
from core.screening.dispositions import disposition_hit
from core.screening.lists import load_list
from core.settings_store import set_setting
from core.store.models import AuditEvent
from core.workflows.admin import get_workflow, save_workflow
from core.worklist.export_links import create_export_link, redeem_export_link
from core.worklist.query import CaseFilter
from core.worklist.views import save_view
from tests.factories import make_case, version_of
from tests.screening.helpers import ENTRY, hits_of, screen, ubo_case

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LISTS = Path(__file__).resolve().parents[2] / "core" / "demo" / "lists"


def _case(db, **kw) -> str:
    return make_case(db, "C-1", assignee="reviewer", **kw)


def _cmd(command: str, **kw) -> Callable:
    def run(db):
        commands.perform(db, "C-1", command, actor=kw.pop("actor", "reviewer"),
                         expected_version=version_of(db, "C-1"), **kw)
    return run


def _screened(db):
    case_id, subject = ubo_case(db)
    screen(db, case_id, subject, ENTRY)


def _workflow(db):
    definition = get_workflow(db, "onboarding")
    definition["title"] = "Onboarding (changed)"
    save_workflow(db, definition, actor="admin")


WRITERS: list[tuple[str, Callable | None, Callable]] = [
    # (name, set-up (its events are not counted), the write)
    ("case created", None, lambda db: _case(db)),
    ("approve", lambda db: _case(db, reviewed=True), _cmd("approve")),
    ("reject", _case, _cmd("reject", reason="fraud")),
    ("approve block", _case, lambda db: _cmd("approve-block", block=_doc(db))(db)),
    ("ask to reupload", _case,
     lambda db: _cmd("ask-to-reupload", block=_doc(db), reason="Blurry")(db)),
    ("ask for reuploads", _case, lambda db: (
        _cmd("ask-to-reupload", block=_doc(db), reason="Blurry")(db),
        _cmd("ask-for-reuploads")(db))),
    ("note", _case, _cmd("note", text="looked at it")),
    ("assign", lambda db: make_case(db, "C-1"), _cmd("assign", to="reviewer")),
    ("tag", _case, _cmd("tag", tag="vip", actor="admin")),
    ("edit user data", _case, _cmd("edit", changes={"industry": "retail"})),
    ("edit subject", _case, _cmd("edit-subject", subject="entity",
                                 changes={"name": "Acme Holdings Ltd"})),
    ("api key add", None, lambda db: api_keys.create_key(db, "crm", scopes=["read"],
                                                         acting_user="admin", actor="admin")),
    ("api key revoke", lambda db: api_keys.create_key(db, "crm", scopes=["read"],
                                                      acting_user="admin", actor="admin"),
     lambda db: api_keys.revoke_key(db, "crm", actor="admin")),
    ("user add", None, lambda db: users.add_user(db, "zoe", "Zoe", "reviewer",
                                                 "a long enough password 1", actor="admin")),
    ("user role", None, lambda db: users.set_role(db, "reviewer2", "lead", actor="admin")),
    ("user disable", None, lambda db: users.set_disabled(db, "reviewer2", True, actor="admin")),
    ("workflow save", None, _workflow),
    ("view save", None, lambda db: save_view(db, "Mine", ["onboarding"], [], actor="admin")),
    ("setting save", None, lambda db: set_setting(db, "uploads.max_bytes", "20000000", actor="admin")),
    ("export (link redeemed)", lambda db: make_case(db, "C-1"),  # audited when redeemed
     lambda db: redeem_export_link(db, create_export_link(db, actor="analyst",
                                                          flt=CaseFilter()))),
    ("screening recorded", None, _screened),
    ("screening disposition", _screened, lambda db: disposition_hit(
        db, hits_of(db, "S-1")[0].id, "false_positive", "Different person", actor="reviewer",
        expected_version=version_of(db, "S-1"))),
    ("import (many events at once)", None, lambda db: import_cases(
        db, (EXAMPLES / "cases.json").read_bytes(), actor="admin")),
    ("outside event", lambda db: make_case(db, "C-1", collection_completed=False),
     lambda db: complete_collection(db, "C-1")),
    ("list load", None, lambda db: load_list(db, "demo-sanctions",
                                             (LISTS / "demo_sanctions.csv").read_bytes(),
                                             fmt="opensanctions", actor="admin")),
]


def _doc(db) -> str:
    from core.cases.read import case_detail
    return f"document:{case_detail(db, 'C-1', 'admin').documents[0].id}"


def _last_seq(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.max(AuditEvent.seq))) or 0


def _unchained(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))


@pytest.mark.parametrize("name,setup,write", WRITERS, ids=[w[0] for w in WRITERS])
def test_each_writer_leaves_chained_events(db, name, setup, write):
    if setup:
        setup(db)
    before = _last_seq(db)
    write(db)
    assert _last_seq(db) > before, f"{name} left no chained audit event"
    assert _unchained(db) == 0
    report = verify_chain(db)
    assert report.ok, [str(f) for f in report.findings]
