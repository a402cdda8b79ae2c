"""Every service function that writes leaves chained audit events (seq set), and no event is
ever left unchained. One row of WRITERS (or MORE_WRITERS, tests/records/write_path_rows.py) per
writer: a new writer is one more line.

The writers are *discovered*, not remembered: tests/records/writer_scan.py reads `core/` for
every public function that opens a write or records an audit event, and
`test_every_discovered_writer_is_in_the_table_or_exempt` fails naming a writer that is
neither exercised by a row (each row names the writers it exercises, and its test checks they
ran) nor in EXEMPT with its reason."""
from __future__ import annotations

import importlib
import inspect
import sys
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
from tests.records.write_path_exemptions import EXEMPT
from tests.records.write_path_rows import MORE_WRITERS, _state
from tests.records.writer_scan import discover_writers, scan_source
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


# The discovered writers (tests/records/writer_scan.py) each row of WRITERS exercises; the
# rows of MORE_WRITERS name theirs in the row. The test checks each one ran.
C, N = "core.cases.", "core.notifications."
COMMAND = (C + "actions.case_command", C + "state.refresh_status")
DECISION = (*COMMAND, C + "sla_clock.restart_clock", N + "fanout.expand", N + "outbox.enqueue")
COVERS: dict[str, tuple[str, ...]] = {
    "case created": (C + "sla_clock.restart_clock", C + "state.refresh_status"),
    "approve": DECISION,
    "reject": (*DECISION, C + "approvals.withdraw", C + "retention_state.end_relationship"),
    "approve block": (*COMMAND, C + "actions.approve_block"),
    "ask to reupload": (*COMMAND, C + "actions.ask_to_reupload_block"),
    "ask for reuploads": (*DECISION, C + "actions.ask_to_reupload_block"),
    "note": (*COMMAND, C + "actions.add_note"),
    "assign": COMMAND,
    "tag": COMMAND,
    "edit user data": (*COMMAND, C + "actions.edit_user_data", C + "case_keys.refresh_case_keys"),
    "edit subject": (*COMMAND, C + "subjects.edit_subject", C + "case_keys.refresh_case_keys",
                     C + "screening_queue.enqueue"),
    "api key add": ("core.access.api_keys.create_key",),
    "api key revoke": ("core.access.api_keys.revoke_key",),
    "user add": ("core.access.users.add_user",),
    "user role": ("core.access.users.set_role",),
    "user disable": ("core.access.users.set_disabled",),
    "workflow save": ("core.workflows.admin.save_workflow",),
    "view save": ("core.worklist.views.save_view",),
    "setting save": ("core.settings_store.set_settings",),
    "export (link redeemed)": ("core.worklist.export_links.create_export_link",
                               "core.worklist.export_links.redeem_export_link"),
    "screening recorded": (C + "sla_clock.restart_clock", C + "state.refresh_status",
                           "core.screening.hits.record_screening", "core.screening.hits.record_in"),
    "screening disposition": (*COMMAND, "core.screening.dispositions.disposition_hit"),
    "import (many events at once)": ("core.intake.importer.import_cases",
                                     "core.intake.documents.store_blob"),
    "outside event": (C + "sla_clock.restart_clock", C + "state.refresh_status",
                      "core.intake.events.complete_collection"),
    "list load": ("core.screening.lists.load_list", C + "screening_queue.enqueue_rescreen_all"),
}
ROWS = [(name, COVERS.get(name, ()), setup, write) for name, setup, write in WRITERS] \
    + MORE_WRITERS


def _doc(db) -> str:
    from core.cases.read import case_detail
    return f"document:{case_detail(db, 'C-1', 'admin').documents[0].id}"


def _last_seq(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.max(AuditEvent.seq))) or 0


def _unchained(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))


def _code_of(qualname: str):
    """The code object of a discovered writer ("core.pkg.module.func" or "...Class.method")."""
    parts = qualname.split(".")
    for cut in range(len(parts) - 1, 1, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return inspect.unwrap(target).__code__
    raise LookupError(qualname)


def _calls(write: Callable, db) -> set:
    """The code objects called (in this thread) while `write(db)` runs."""
    called: set = set()

    def profile(frame, event, _arg):
        if event == "call":
            called.add(frame.f_code)

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        write(db)
    finally:
        sys.setprofile(previous)
    return called


@pytest.mark.parametrize("name,covers,setup,write", ROWS, ids=[r[0] for r in ROWS])
def test_each_writer_leaves_chained_events(db, monkeypatch, tmp_path, name, covers, setup,
                                           write):
    monkeypatch.setenv("DOCKET_DEMO_MODE", "off")  # sign-in rows: no demo exemption
    monkeypatch.setenv("DOCKET_AUDIT_SIGNING_KEY", str(tmp_path / "audit.key"))
    _state.clear()
    if setup:
        setup(db)
    before = _last_seq(db)
    called = _calls(write, db)
    assert _last_seq(db) > before, f"{name} left no chained audit event"
    assert _unchained(db) == 0
    report = verify_chain(db)
    assert report.ok, [str(f) for f in report.findings]
    not_run = [w for w in covers if _code_of(w) not in called]
    assert not not_run, f"{name} names writers it did not run: {not_run}"


def unlisted(discovered: dict[str, list[str]]) -> list[str]:
    """The discovered writers neither a row exercises nor EXEMPT explains."""
    covered = {w for _, covers, _, _ in ROWS for w in covers}
    return sorted(set(discovered) - covered - set(EXEMPT))


def test_every_discovered_writer_is_in_the_table_or_exempt():
    discovered = discover_writers()
    missing = unlisted(discovered)
    assert not missing, (
        "writers with neither a row in WRITERS/MORE_WRITERS (tests/records/write_path_rows.py) "
        "nor a reason in EXEMPT (tests/records/write_path_exemptions.py): "
        + "; ".join(f"{w} ({', '.join(sorted(set(discovered[w])))})" for w in missing))
    covered = {w for _, covers, _, _ in ROWS for w in covers}
    stale = sorted((covered | set(EXEMPT)) - set(discovered))
    assert not stale, f"named as writers but not found by the scan (renamed?): {stale}"
    assert not covered & set(EXEMPT), "a writer is both exercised and exempt"
    assert all(reason.strip() and "\n" not in reason for reason in EXEMPT.values())


def test_a_writer_nobody_listed_fails_the_scan():
    """The check above can fail: a module with a new writer (a unit of work, an audit event,
    a session add) that no row names and EXEMPT does not explain is reported, by name."""
    source = (
        "from core.store import audit\n"
        "def forget_everything(db, case_id):\n"
        "    with db.unit_of_work() as s:\n"
        "        s.execute(delete(Case).where(Case.id == case_id))\n"
        "def note_quietly(s, case_id):\n"
        "    audit.record(s, case_id=case_id, actor='x', kind='y')\n"
        "def _private_helper(s, row):\n"
        "    s.add(row)\n"
        "def reads_only(db):\n"
        "    with db.read() as s:\n"
        "        return s.scalars(select(Case)).all()\n")
    found = scan_source(source, "core.cases.sneaky")
    assert set(found) == {"core.cases.sneaky.forget_everything", "core.cases.sneaky.note_quietly"}
    assert unlisted({**discover_writers(), **found}) == sorted(found)
