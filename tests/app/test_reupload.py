"""The public re-upload page through AppTest: opened by `?reupload=TOKEN` without sign-in, it
shows what to re-upload and why, takes the files, and refuses a bad link or a bad file with a
clear message; nothing else of the app is reachable from it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.notifications.reupload_tokens import create_reupload_token
from core.store.models import DocumentFile, Ubo
from tests.app.harness import errors, new_app, texts
from tests.factories import status_of
from tests.intake.test_reupload import kyc_case, png, revisions_case


def _page(monkeypatch, database_url, token):
    at = new_app(monkeypatch, database_url, query={"reupload": token})
    at.run()
    assert not at.exception, at.exception
    return at


def _titles(at):
    return [t.value for t in at.title]


def _successes(at):
    return [s.value for s in at.success]


def _no_app(at):
    """Nothing of the signed-in app: no login form, no sidebar, no other page."""
    assert not [t for t in at.text_input if t.label in ("Username", "Password")]
    assert not at.sidebar.children
    for page in ("pages/cases.py", "pages/overview.py", "pages/settings.py"):
        with pytest.raises(ValueError, match="Known pages"):
            at.switch_page(page)


def test_a_good_link_shows_what_and_why_and_takes_the_file(db, database_url, monkeypatch):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    at = _page(monkeypatch, database_url, token)
    assert _titles(at) == ["Upload new documents"]
    shown = " ".join(texts(at))
    assert "Certificate of incorporation" in shown and "Bad image quality" in shown
    _no_app(at)

    at.file_uploader[0].set_value(("scan.png", png(), "image/png"))
    at.button(key="FormSubmitter:ru_form-Send").click()
    at.run()
    assert not at.exception, at.exception
    assert _titles(at) == ["Thank you"]
    assert "we received your documents" in _successes(at)[0]
    assert status_of(db, "C-1") == "manual_review"
    with db.read() as s:
        assert sorted(s.scalars(select(DocumentFile.version))) == [1, 2]

    again = _page(monkeypatch, database_url, token)   # the link opened once more
    assert _titles(again) == ["This link was already used"]
    assert "already used" in errors(again)[0]
    assert not again.file_uploader


def test_a_wrong_file_is_refused_on_the_page_and_nothing_is_written(db, database_url, monkeypatch):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    at = _page(monkeypatch, database_url, token)
    at.file_uploader[0].set_value(("scan.png", b"MZ\x90\x00 not an image", "image/png"))
    at.button(key="FormSubmitter:ru_form-Send").click()
    at.run()
    assert "nothing was uploaded" in errors(at)[0]
    assert "the type is read from the content" in errors(at)[0]
    assert status_of(db, "C-1") == "revisions"

    at.button(key="FormSubmitter:ru_form-Send").click()   # no file at all
    at.file_uploader[0].set_value(None)
    at.run()
    assert "no file chosen" in errors(at)[0]
    assert status_of(db, "C-1") == "revisions"


@pytest.mark.parametrize("token, title", [
    ("v1.eyJ0IjoiMSJ9.c2lnbmF0dXJl", "This link is not valid"),
    ("<script>alert(1)</script>", "This link is not valid"),
    ("", "This link is not valid"),
])
def test_a_bad_link_gets_a_clear_page_and_nothing_else(db, database_url, monkeypatch, token,
                                                      title):
    revisions_case(db)
    at = _page(monkeypatch, database_url, token)
    assert _titles(at) == [title]
    assert "not valid" in errors(at)[0]
    assert not at.file_uploader
    shown = " ".join(texts(at))
    assert "Acme" not in shown and "C-1" not in shown   # no case data
    _no_app(at)


def test_an_expired_link(db, database_url, monkeypatch):
    from datetime import timedelta
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref], ttl=timedelta(seconds=-1))
    at = _page(monkeypatch, database_url, token)
    assert _titles(at) == ["This link has expired"]


def test_a_ubos_kyc_link_serves_the_identity_document_upload(db, database_url, monkeypatch):
    ubo_id = kyc_case(db)
    token = create_reupload_token(db, "K-1", [f"kyc:{ubo_id}"])
    at = _page(monkeypatch, database_url, token)
    assert _titles(at) == ["Verify your identity"]
    assert "Photo is blurred" in " ".join(texts(at))
    kind = at.selectbox(key=f"ru_type_kyc_{ubo_id}")
    assert kind.options == ["Passport", "Identity card"]
    kind.set_value("identity_card")
    at.file_uploader[0].set_value(("id.png", png(), "image/png"))
    at.button(key="FormSubmitter:ru_form-Send").click()
    at.run()
    assert "we received your identity document" in _successes(at)[0]
    assert status_of(db, "K-1") == "pending_id_verification"
    with db.read() as s:
        assert s.get(Ubo, ubo_id).kyc_state == "sent"


def test_a_signed_in_session_opening_a_link_sees_only_the_public_page(db, database_url,
                                                                      monkeypatch):
    from tests.app.harness import sign_in
    [ref] = revisions_case(db)
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    assert at.sidebar.children   # signed in: name, sign out, the pages
    at.query_params["reupload"] = create_reupload_token(db, "C-1", [ref])
    at.run()
    assert _titles(at) == ["Upload new documents"]
    assert not at.sidebar.children
