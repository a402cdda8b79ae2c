"""Retention, legal hold and erasure (core/records/retention*.py): the proof that an erased
case's name and date of birth are nowhere — not in any table (a byte search of the SQLite
file after VACUUM; every text and JSON column on PostgreSQL), not in any export — while the
audit chain still verifies; and the refusals (hold, retention not over), the deferred
erasure request that restricts the case to admins, the dry run that changes nothing, the
second run that finds nothing to do."""
from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update

from core.cases import actions as ca
from core.cases.read import case_detail
from core.cases.related import related_cases
from core.errors import ActionNotAllowed, NotAllowed, NotFound
from core.intake.events import apply_event
from core.intake.importer import import_cases
from core.notifications import endpoints as ep
from core.records import access_log
from core.records.case_file import export_case_file
from core.records.retention import place_hold, release_hold, request_erasure, retention_plan
from core.records.retention_erase import erase_case, run_retention
from core.records.verify import verify_chain
from core.store import audit
from core.store.models import Base, Case, ScreeningHit, utcnow
from core.worklist.export import export_cases
from core.worklist.export_links import create_export_link
from core.worklist.query import CaseFilter, count_cases, list_cases
from tests.factories import version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, drain

NAME = "Zebulon Quixotewright"
DOB = "1961-07-23"
NEEDLES = (NAME, DOB, "Quixotewright", "quixotewright")
PERSON_EMAIL = "zq@quixotewright.example"


@pytest.fixture(autouse=True)
def settings(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://docket.example")
    monkeypatch.setenv("DOCKET_AUDIT_SIGNING_KEY", str(tmp_path / "keys" / "audit.key"))


def _import(db, case_id: str, name: str = NAME, dob: str = DOB, document: bytes | None = None):
    content = document or f"%PDF-1.4 passport of {name}, born {dob}".encode()
    import_cases(db, {"format_version": 1, "cases": [{
        "id": case_id, "workflow": "onboarding",
        "entity": {"type": "person", "name": name, "country": "GB", "email": PERSON_EMAIL,
                   "phone": "+44 20 7946 0999", "registration_number": "ZQ-61"},
        "collection_completed": True,
        "user_data": {"full_name": name, "born": dob},
        "registry_data": {"directors": [{"name": name, "born": dob}]},
        "ubos": [{"full_name": name, "email": PERSON_EMAIL, "date_of_birth": dob,
                  "nationality": "GB", "ownership_percent": 100,
                  "kyc": {"state": "completed", "result": {"vendor": "idcheck",
                                                          "name_seen": name}}}],
        "documents": [{"type": "passport", "properties": {"holder": name, "born": dob},
                       "file": {"filename": f"passport {name}.pdf",
                                "content_base64": base64.b64encode(content).decode()}}],
    }]}, actor="admin")


def _full_case(db, receiver) -> str:
    """The case the proof erases: entity, UBO, document, notes, a screening hit, a webhook
    delivered, a search for the name, a CSV export link, rejected (which ends the
    relationship), its retention then backdated to have passed."""
    case_id = "RT-1"
    _import(db, case_id)
    created = ep.create_endpoint(db, receiver.url, actor="admin")
    receiver.secrets.append(created.secret)
    ca.assign_case(db, case_id, "reviewer", actor="admin", expected_version=version_of(db, case_id))
    ca.add_note(db, case_id, f"Called {NAME} (born {DOB})", actor="reviewer",
                expected_version=version_of(db, case_id))
    now = utcnow()
    with db.unit_of_work() as s:
        s.add(ScreeningHit(case_id=case_id, subject_key="entity", subject_name=NAME,
                           source="api", dataset="PEP", entry_id="PEP-9",
                           entry={"name": NAME, "birth_dates": [DOB]}, score=97,
                           matched_fields=["name", "birth_date"], match_hash="b" * 64,
                           first_seen_at=now, last_seen_at=now, disposition="false_positive",
                           reason=f"{NAME} is not the PEP", disposed_by="reviewer",
                           disposed_at=now))
        audit.record(s, case_id=case_id, actor="reviewer", kind="screening.hit_dispositioned",
                     after={"hit": 1, "entry_id": "PEP-9", "dataset": "PEP",
                            "subject": "entity", "disposition": "false_positive",
                            "reason": f"{NAME} is not the PEP"})
    list_cases(db, CaseFilter(search=NAME))
    access_log.search_performed(db, NAME, actor="reviewer", key=b"k" * 32)
    create_export_link(db, actor="reviewer", flt=CaseFilter(search=NAME))
    ca.reject_case(db, case_id, actor="reviewer", expected_version=version_of(db, case_id),
                   reason=f"{NAME} gave a false date of birth {DOB}")
    drain(db)
    assert receiver.ok() and NAME.encode() in receiver.ok()[0]["body"]
    _retention_passed(db, case_id)
    return case_id


def _retention_passed(db, case_id: str) -> None:
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(
            relationship_ended_at=utcnow() - timedelta(days=6 * 366),
            retention_until=utcnow() - timedelta(days=1)))


def _found_in_bytes(data: bytes) -> dict[str, int]:
    return {n: data.count(n.encode()) for n in NEEDLES if data.count(n.encode())}


def _found_in_tables(db) -> dict[str, int]:
    """Every text and JSON column of every table (PostgreSQL), or the database file's bytes
    after VACUUM with the WAL truncated (SQLite)."""
    if db.is_sqlite:
        raw = db.write_engine.raw_connection()  # autocommit: VACUUM needs no transaction
        try:
            raw.cursor().execute("VACUUM")
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        path = Path(db.url.removeprefix("sqlite:///"))
        found: dict[str, int] = {}
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                for n, count in _found_in_bytes(file.read_bytes()).items():
                    found[f"{file.name}:{n}"] = count
        return found
    found = {}
    with db.read() as s:
        columns = s.execute(text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type IN "
            "('text', 'character varying', 'json', 'jsonb', 'tsvector', 'bytea')")).all()
        for table, column in columns:
            for n in NEEDLES:
                value = (f"encode(\"{column}\", 'escape')" if column == "content"
                         else f"\"{column}\"::text")
                count = s.scalar(text(f'SELECT count(*) FROM "{table}" WHERE '
                                      f"position(:n in {value}) > 0"), {"n": n})
                if count:
                    found[f"{table}.{column}:{n}"] = count
    return found


def _exports(db, case_id: str) -> dict[str, int]:
    found = {}
    csv = "".join(export_cases(db, CaseFilter(show_restricted=True), actor="admin"))
    found.update({f"csv:{k}": v for k, v in _found_in_bytes(csv.encode()).items()})
    bundle = export_case_file(db, case_id, profile="examiner", actor="admin", recipient="test")
    with zipfile.ZipFile(io.BytesIO(bundle.data)) as z:
        for name in z.namelist():
            found.update({f"zip/{name}:{k}": v for k, v in _found_in_bytes(z.read(name)).items()})
    detail = json.dumps(case_detail(db, case_id, "admin").to_json(), ensure_ascii=False)
    found.update({f"GET /cases:{k}": v for k, v in _found_in_bytes(detail.encode()).items()})
    return found


def _dump(db) -> dict[str, list]:
    with db.read() as s:
        return {t.name: sorted(map(repr, s.execute(t.select()).all()))
                for t in Base.metadata.sorted_tables}


def test_erasure_leaves_the_name_and_birth_date_nowhere_and_the_chain_verifies(db):
    receiver = Receiver(behaviour=lambda rec: (200, {}, rec["body"])).start()  # echoes back
    try:
        case_id = _full_case(db, receiver)
    finally:
        receiver.stop()
    assert _found_in_tables(db), "the proof must see the name before erasure"
    assert _exports(db, case_id)

    before = _dump(db)
    dry = run_retention(db, actor="admin")
    assert [r.case_id for r in dry.plan.due] == [case_id] and not dry.erased
    assert _dump(db) == before, "the dry run changed something"

    report = run_retention(db, apply=True, actor="admin")
    assert list(report.erased) == [case_id] and not report.refused
    counts = report.erased[case_id]
    assert counts["documents"] == 1 and counts["file_blobs"] == 1 and counts["ubos"] == 1
    assert counts["notes"] == 1 and counts["entity"] == 1 and counts["audit_values_cleared"] > 5

    assert _found_in_tables(db) == {}
    assert _exports(db, case_id) == {}
    chain = verify_chain(db)
    assert chain.ok, [str(f) for f in chain.findings]
    with db.read() as s:
        case = s.get(Case, case_id)
        assert case.case_status == "rejected" and case.erased_at is not None
        assert case.entity_name == "[erased]"
    timeline = case_detail(db, case_id, "admin")
    assert timeline.id == case_id

    again = run_retention(db, apply=True, actor="admin")
    assert not again.plan.due and not again.erased


def test_a_blob_shared_with_another_case_stays(db):
    shared = b"%PDF-1.4 the same file in two cases"
    _import(db, "RT-A", document=shared)
    _import(db, "RT-B", name="Other Person", dob="1970-01-01", document=shared)
    _retention_passed(db, "RT-A")
    counts = erase_case(db, "RT-A", actor="admin")
    assert counts["file_blobs"] == 0 and counts["file_blobs_shared_kept"] == 1
    detail = case_detail(db, "RT-B", "admin")
    assert detail.documents[0].files  # RT-B's file is still there


def test_hold_and_retention_not_over_refuse_and_change_nothing(db):
    _import(db, "RT-2")
    with pytest.raises(ActionNotAllowed, match="has not ended"):
        erase_case(db, "RT-2", actor="admin")
    apply_event(db, "RT-2", "relationship_ended", actor="crm")
    with db.read() as s:
        case = s.get(Case, "RT-2")
        assert case.retention_until.year == case.relationship_ended_at.year + 5
    before = _dump(db)
    with pytest.raises(ActionNotAllowed, match="runs until"):
        run_retention(db, apply=True, actor="admin", case_id="RT-2")
    assert _dump(db) == before
    _retention_passed(db, "RT-2")
    place_hold(db, "RT-2", actor="admin", reason="Litigation hold: matter 2024-17")
    before = _dump(db)
    with pytest.raises(ActionNotAllowed, match="legal hold.*matter 2024-17"):
        erase_case(db, "RT-2", actor="admin")
    dry = run_retention(db, actor="admin")
    assert [r.case_id for r in dry.plan.held] == ["RT-2"] and not dry.plan.due
    assert run_retention(db, apply=True, actor="admin").erased == {}
    assert _dump(db) == before
    with pytest.raises(NotAllowed):
        place_hold(db, "RT-2", actor="lead", reason="x")  # a team lead may not
    release_hold(db, "RT-2", actor="admin", reason="matter settled")
    assert list(run_retention(db, apply=True, actor="admin").erased) == ["RT-2"]
    before = _dump(db)  # an erased case takes no more outside events (they would bring data)
    with pytest.raises(ActionNotAllowed, match="was erased"):
        apply_event(db, "RT-2", "collection_completed", actor="portal")
    assert _dump(db) == before
    with pytest.raises(ActionNotAllowed):
        apply_event(db, "RT-2", "relationship_ended")


def test_a_deferred_request_restricts_the_case_to_admins_and_is_carried_out_later(db):
    _import(db, "RT-3")
    _import(db, "RT-4", name="Zebulon Quixotewright Jr", dob="1990-02-02")  # related: email
    apply_event(db, "RT-3", "relationship_ended")
    assert request_erasure(db, "RT-3", actor="admin", reason="Art. 17 request by email") == \
        "deferred"
    with pytest.raises(ActionNotAllowed, match="stands"):
        request_erasure(db, "RT-3", actor="admin", reason="again")
    # hidden from everyone but admins: the list, its counts, the case, related cases, actions
    assert "RT-3" not in [r.id for r in list_cases(db, CaseFilter()).rows]
    assert count_cases(db, CaseFilter()) == 1
    assert count_cases(db, CaseFilter(statuses=("manual_review", "pending_process",
                                                "collection_flow", "pending_id_verification",
                                                "revisions", "approved", "rejected"))) == 1
    assert "RT-3" in [r.id for r in list_cases(db, CaseFilter(show_restricted=True)).rows]
    for reader in ("reviewer", "analyst"):
        with pytest.raises(NotFound):
            case_detail(db, "RT-3", reader)
        with pytest.raises(NotFound):
            related_cases(db, "RT-3", reader)
    assert case_detail(db, "RT-3", "admin").id == "RT-3"
    assert "RT-3" not in [c.case_id for c in related_cases(db, "RT-4", "reviewer").cases]
    assert "RT-3" in [c.case_id for c in related_cases(db, "RT-4", "admin").cases]
    with pytest.raises(NotFound):
        ca.assign_case(db, "RT-3", "reviewer", actor="reviewer",
                       expected_version=version_of(db, "RT-3"))
    plan = retention_plan(db, actor="admin")
    assert [r.case_id for r in plan.not_over] == ["RT-3"] and not plan.due
    assert run_retention(db, apply=True, actor="admin").erased == {}
    _retention_passed(db, "RT-3")
    report = run_retention(db, apply=True, actor="admin")
    assert list(report.erased) == ["RT-3"] and report.erased["RT-3"]["erasure_requests"] == 1
    assert "RT-3" in [r.id for r in list_cases(db, CaseFilter()).rows]  # a tombstone now
    assert verify_chain(db).ok


def test_only_admins_manage_retention(db):
    _import(db, "RT-5")
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            request_erasure(db, "RT-5", actor=who, reason="x")
        with pytest.raises(NotAllowed):
            retention_plan(db, actor=who)
        with pytest.raises(NotAllowed):
            run_retention(db, apply=True, actor=who)


def test_erasure_passes_the_postgresql_audit_guard(db):
    """The append-only guard (core/store/audit_chain_guard.py) lets exactly this through:
    the key destroyed, then the readable values cleared."""
    if db.is_sqlite:
        pytest.skip("the audit log's guard is PostgreSQL's (SQLite has no roles)")
    from core.store.audit_chain_guard import protect_audit_log, unprotect_audit_log
    _import(db, "RT-6")
    _retention_passed(db, "RT-6")
    with db.write_engine.begin() as conn:
        protect_audit_log(conn)
    try:
        assert erase_case(db, "RT-6", actor="admin")["audit_values_cleared"] >= 1
    finally:
        with db.write_engine.begin() as conn:
            unprotect_audit_log(conn)
    assert verify_chain(db).ok
