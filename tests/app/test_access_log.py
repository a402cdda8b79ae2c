"""The access log on the Cases page (ui/access_log_panel.py) through AppTest: opening a case and
searching are recorded once however often the page re-runs, a download only when the file is
fetched, and "Who looked at this case" is shown to leads and admins, not to reviewers."""
from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select

from core.access.users import get_user
from core.intake.documents import add_file_version
from core.records import access_log
from core.store.models import AuditEvent, Document
from tests.app.harness import new_app, sign_in, texts
from tests.factories import make_case
from ui.access_log_panel import recorded_download

HEADING = "#### Who looked at this case"


def _events(db, kind: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.kind == kind)
                              .order_by(AuditEvent.id)))


def _table(at, column: str):
    """The shown table with this column (None: no such table)."""
    return next((d.value for d in at.dataframe
                 if d.value is not None and column in d.value.columns), None)


def _open(monkeypatch, database_url, role: str, case_id: str = "C-1"):
    return sign_in(new_app(monkeypatch, database_url, query={"case": case_id}), role)


def _with_a_file(db, case_id: str = "C-1") -> int:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "olive").save(out, format="PNG")
    with db.unit_of_work() as s:
        doc = s.scalars(select(Document).where(Document.case_id == case_id)).first()
        return add_file_version(s, doc, "deed.png", out.getvalue(), "applicant").id


def test_a_lead_sees_who_looked_and_reruns_record_one_view(db, database_url, monkeypatch):
    make_case(db, "C-1", name="Acme Trading Ltd")
    file_id = _with_a_file(db)
    access_log.case_viewed(db, "C-1", actor="reviewer")
    access_log.document_downloaded(db, file_id, actor="reviewer")
    at = _open(monkeypatch, database_url, "lead")
    for _ in range(3):
        at.run()
    assert not at.exception
    assert [e.actor for e in _events(db, access_log.VIEWED)] == ["reviewer", "lead"]
    assert _events(db, access_log.DOWNLOADED)[0].actor == "reviewer"  # drawing is no download
    assert len(_events(db, access_log.DOWNLOADED)) == 1
    assert HEADING in texts(at)
    viewers = _table(at, "Last viewed")
    assert set(viewers["Username"]) == {"lead", "reviewer"}
    assert dict(zip(viewers["Username"], viewers["Times"])) == {"lead": 1, "reviewer": 1}
    entries = _table(at, "What")
    assert list(entries["What"]) == ["reviewer downloaded deed.png version 1 of "
                                     "Certificate of incorporation"]


def test_a_reviewer_is_recorded_but_sees_no_access_log(db, database_url, monkeypatch):
    make_case(db, "C-1")
    at = _open(monkeypatch, database_url, "reviewer")
    at.run()
    assert not at.exception
    assert [e.actor for e in _events(db, access_log.VIEWED)] == ["reviewer"]
    assert HEADING not in texts(at)
    assert _table(at, "Last viewed") is None and _table(at, "What") is None


def test_the_download_button_records_when_the_file_is_fetched(db, database_url, monkeypatch):
    make_case(db, "C-1")
    file_id = _with_a_file(db)
    at = _open(monkeypatch, database_url, "analyst")
    assert not at.exception and _events(db, access_log.DOWNLOADED) == []
    user = get_user(db, "analyst")
    fetch = recorded_download(db, user, file_id, b"bytes")
    assert _events(db, access_log.DOWNLOADED) == []  # made, not fetched
    assert fetch() == b"bytes"
    [event] = _events(db, access_log.DOWNLOADED)
    assert (event.actor, event.case_id, event.after["file_id"]) == ("analyst", "C-1", file_id)


def test_a_search_is_recorded_once_as_a_keyed_hash(db, database_url, monkeypatch):
    make_case(db, "C-1", name="Hedgerow Holdings Ltd")
    at = sign_in(new_app(monkeypatch, database_url), "reviewer")
    at.text_input(key="f_search").input("Hedgerow").run()
    at.run()
    assert not at.exception
    [event] = _events(db, access_log.SEARCHED)
    assert event.actor == "reviewer" and "hedgerow" not in str(event.after).lower()
    assert event.after["query_hash"] == access_log.query_hash("hedgerow",
                                                              access_log.search_key())
