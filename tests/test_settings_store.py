"""The limits an admin sets on the Settings page: the allow-list for private targets, the
re-upload link lifetime and the document upload limit. Each value is validated (a bad one is
refused with the reason, and nothing is stored), the environment is the default, and the
stored value is what the enforcing code uses: safe_http (deliveries, Send test, endpoints),
re-upload token expiry, core.intake.documents.check_upload (import, re-upload, document events)."""
from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import settings_store
from core.cases import actions as ca
from core.errors import InvalidInput, NotAllowed
from core.intake.checks import validate_import
from core.intake.events import upload_document
from core.intake.importer import import_cases
from core.notifications import endpoints as ep
from core.notifications import reupload_tokens, safe_http
from core.notifications.safe_http import UnsafeDestination
from core.store.models import AuditEvent, Document, StoredSetting
from tests.app.harness import errors, new_app, sign_in
from tests.factories import make_case, row_counts, version_of
from tests.receivers import Receiver, drain

PNG_HEAD = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEALnApQXFCNDEAAAAA"
    "SUVORK5CYII=")


def png(size: int) -> bytes:
    """A file read as PNG (by its first bytes) of exactly `size` bytes."""
    return PNG_HEAD + b"\0" * (size - len(PNG_HEAD))


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch):
    for env in ("DOCKET_OUTBOUND_ALLOWLIST", "DOCKET_REUPLOAD_LINK_DAYS",
                "DOCKET_MAX_UPLOAD_BYTES"):
        monkeypatch.delenv(env, raising=False)


def stored(db, key):
    with db.read() as s:
        row = s.get(StoredSetting, key)
        return None if row is None else row.value


# --- validation -------------------------------------------------------------------------------

@pytest.mark.parametrize("key, value, message", [
    ("outbound.allowlist", "10.0.0.0/8, 10.1.2.300/32", "'10.1.2.300/32' is not an IP network"),
    ("outbound.allowlist", "intranet.local", "'intranet.local' is not an IP network"),
    ("outbound.allowlist", "10.0.0.0/33", "'10.0.0.0/33' is not an IP network"),
    ("outbound.allowlist", "0.0.0.0/0", "would allow every address"),
    ("outbound.allowlist", "::/0", "would allow every address"),
    ("reupload.link_days", "0", "from 1 to 90 days"),
    ("reupload.link_days", "91", "from 1 to 90 days"),
    ("reupload.link_days", "two weeks", "from 1 to 90 days"),
    ("reupload.link_days", "", "from 1 to 90 days"),
    ("reupload.link_days", "7.5", "from 1 to 90 days"),
    ("uploads.max_bytes", "1023", "from 1,024 to 52,428,800 bytes (1 KB to 50 MB)"),
    ("uploads.max_bytes", "52428801", "from 1,024 to 52,428,800 bytes"),
    ("uploads.max_bytes", "10MB", "from 1,024 to 52,428,800 bytes"),
    ("uploads.max_bytes", "-5", "from 1,024 to 52,428,800 bytes"),
    ("uploads.max_bytes", "\u0661\u0662\u0663\u0664", "from 1,024 to 52,428,800 bytes"),
])
def test_bad_values_are_refused_with_the_reason_and_nothing_is_stored(db, key, value, message):
    before = row_counts(db)
    with pytest.raises(InvalidInput, match=re.escape(message)) as refused:
        settings_store.set_setting(db, key, value, actor="admin")
    assert str(refused.value).startswith(key)
    assert row_counts(db) == before
    assert stored(db, key) is None


@pytest.mark.parametrize("key, value", [
    ("outbound.allowlist", "10.1.2.0/24, 127.0.0.1/32; ::1/128, 192.168.7.7"),
    ("outbound.allowlist", ""),
    ("reupload.link_days", "1"),
    ("reupload.link_days", "90"),
    ("uploads.max_bytes", "1024"),
    ("uploads.max_bytes", "52428800"),
])
def test_good_values_are_stored_and_audited(db, key, value):
    settings_store.set_setting(db, key, value, actor="admin")
    assert stored(db, key) == value
    info = next(i for i in settings_store.list_settings(db) if i.key == key)
    assert (info.value, info.source, info.is_secret) == (value, "database", False)
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.kind == "settings.changed")).one()
    assert event.after == {"key": key, "value": value} and event.actor == "admin"


def test_one_bad_value_refuses_the_whole_save(db):
    with pytest.raises(InvalidInput) as refused:
        settings_store.set_settings(db, {"reupload.link_days": "14", "uploads.max_bytes": "12",
                                         "outbound.allowlist": "nope"}, actor="admin")
    assert "nothing was saved" in str(refused.value)
    assert len(refused.value.problems) == 2
    assert stored(db, "reupload.link_days") is None  # the good one was not stored either


def test_only_admins_set_limits(db):
    for who in ("reviewer", "analyst"):
        with pytest.raises(NotAllowed):
            settings_store.set_setting(db, "uploads.max_bytes", "2048", actor=who)
    assert stored(db, "uploads.max_bytes") is None


def test_the_environment_is_the_default_and_a_stored_value_wins(db, monkeypatch):
    assert settings_store.upload_limit(db) == 10 * 1024 * 1024
    assert settings_store.reupload_link_lifetime(db) == timedelta(days=30)
    assert settings_store.outbound_allowlist(db) == []
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", "5000")
    monkeypatch.setenv("DOCKET_REUPLOAD_LINK_DAYS", "12")
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "10.0.0.0/8")
    info = {i.key: i for i in settings_store.list_settings(db)}
    assert (info["uploads.max_bytes"].value, info["uploads.max_bytes"].source) == \
        ("5000", "environment")
    assert settings_store.upload_limit(db) == 5000
    assert settings_store.reupload_link_lifetime(db) == timedelta(days=12)
    assert [str(n) for n in settings_store.outbound_allowlist(db)] == ["10.0.0.0/8"]

    settings_store.set_settings(db, {"uploads.max_bytes": "7000", "reupload.link_days": "3",
                                     "outbound.allowlist": "192.168.0.0/16"}, actor="admin")
    assert settings_store.upload_limit(db) == 7000
    assert settings_store.reupload_link_lifetime(db) == timedelta(days=3)
    assert [str(n) for n in settings_store.outbound_allowlist(db)] == ["192.168.0.0/16"]

    for key in ("uploads.max_bytes", "reupload.link_days", "outbound.allowlist"):
        settings_store.clear_setting(db, key, actor="admin")  # "Use environment values"
    assert settings_store.upload_limit(db) == 5000
    assert settings_store.reupload_link_lifetime(db) == timedelta(days=12)


# --- the stored value takes effect ------------------------------------------------------------

def test_stored_allow_list_lets_requests_reach_a_private_target(db, receiver):
    with pytest.raises(UnsafeDestination, match="allow-list"):
        safe_http.request("POST", receiver.url, body=b"{}", timeout=(2, 2), db=db)
    settings_store.set_setting(db, "outbound.allowlist", "127.0.0.0/8", actor="admin")
    assert safe_http.request("POST", receiver.url, body=b"{}", timeout=(2, 2), db=db).status == 200
    settings_store.set_setting(db, "outbound.allowlist", "10.0.0.0/8", actor="admin")
    with pytest.raises(UnsafeDestination):  # the stored list, not a cached one
        safe_http.request("POST", receiver.url, body=b"{}", timeout=(2, 2), db=db)


def test_stored_allow_list_wins_over_the_environment(db, receiver, monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "127.0.0.0/8")
    assert safe_http.check_url(receiver.url, db=db).address == "127.0.0.1"
    settings_store.set_setting(db, "outbound.allowlist", "", actor="admin")  # public only
    with pytest.raises(UnsafeDestination):
        safe_http.check_url(receiver.url, db=db)


def test_send_test_and_endpoints_use_the_stored_allow_list(db, receiver):
    from core.notifications.integration_check import send_test
    settings_store.set_setting(db, "crm.url", receiver.url, actor="admin")
    assert "refused, nothing sent" in send_test(db, "crm", actor="admin").message
    with pytest.raises(UnsafeDestination):
        ep.create_endpoint(db, receiver.url, actor="admin")

    settings_store.set_setting(db, "outbound.allowlist", "127.0.0.1/32", actor="admin")
    outcome = send_test(db, "crm", actor="admin")
    assert outcome.ok, outcome.message
    assert json.loads(receiver.all()[0]["body"])["type"] == "docket.test"
    assert ep.create_endpoint(db, receiver.url, actor="admin").secret.startswith("whsec_")


def test_webhook_deliveries_use_the_stored_allow_list(db, receiver):
    settings_store.set_setting(db, "outbound.allowlist", "127.0.0.1/32", actor="admin")
    created = ep.create_endpoint(db, receiver.url, actor="admin")
    receiver.secrets.append(created.secret)
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"),
                    reason="in order")
    drain(db)  # the dispatcher's config has no allow-list of its own: the stored one applies
    got = receiver.ok()
    assert len(got) == 1 and got[0]["verified"]
    assert got[0]["payload"]["data"]["case"]["id"] == "C-1"


def test_re_upload_links_live_as_long_as_the_stored_lifetime(db, monkeypatch):
    make_case(db, "C-1")
    token = reupload_tokens.create_reupload_token(db, "C-1", ["document:1"], message_id="m-30")
    created = reupload_tokens.utcnow()
    assert abs(reupload_tokens.token_expiry(db, "m-30") - (created + timedelta(days=30))) \
        < timedelta(minutes=1)

    settings_store.set_setting(db, "reupload.link_days", "2", actor="admin")
    short = reupload_tokens.create_reupload_token(db, "C-1", ["document:1"], message_id="m-2")
    assert abs(reupload_tokens.token_expiry(db, "m-2") - (created + timedelta(days=2))) \
        < timedelta(minutes=1)
    # the same notification keeps its link (an email retry re-sends it)
    assert reupload_tokens.create_reupload_token(db, "C-1", ["document:1"],
                                                 message_id="m-30") == token

    later = created + timedelta(days=3)
    monkeypatch.setattr(reupload_tokens, "utcnow", lambda: later)
    with pytest.raises(reupload_tokens.InvalidReuploadToken) as expired:
        reupload_tokens.verify_reupload_token(db, short)
    assert expired.value.reason == "expired"
    assert reupload_tokens.verify_reupload_token(db, token).case_id == "C-1"  # 30 days: valid


def _one_document_file(size: int) -> dict:
    return {"cases": [{"id": "IMP-1", "workflow": "onboarding", "collection_completed": True,
                       "entity": {"type": "business", "name": "Limits Ltd", "country": "GB"},
                       "documents": [{"type": "passport", "file": {
                           "filename": "scan.png",
                           "content_base64": base64.b64encode(png(size)).decode()}}]}]}


def test_stored_upload_limit_applies_to_imports_and_uploads(db):
    settings_store.set_setting(db, "uploads.max_bytes", "2048", actor="admin")
    problems = validate_import(_one_document_file(3000), db)
    assert problems == ["cases[0].documents[0].file.content_base64: the file is larger than the "
                        "limit of 2,048 bytes (DOCKET_MAX_UPLOAD_BYTES)"]
    before = row_counts(db)
    with pytest.raises(InvalidInput):
        import_cases(db, _one_document_file(3000), actor="admin")
    assert row_counts(db) == before
    assert import_cases(db, _one_document_file(2000), actor="admin") == ["IMP-1"]

    with db.read() as s:
        document_id = s.scalar(select(Document.id).where(Document.case_id == "IMP-1"))
    with pytest.raises(InvalidInput, match="the limit is 2,048 bytes"):
        upload_document(db, "IMP-1", document_id, "new.png", png(2049))
    upload_document(db, "IMP-1", document_id, "new.png", png(2048))


def test_a_stored_limit_above_the_environment_lets_bigger_files_in(db, monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", "1500")
    make_case(db, "C-1")
    with db.read() as s:
        document_id = s.scalar(select(Document.id).where(Document.case_id == "C-1"))
    with pytest.raises(InvalidInput, match="the limit is 1,500 bytes"):
        upload_document(db, "C-1", document_id, "scan.png", png(4000))
    settings_store.set_setting(db, "uploads.max_bytes", "4096", actor="admin")
    upload_document(db, "C-1", document_id, "scan.png", png(4000))
    assert validate_import(_one_document_file(4000), db) == []


# --- the Settings page ------------------------------------------------------------------------

def _settings_page(monkeypatch, database_url):
    monkeypatch.setenv("DOCKET_SIMULATOR", "off")
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page("pages/settings.py").run()
    assert not at.exception, at.exception
    return at


def test_settings_page_edits_the_limits_and_refuses_bad_input(db, database_url, monkeypatch):
    at = _settings_page(monkeypatch, database_url)
    assert at.text_input(key="st_v_uploads_max_bytes").value == str(10 * 1024 * 1024)
    assert at.text_input(key="st_v_reupload_link_days").value == "30"
    assert at.text_input(key="st_v_outbound_allowlist").value == ""
    captions = [c.value for c in at.caption]
    assert "default · 10.0 MB" in captions and "default · none: public addresses only" in captions

    at.text_input(key="st_v_uploads_max_bytes").input("100")
    at.text_input(key="st_v_reupload_link_days").input("14")
    at.text_input(key="st_v_outbound_allowlist").input("10.0.0.0/8, 300.1.1.1")
    at.button(key="st_save_limits").click().run()
    shown = [re.sub(r"\\(.)", r"\1", e) for e in errors(at)]  # the text without Markdown escapes
    assert any("these settings were refused; nothing was saved" in e for e in shown), shown
    assert any("uploads.max_bytes must be a whole number from 1,024 to 52,428,800" in e
               for e in shown), shown
    assert any("'300.1.1.1' is not an IP network" in e for e in shown)
    assert [stored(db, k) for k in ("uploads.max_bytes", "reupload.link_days",
                                    "outbound.allowlist")] == [None, None, None]

    at.text_input(key="st_v_uploads_max_bytes").input("2097152")
    at.text_input(key="st_v_outbound_allowlist").input("10.0.0.0/8, 127.0.0.1/32")
    at.button(key="st_save_limits").click().run()
    assert not errors(at), errors(at)
    assert [stored(db, k) for k in ("uploads.max_bytes", "reupload.link_days",
                                    "outbound.allowlist")] == \
        ["2097152", "14", "10.0.0.0/8, 127.0.0.1/32"]
    assert settings_store.upload_limit(db) == 2 * 1024 * 1024
    assert "set here · 2.0 MB" in [c.value for c in at.caption]

    at.button(key="st_clear_limits").click().run()  # back to the environment's values
    assert not errors(at), errors(at)
    assert stored(db, "uploads.max_bytes") is None
    assert at.text_input(key="st_v_uploads_max_bytes").value == str(10 * 1024 * 1024)
    assert settings_store.reupload_link_lifetime(db) == timedelta(days=30)


def test_settings_page_shows_what_only_the_environment_sets(db, database_url, monkeypatch):
    at = _settings_page(monkeypatch, database_url)
    limits = next(d.value for d in at.dataframe if d.value is not None and "Setting" in d.value)
    names = list(limits["Setting"])
    assert any("DOCKET_MAX_IMPORT_BYTES" in n for n in names)
    assert not any("ALLOWLIST" in n or "MAX_UPLOAD" in n or "Re-upload" in n for n in names)


# --- the app's address for applicant links ---------------------------------------------------

@pytest.mark.parametrize("url,origin", [
    ("http://127.0.0.1:8765/cases", "http://127.0.0.1:8765"),
    ("HTTPS://Docket.Example:443/", "https://docket.example"),
    ("http://docket.example:80", "http://docket.example"),
    ("http://[::1]:9000/x?y=1", "http://[::1]:9000"),
    ("ftp://docket.example/", None), ("javascript:alert(1)", None), ("", None), (None, None),
    ("http://docket.example:99999/", None), ("http:///nohost", None),
])
def test_app_origin_keeps_scheme_host_and_port_only(url, origin):
    assert settings_store.app_origin(url) == origin


def test_links_use_the_configured_address_else_where_staff_opened_the_app(db, monkeypatch):
    monkeypatch.delenv("DOCKET_PUBLIC_URL", raising=False)
    assert settings_store.public_url(db) == ("http://localhost:8501", "default")
    settings_store.note_app_url(db, "http://10.0.0.7:8765/cases")
    settings_store.note_app_url(db, "not a url")  # ignored
    assert settings_store.public_url(db) == ("http://10.0.0.7:8765", "browser")
    assert reupload_tokens.reupload_link(db, "C-1", ["document:1"]).startswith(
        "http://10.0.0.7:8765/?reupload=")
    info = next(i for i in settings_store.list_settings(db) if i.key == "public_url")
    assert (info.value, info.source) == ("http://10.0.0.7:8765", "browser")
    monkeypatch.setenv("DOCKET_PUBLIC_URL", "https://env.example/")
    assert settings_store.public_url(db) == ("https://env.example", "environment")
    settings_store.set_setting(db, "public_url", "https://kyc.example/", actor="admin")
    assert settings_store.public_url(db) == ("https://kyc.example", "database")
    assert reupload_tokens.reupload_link(db, "C-1", ["document:1"]).startswith(
        "https://kyc.example/?reupload=")


def test_noting_the_same_address_again_writes_nothing(db):
    settings_store.note_app_url(db, "http://10.0.0.7:8765/")
    with db.read() as s:
        first = s.get(StoredSetting, settings_store.SEEN_URL_KEY).updated_at
    settings_store.note_app_url(db, "http://10.0.0.7:8765/overview")
    with db.read() as s:
        assert s.get(StoredSetting, settings_store.SEEN_URL_KEY).updated_at == first
        assert s.scalar(select(AuditEvent).where(AuditEvent.kind == "settings.changed")) is None
