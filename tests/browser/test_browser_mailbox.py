"""The demo mailbox in a real browser: with no SMTP server set, a newcomer still sees the
applicant's side. A reviewer asks for a re-upload; the email appears on the admin's Sent
emails page with a working link (minted from the address the app is opened at, not :8501);
the link opens the applicant's page, the upload goes in, and the case is back in review.

This module runs its own app server: DOCKET_DEMO_MAILBOX=on, no SMTP host, no public URL."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.access.users import ensure_demo_users
from core.app_setup import prepare_database
from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.store.db import Database
from core.store.models import Case, Document, DocumentFile
from tests.browser.conftest import PNG, TIMEOUT_MS, _require_chromium, running_app
from tests.browser.helpers import (
    case_button,
    case_status_badge,
    click_row,
    db_status,
    keyed_button,
    mark_document_for_reupload,
    open_page,
    search,
    sign_in,
    wait_idle,
)

pytestmark = pytest.mark.browser

CASE_ID, NAME = "MB-DOC", "Thistlewick Mailroom Ltd"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "navy").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def mailbox_app(tmp_path_factory):
    _require_chromium()
    tmp = tmp_path_factory.mktemp("mailbox-app")
    db = Database(f"sqlite:///{tmp / 'docket.sqlite3'}")
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    import_cases(db, {"format_version": 1, "cases": [{
        "id": CASE_ID, "workflow": "onboarding", "collection_completed": True,
        "entity": {"type": "business", "name": NAME, "country": "GB",
                   "email": "office@thistlewick.example"},
        "documents": [{"type": "certificate_of_incorporation", "properties": {},
                       "file": {"filename": "certificate.png", "content_base64": PNG}}]}]},
        actor="browser-tests")
    with db.read() as s:
        version = s.get(Case, CASE_ID).version
    case_actions.assign_case(db, CASE_ID, "admin", actor="admin", expected_version=version)
    try:
        with running_app(db.url, tmp, DOCKET_EMBEDDED_WORKER="on", DOCKET_DEMO_MAILBOX="on",
                         DOCKET_SMTP_HOST="", DOCKET_PUBLIC_URL="") as url:
            yield url, db
    finally:
        db.dispose()


def test_the_demo_mailbox_leads_to_the_applicants_page_and_back(page: Page, mailbox_app,
                                                              browser: Browser):
    url, db = mailbox_app
    sign_in(page, url, "admin")
    search(page, NAME)
    click_row(page, 0)
    mark_document_for_reupload(page, "Certificate of incorporation", "Expired document",
                               "expired in 2023")
    case_button(page, "ask_for_reuploads").click()
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Re-upload request sent.")).to_be_visible()

    open_page(page, "Sent emails")
    mail = page.locator(".st-key-mb_mail")
    expect(mail).to_contain_text(CASE_ID, timeout=TIMEOUT_MS)  # the dispatcher is quick, not instant
    expect(mail).to_contain_text("office@thistlewick.example")
    expect(mail).to_contain_text("Certificate of incorporation: Expired document: expired in 2023")
    link = mail.get_by_role("link", name="Open the applicant's page")
    assert link.get_attribute("href").startswith(url + "/?reupload=")  # not localhost:8501

    with page.context.expect_page() as opened:
        link.click()
    applicant = opened.value
    applicant.set_default_timeout(TIMEOUT_MS)
    expect(applicant.get_by_role("heading", name="Upload new documents")).to_be_visible()
    applicant.locator("input[type=file]").set_input_files(
        files=[{"name": "certificate-2024.png", "mimeType": "image/png", "buffer": _png()}])
    expect(applicant.get_by_text("certificate-2024.png")).to_be_visible()
    wait_idle(applicant)
    applicant.get_by_role("button", name="Send").click()
    expect(applicant.get_by_text("we received your documents")).to_be_visible()
    applicant.close()

    assert db_status(db, CASE_ID) == "manual_review"
    with db.read() as s:
        files = list(s.scalars(select(DocumentFile.filename).join(Document)
                               .where(Document.case_id == CASE_ID)
                               .order_by(DocumentFile.version)))
    assert files == ["certificate.png", "certificate-2024.png"]
    open_page(page, "Cases")
    search(page, NAME)
    click_row(page, 0)
    expect(case_status_badge(page)).to_have_text("Manual review")
