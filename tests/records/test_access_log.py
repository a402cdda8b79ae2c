"""The access log (core/records/access_log.py): a case's views throttled to once per user, case
and 15 minutes; every download with its file's hash; a searched query kept only as a keyed
hash; one event per export; the "who looked" read refused to reviewers and analysts."""
from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from core.access.users import set_disabled
from core.cases.history import describe
from core.errors import InvalidInput, NotAllowed, NotFound
from core.intake.documents import add_file_version
from core.records import access_log as al
from core.store.models import AuditEvent, Document, FileBlob, utcnow
from core.worklist.export_links import create_export_link, redeem_export_link
from core.worklist.query import CaseFilter
from tests.factories import make_case

KEY = b"k" * 32


def _events(db, kind: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                              .order_by(AuditEvent.id)))


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(out, format="PNG")
    return out.getvalue()


def _file(db, case_id: str = "C-1") -> int:
    with db.unit_of_work() as s:
        doc = s.scalars(select(Document).where(Document.case_id == case_id)).first()
        return add_file_version(s, doc, "certificate.png", _png(), "applicant").id


# --- case.viewed ------------------------------------------------------------------------------

def test_a_view_is_recorded_once_per_user_and_case_within_fifteen_minutes(db):
    make_case(db, "C-1")
    make_case(db, "C-2")
    t0 = utcnow()
    assert al.case_viewed(db, "C-1", actor="reviewer", now=t0) is True
    assert al.case_viewed(db, "C-1", actor="reviewer", now=t0) is False  # a rerun
    assert al.case_viewed(db, "C-1", actor="reviewer", now=t0 + timedelta(minutes=14)) is False
    assert al.case_viewed(db, "C-1", actor="analyst", now=t0) is True      # per user
    assert al.case_viewed(db, "C-2", actor="reviewer", now=t0) is True     # per case
    assert al.case_viewed(db, "C-1", actor="reviewer",
                          now=t0 + timedelta(minutes=15, seconds=1)) is True
    views = [(e.case_id, e.actor) for e in _events(db, al.VIEWED)]
    assert views == [("C-1", "reviewer"), ("C-1", "analyst"), ("C-2", "reviewer"),
                     ("C-1", "reviewer")]


def test_a_view_of_no_case_or_by_a_disabled_user_is_refused_and_not_recorded(db):
    make_case(db, "C-1")
    with pytest.raises(NotFound):
        al.case_viewed(db, "NOPE", actor="reviewer")
    set_disabled(db, "reviewer", True)
    with pytest.raises(NotAllowed):
        al.case_viewed(db, "C-1", actor="reviewer")
    assert _events(db, al.VIEWED) == []


def test_the_throttle_looks_only_at_the_newest_events_of_the_case(db, monkeypatch):
    make_case(db, "C-1")
    monkeypatch.setattr(al, "LOOK_BACK", 2)
    assert al.case_viewed(db, "C-1", actor="reviewer")
    assert al.case_viewed(db, "C-1", actor="analyst")
    assert not al.case_viewed(db, "C-1", actor="reviewer")  # within the newest two
    assert al.case_viewed(db, "C-1", actor="admin")
    assert al.case_viewed(db, "C-1", actor="lead")
    # reviewer's view fell out of the newest two: recorded again (a repeat, never a loss)
    assert al.case_viewed(db, "C-1", actor="reviewer")


# --- document.downloaded ----------------------------------------------------------------------

def test_every_download_is_recorded_with_the_version_and_the_files_hash(db):
    make_case(db, "C-1")
    file_id = _file(db)
    first = al.document_downloaded(db, file_id, actor="analyst")
    al.document_downloaded(db, file_id, actor="analyst")
    events = _events(db, al.DOWNLOADED)
    assert len(events) == 2 and {e.case_id for e in events} == {"C-1"}
    with db.read() as s:
        blob = s.scalar(select(FileBlob.sha256))
    assert events[0].after == first
    assert (first["version"], first["filename"], first["sha256"]) == (1, "certificate.png", blob)
    sentence = describe({"actor": "analyst", "kind": al.DOWNLOADED, "after": first})
    assert sentence.startswith("analyst downloaded certificate.png version 1 of ")
    with pytest.raises(NotFound):
        al.document_downloaded(db, file_id + 99, actor="analyst")


# --- search.performed -------------------------------------------------------------------------

def test_a_search_is_kept_as_a_keyed_hash_never_as_its_text(db):
    assert al.search_performed(db, "Jane Hedgerow", actor="reviewer", key=KEY)
    [event] = _events(db, al.SEARCHED)
    stored = json.dumps({c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns},
                        default=str).lower()
    assert "jane" not in stored and "hedgerow" not in stored
    assert event.case_id is None
    assert event.after["query_hash"] == al.query_hash("jane hedgerow", KEY)
    assert event.after["query_hash"] != al.query_hash("jane hedgerow", b"x" * 32)
    assert event.after["key_id"] == al.key_id(KEY) and "k" * 8 not in event.after["key_id"]


def test_a_search_is_recorded_once_per_user_and_query_within_fifteen_minutes(db):
    t0 = utcnow()
    assert al.search_performed(db, "acme", actor="reviewer", key=KEY, now=t0)
    assert not al.search_performed(db, "  ACME ", actor="reviewer", key=KEY, now=t0)
    assert not al.search_performed(db, "acme", actor="reviewer", key=KEY,
                                   now=t0 + timedelta(minutes=14))
    assert al.search_performed(db, "acme", actor="analyst", key=KEY, now=t0)
    assert al.search_performed(db, "acme ltd", actor="reviewer", key=KEY, now=t0)
    assert al.search_performed(db, "acme", actor="reviewer", key=KEY,
                               now=t0 + timedelta(minutes=16))
    assert not al.search_performed(db, "   ", actor="reviewer", key=KEY)  # no search
    assert len(_events(db, al.SEARCHED)) == 4


def test_who_searched_for_a_name_is_answered_only_with_the_key(db):
    al.search_performed(db, "Jane Hedgerow", actor="reviewer", key=KEY)
    al.search_performed(db, "someone else", actor="analyst", key=KEY)
    [seen] = al.was_searched(db, "jane  HEDGEROW", key=KEY, actor="lead")
    assert (seen.username, seen.where) == ("reviewer", "case list")
    assert al.was_searched(db, "Jane Hedgerow", key=b"x" * 32) == []
    assert al.was_searched(db, "Jane", key=KEY) == []  # the whole query, not a part
    with pytest.raises(NotAllowed):
        al.was_searched(db, "Jane Hedgerow", key=KEY, actor="reviewer")


def test_the_search_key_comes_from_the_installs_cookie_key(monkeypatch, tmp_path):
    monkeypatch.setattr("core.access.auth_settings.SECRETS_FILE", tmp_path / "none.toml")
    monkeypatch.setenv("DOCKET_COOKIE_KEY", "")
    assert al.search_key() is None
    monkeypatch.setenv("DOCKET_COOKIE_KEY", "c" * 48)
    key = al.search_key()
    assert key is not None and len(key) == 32 and b"c" * 48 not in key
    monkeypatch.setenv("DOCKET_COOKIE_KEY", "d" * 48)
    assert al.search_key() != key


# --- exports ----------------------------------------------------------------------------------

def test_a_list_export_is_one_event_with_the_row_count_and_no_search_text(db):
    for i in range(3):
        make_case(db, f"C-{i}", name=f"Hedgerow {i} Ltd")
    token = create_export_link(db, actor="analyst", flt=CaseFilter(search="Hedgerow"))
    redeem_export_link(db, token)
    [event] = _events(db, al.LIST_EXPORTED)
    assert event.case_id is None and event.actor == "analyst"
    assert event.after["rows"] == 3
    assert event.after["filter"]["searched"] is True
    assert "hedgerow" not in json.dumps(event.after).lower()


def test_a_case_file_export_is_recorded_with_its_manifest_and_recipient(db):
    make_case(db, "C-1")
    digest = "ab" * 32
    with db.unit_of_work() as s:
        al.case_exported(s, case_id="C-1", actor="lead", profile="examiner",
                         manifest_sha256=digest, recipient="  FCA   examiner ")
    [event] = _events(db, al.EXPORTED)
    assert (event.case_id, event.after) == ("C-1", {"profile": "examiner",
                                                     "manifest_sha256": digest,
                                                     "recipient": "FCA examiner"})
    assert describe({"actor": "lead", "kind": al.EXPORTED, "after": event.after}) == \
        "lead exported the case file (examiner) for FCA examiner"
    for bad in ({"profile": "everything"}, {"manifest_sha256": "AB" * 32},
                {"recipient": " "}):
        args = {"profile": "examiner", "manifest_sha256": digest, "recipient": "x", **bad}
        with pytest.raises(InvalidInput), db.unit_of_work() as s:
            al.case_exported(s, case_id="C-1", actor="lead", **args)
    assert len(_events(db, al.EXPORTED)) == 1


# --- who looked at this case ------------------------------------------------------------------

def test_who_looked_is_for_leads_and_admins_only(db):
    make_case(db, "C-1")
    for refused in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            al.case_access_log(db, "C-1", viewer=refused)
    assert al.case_access_log(db, "C-1", viewer="lead").viewers == []
    assert al.case_access_log(db, "C-1", viewer="admin").entries == []
    with pytest.raises(NotFound):
        al.case_access_log(db, "NOPE", viewer="admin")


def test_who_looked_counts_views_per_person_and_lists_downloads_and_exports_newest_first(db):
    make_case(db, "C-1")
    make_case(db, "C-2")
    file_id = _file(db)
    t0 = utcnow()
    al.case_viewed(db, "C-1", actor="reviewer", now=t0)
    al.case_viewed(db, "C-1", actor="reviewer", now=t0 + timedelta(minutes=20))
    al.case_viewed(db, "C-1", actor="analyst", now=t0 + timedelta(minutes=20))
    al.case_viewed(db, "C-2", actor="admin")
    al.document_downloaded(db, file_id, actor="analyst")
    with db.unit_of_work() as s:
        al.case_exported(s, case_id="C-1", actor="lead", profile="subject-access",
                         manifest_sha256="0" * 64, recipient="the applicant")
    log = al.case_access_log(db, "C-1", viewer="lead")
    assert [(v.username, v.name, v.times) for v in log.viewers] == \
        [("analyst", "Ana Analyst", 1), ("reviewer", "Rui Reviewer", 2)]  # latest view first
    assert [e.kind for e in log.entries] == [al.EXPORTED, al.DOWNLOADED]
    assert log.entries[1].after["file_id"] == file_id
    assert len(al.case_access_log(db, "C-1", viewer="lead", limit=1).entries) == 1


def test_the_timeline_everyone_sees_leaves_the_access_log_out(db):
    from core.cases.read import case_detail, events_since
    make_case(db, "C-1")
    file_id = _file(db)
    al.case_viewed(db, "C-1", actor="lead")
    al.document_downloaded(db, file_id, actor="lead")
    seen = {e["kind"] for e in case_detail(db, "C-1", "reviewer").timeline}
    seen |= {e["kind"] for e in events_since(db, "C-1", 0)}
    assert not seen & al.ACCESS_KINDS
