"""The examiner's case file (core/records/case_file*.py): what each profile holds, escaping,
determinism, the bundle's verification (a changed byte in any file is named), safe document
names, who may export, and that a PDF comes out."""
from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile

import pytest
from sqlalchemy import select

from core.access.users import set_disabled
from core.cases.actions import add_note
from core.cases.tags import add_tag
from core.cli.main import main as cli_main
from core.errors import InvalidInput, NotAllowed, NotFound
from core.intake.documents import store_blob
from core.records import access_log
from core.records.case_file import export_case_file, safe_name
from core.records.case_file_render import RefusingFetcher, render_pdf
from core.records.case_file_verify import verify_files
from core.records.retention import request_erasure
from core.store import audit
from core.store.models import AuditEvent, Document, DocumentFile, ScreeningHit, utcnow
from tests.factories import make_case, version_of

NOTE = "Internal: director looks like a nominee"
TRUE_MATCH_REASON = "Matches OFAC entry by birth date and passport"
HOSTILE = 'Acme <script>alert("x")</script> {{ 7*7 }} Ltd'


@pytest.fixture(autouse=True)
def signing_key(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKET_AUDIT_SIGNING_KEY", str(tmp_path / "keys" / "audit-signing.key"))


def _files(db, case_id: str, *filenames: str) -> None:
    """Two versions of each document's file; the first document's named `filenames`."""
    with db.unit_of_work() as s:
        for doc in s.scalars(select(Document).where(Document.case_id == case_id)):
            for version in (1, 2):
                sha = store_blob(s, b"%PDF-1.4 " + f"{doc.id}-{version}".encode() * 50,
                                 "application/pdf")
                name = filenames[version - 1] if filenames and doc.id == 1 else \
                    f"scan {doc.id}.pdf"
                s.add(DocumentFile(document_id=doc.id, version=version, filename=name,
                                   blob_sha256=sha, uploaded_by="applicant"))


def _case(db, name: str = "Acme Trading Ltd", *filenames: str) -> str:
    case_id = make_case(db, "C-1", documents=2, ubos=1, assignee="reviewer", name=name,
                        reviewed=True)
    _files(db, case_id, *filenames)
    add_note(db, case_id, NOTE, actor="reviewer", expected_version=version_of(db, case_id))
    add_tag(db, case_id, "suspicious", actor="reviewer", expected_version=version_of(db, case_id))
    now = utcnow()
    with db.unit_of_work() as s:
        s.add(ScreeningHit(case_id=case_id, subject_key="entity", subject_name=name,
                           source="api", dataset="OFAC SDN", entry_id="OFAC-1",
                           entry={"name": "ACME TRADING"}, score=92, matched_fields=["name"],
                           match_hash="a" * 64, first_seen_at=now, last_seen_at=now,
                           disposition="true_match", reason=TRUE_MATCH_REASON,
                           disposed_by="reviewer", disposed_at=now))
        audit.record(s, case_id=case_id, actor="reviewer", kind="screening.hit_dispositioned",
                     after={"hit": 1, "entry_id": "OFAC-1", "dataset": "OFAC SDN",
                            "subject": "entity", "disposition": "true_match",
                            "reason": TRUE_MATCH_REASON})
    return case_id


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {name: z.read(name) for name in z.namelist()}


def _export(db, profile="examiner", actor="lead", recipient="FCA examiner"):
    return export_case_file(db, "C-1", profile=profile, actor=actor, recipient=recipient)


def test_the_examiner_copy_has_everything_the_subject_access_copy_no_internal_marker(db):
    _case(db)
    examiner = _entries(_export(db).data)
    subject = _entries(_export(db, "subject-access", recipient="the applicant").data)
    ex_json, sa_json = json.loads(examiner["case.json"]), json.loads(subject["case.json"])
    assert [n["body"] for n in ex_json["notes"]] == [NOTE]
    assert "suspicious" in ex_json["case"]["tags"]
    assert ex_json["screening"][0]["hits"][0]["reason"] == TRUE_MATCH_REASON
    assert NOTE in examiner["case.html"].decode()
    assert sa_json["notes"] == [] and "suspicious" not in sa_json["case"]["tags"]
    hit = sa_json["screening"][0]["hits"][0]
    assert hit["dataset"] == "OFAC SDN" and hit["reason"] is None
    for name, data in subject.items():  # no file of the applicant's copy says any of it
        if name.endswith((".json", ".html")):
            text = data.decode()
            assert NOTE not in text and TRUE_MATCH_REASON not in text, name
            assert '"tag":"suspicious"' not in text, name
    assert sa_json["omitted"] and not ex_json["omitted"]
    assert ex_json["audit_proven_from"] == "seq 1"  # this database started with the chain
    assert "audit chain proves its events unchanged from seq 1" in examiner["case.html"].decode()
    kinds = {e["kind"] for e in json.loads(subject["audit/events.json"])}
    assert "note.added" not in kinds and "case.tagged" not in kinds
    assert {"note.added", "case.tagged"} <= {e["kind"] for e in json.loads(examiner["audit/events.json"])}


def test_case_data_is_escaped_in_the_html(db):
    _case(db, HOSTILE)
    html = _entries(_export(db).data)["case.html"].decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "{{ 7*7 }}" in html and ">49<" not in html


def test_the_pdf_fetches_nothing_and_has_pages(db):
    _case(db)
    result = _export(db)
    pdf = _entries(result.data)["case.pdf"]
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert result.pages >= 1
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True)
        pages = int(next(line.split()[-1] for line in info.stdout.decode().splitlines()
                         if line.startswith("Pages:")))
        assert pages == result.pages
    fetcher = RefusingFetcher()
    render_pdf('<p>x</p><img src="http://127.0.0.1:9/x.png">', fetcher)
    assert fetcher.refused == ["http://127.0.0.1:9/x.png"]


def test_re_exporting_an_unchanged_case_gives_the_same_manifest(db):
    _case(db)
    first = _export(db)
    access_log.case_viewed(db, "C-1", actor="admin")  # reading it changes no content
    second = _export(db, actor="admin", recipient="someone else")
    a, b = _entries(first.data), _entries(second.data)
    assert first.manifest_sha256 == second.manifest_sha256
    events = json.loads(a["audit/events.json"])
    assert events and all(e["seq"] and e["hash"] and e["body"] for e in events)
    assert a["manifest.json"] == b["manifest.json"] and a["case.pdf"] == b["case.pdf"]
    assert a["export.json"] != b["export.json"]  # who, when, for whom: the export's own
    exported = json.loads(b["access_log.json"])
    assert [e["after"]["recipient"] for e in exported if e["kind"] == "case.exported"] == \
        ["FCA examiner"]
    add_note(db, "C-1", "one more", actor="reviewer", expected_version=version_of(db, "C-1"))
    assert _export(db).manifest_sha256 != first.manifest_sha256


def test_each_export_is_recorded_with_its_manifest_and_recipient(db):
    _case(db)
    result = _export(db, recipient="Central Bank inspection 2024/7")
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "case.exported")).one()
    assert event.actor == "lead" and event.case_id == "C-1"
    assert event.after == {"profile": "examiner", "manifest_sha256": result.manifest_sha256,
                           "recipient": "Central Bank inspection 2024/7"}
    export = json.loads(_entries(result.data)["export.json"])
    assert export["manifest_sha256"] == result.manifest_sha256 and export["signed"] is True


def _flip(files: dict[str, bytes], name: str) -> dict[str, bytes]:
    data = bytearray(files[name])
    i = len(data) // 2
    data[i] = data[i] ^ 0x01
    return {**files, name: bytes(data)}


def test_one_changed_byte_in_any_file_fails_and_names_the_file(db):
    _case(db)
    files = _entries(_export(db).data)
    assert verify_files(files)[0] == []
    assert len(files) >= 15
    for name in sorted(files):
        problems, _ = verify_files(_flip(files, name))
        assert [p[0] for p in problems] == [name], (name, problems)
    problems, _ = verify_files({**files, "documents/extra.pdf": b"x"})
    assert problems == [("documents/extra.pdf", "not in the manifest (added)")]
    gone = sorted(n for n in files if n.startswith("documents/"))[0]
    problems, _ = verify_files({k: v for k, v in files.items() if k != gone})
    assert problems == [(gone, "missing")]


def test_the_script_in_the_bundle_and_the_cli_check_it(db, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    _case(db)
    out = tmp_path / "case.zip"
    assert cli_main(["export-case", "C-1", "--profile", "examiner", "--out", str(out),
                     "--as", "lead", "--recipient", "examiner"]) == 0
    assert cli_main(["verify-bundle", str(out)]) == 0
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(out) as z:
        z.extractall(folder)
    run = subprocess.run([sys.executable, "verify_bundle.py"], cwd=folder, capture_output=True,
                         text=True)
    assert run.returncode == 0 and "signatures verified" in run.stdout, run.stdout + run.stderr
    assert "audit events proven in the checkpoint" in run.stdout
    no_crypto = ("import sys, runpy; sys.modules['cryptography'] = None; "
                 "sys.argv = ['verify_bundle.py']; runpy.run_path('verify_bundle.py', "
                 "run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", no_crypto], cwd=folder, capture_output=True,
                         text=True)
    assert run.returncode == 0 and "not installed" in run.stdout, run.stdout + run.stderr
    pdf = folder / "case.pdf"
    pdf.write_bytes(pdf.read_bytes()[:-40] + b"X" + pdf.read_bytes()[-39:])
    run = subprocess.run([sys.executable, "verify_bundle.py"], cwd=folder, capture_output=True,
                         text=True)
    assert run.returncode == 1 and "CHANGED: case.pdf" in run.stdout
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, data + b" " if info.filename == "case.json" else data)
    assert cli_main(["verify-bundle", str(tampered)]) == 1
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    assert cli_main(["verify-bundle", str(tmp_path / "junk.zip")]) == 2


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "passwd"), ("..\\..\\windows\\win.ini", "win.ini"),
    ("/abs/path/x.pdf", "x.pdf"), ("..", "file"), ("", "file"), (".hidden", "hidden"),
    ("a<b>:c|d?.pdf", "a_b_c_d_.pdf"), ("x" * 300 + ".pdf", "x" * 96 + ".pdf")])
def test_file_names_are_only_names(name, safe):
    assert safe_name(name) == safe


def test_path_traversal_in_a_file_name_is_neutralised_in_the_zip(db):
    _case(db, "Acme Trading Ltd", "../../etc/passwd", "..\\..\\evil.exe")
    files = _entries(_export(db).data)
    names = [n for n in files if n.startswith("documents/1-")]
    assert sorted(n.rsplit("/", 1)[1] for n in names) == ["1-passwd", "2-evil.exe"]
    for name in files:
        assert not name.startswith("/") and ".." not in name.split("/") and "\\" not in name


@pytest.mark.parametrize("actor", ["reviewer", "analyst", "nobody"])
def test_only_team_leads_and_admins_export(db, actor):
    _case(db)
    with pytest.raises(NotAllowed):
        _export(db, actor=actor)
    set_disabled(db, "lead", True, actor="admin")
    with pytest.raises(NotAllowed):
        _export(db, actor="lead")
    with pytest.raises(InvalidInput):
        _export(db, actor="admin", recipient="  ")
    with pytest.raises(InvalidInput):
        _export(db, profile="everything", actor="admin")
    with db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.kind == "case.exported")).all() == []
    assert _export(db, actor="admin").signed


def test_a_case_restricted_by_an_erasure_request_is_exported_by_admins_only(db):
    _case(db)
    assert request_erasure(db, "C-1", actor="admin", reason="GDPR Art. 17 request") == "deferred"
    with pytest.raises(NotFound):
        _export(db, actor="lead")
    assert _export(db, actor="admin").signed
