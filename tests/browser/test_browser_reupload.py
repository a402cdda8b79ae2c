"""Decisions leave the building, end to end in a real browser, with the embedded default
dispatcher: an approval reaches a loopback webhook receiver (checked with the independent
`standardwebhooks` package) and a real SMTP server (aiosmtpd); a document re-upload and a
UBO's new KYC flow go from the reviewer's click, through the emailed link, to the applicant's
upload and back to the case; a forged link shows a clear page and nothing of the app.

This module runs its own app server (the SMTP server, the receiver, the public URL and the
outbound allow-list are part of its environment)."""
from __future__ import annotations

import base64
import io
import re
import time

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from core.access.users import ensure_demo_users
from core.app_setup import prepare_database
from core.cases import actions as case_actions
from core.intake.importer import import_cases
from core.notifications import endpoints
from core.notifications.reupload_tokens import create_reupload_token, verify_reupload_token
from core.store.db import Database
from core.store.models import Case, Document, DocumentFile, ReuploadToken, Ubo
from tests.browser.conftest import PNG, TIMEOUT_MS, _require_chromium, free_port, running_app
from tests.browser.helpers import (
    case_button,
    case_status_badge,
    click_row,
    db_status,
    keyed_button,
    mark_document_for_reupload,
    search,
    sign_in,
    wait_idle,
)
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, SmtpSink, text_part

pytestmark = pytest.mark.browser

HANG_S = 120  # waits for an email or a webhook end on its arrival; this only stops a hung test
OWNER = "owner@wrenfield.example"
APPLICANT = "docs@copperbeech.example"
UBO_EMAIL = "mira.holloway@example.com"
LINK = re.compile(r"http://127\.0\.0\.1:\d+/\?reupload=[A-Za-z0-9._%-]+")


def _png(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(out, format="PNG")
    return out.getvalue()


NEW_PNG = _png("teal")  # a real PNG, other bytes than the seeded file


def _case(case_id: str, name: str, email: str, **extra) -> dict:
    return {"id": case_id, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": name, "country": "GB", "email": email},
            "documents": [{"type": "certificate_of_incorporation", "properties": {},
                           "file": {"filename": "certificate.png", "content_base64": PNG}}],
            **extra}


CASES = [
    _case("NT-APPROVE", "Wrenfield Approvals Ltd", OWNER),
    _case("NT-DOC", "Copperbeech Documents Ltd", APPLICANT),
    _case("NT-KYC", "Hollowmere Owners Ltd", "ops@hollowmere.example",
          ubos=[{"full_name": "Mira Holloway", "email": UBO_EMAIL, "ownership_percent": 60,
                 "kyc": {"state": "completed", "result": {"vendor": "Onfido", "outcome": "clear"}}}]),
]


def _version(db: Database, case_id: str) -> int:
    with db.read() as s:
        return s.get(Case, case_id).version


@pytest.fixture(scope="module")
def notify_app(tmp_path_factory):
    """(app url, database, webhook receiver, SMTP sink): the real app with the embedded
    dispatcher, an aiosmtpd server and a loopback webhook endpoint."""
    _require_chromium()
    tmp = tmp_path_factory.mktemp("notify-app")
    db = Database(f"sqlite:///{tmp / 'docket.sqlite3'}")
    prepare_database(db, demo=False)
    ensure_demo_users(db)
    import_cases(db, {"format_version": 1, "cases": CASES}, actor="browser-tests")
    for case_id in ("NT-APPROVE", "NT-DOC", "NT-KYC"):
        case_actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                                 expected_version=_version(db, case_id))
    with db.read() as s:  # onboarding approves a case once every block is reviewed
        document = s.scalars(select(Document.id).where(Document.case_id == "NT-APPROVE")).one()
    case_actions.approve_block(db, "NT-APPROVE", f"document:{document}", actor="reviewer",
                               expected_version=_version(db, "NT-APPROVE"))
    receiver = Receiver().start()
    with pytest.MonkeyPatch.context() as mp:  # create_endpoint checks the URL too
        mp.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
        created = endpoints.create_endpoint(db, receiver.url, actor="system",
                                            description="browser test receiver")
    receiver.secrets.append(created.secret)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with SmtpSink() as smtp:
        try:
            with running_app(db.url, tmp, port=port, DOCKET_EMBEDDED_WORKER="on",
                             DOCKET_SMTP_HOST="127.0.0.1", DOCKET_SMTP_PORT=str(smtp.port),
                             DOCKET_SMTP_SECURITY="none", DOCKET_SMTP_USER="",
                             DOCKET_SMTP_PASSWORD="", DOCKET_OUTBOUND_ALLOWLIST=LOOPBACK_ALLOWLIST,
                             DOCKET_PUBLIC_URL=url):
                yield url, db, receiver, smtp
        finally:
            receiver.stop()
            db.dispose()


def _poll(what: str, found, timeout: float = HANG_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"hung: {what}: nothing within {timeout} s")


def _mail_to(smtp: SmtpSink, address: str, subject_words: str):
    return _poll(f"an email to {address} about {subject_words!r}", lambda: next(
        (m for m in smtp.messages
         if address in m["To"] and subject_words in str(m["Subject"])), None))


def _applicant_page(browser: Browser) -> Page:
    """A fresh browser context: no cookie, nobody signed in."""
    page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return page


def _open_case(page: Page, url: str, name: str) -> None:
    sign_in(page, url, "reviewer")
    search(page, name)
    click_row(page, 0)
    expect(page.get_by_role("heading", name=name)).to_be_visible()


def _upload(page: Page, filename: str, content: bytes) -> None:
    page.locator("input[type=file]").set_input_files(
        files=[{"name": filename, "mimeType": "image/png", "buffer": content}])
    expect(page.get_by_text(filename)).to_be_visible()     # the uploader lists the file
    wait_idle(page)
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()


def _files(db: Database, case_id: str, ubo_id: int | None = None) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(f.version, f.filename) for f in s.scalars(
            select(DocumentFile).join(Document).where(Document.case_id == case_id,
                                                      Document.ubo_id.is_(ubo_id) if ubo_id is None
                                                      else Document.ubo_id == ubo_id)
            .order_by(DocumentFile.version))]


def test_approving_in_the_browser_delivers_a_signed_webhook_and_an_email(page: Page,
                                                                        notify_app):
    url, db, receiver, smtp = notify_app
    _open_case(page, url, "Wrenfield Approvals Ltd")
    case_button(page, "approve").click()
    page.get_by_role("dialog").get_by_role("textbox", name="Reason (optional)").fill("all good")
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Case approved.")).to_be_visible()

    hook = _poll("a verified case.approved webhook", lambda: next(
        (r for r in receiver.ok() if r["verified"] and r["payload"]["type"] == "case.approved"
         and r["payload"]["data"]["case"]["id"] == "NT-APPROVE"), None))
    data = hook["payload"]["data"]
    assert data["decision"]["action"] == "approve" and data["decision"]["reason"] == "all good"
    assert data["decision"]["actor"] == "reviewer" and hook["id"].startswith("msg_")
    mail = _mail_to(smtp, OWNER, "has been approved")
    assert "NT-APPROVE" in text_part(mail)


def test_document_reupload_round_trip(page: Page, notify_app, browser: Browser):
    url, db, receiver, smtp = notify_app
    _open_case(page, url, "Copperbeech Documents Ltd")
    mark_document_for_reupload(page, "Certificate of incorporation", "Expired document",
                               "expired in 2023")
    case_button(page, "ask_for_reuploads").click()
    keyed_button(page, "dialog_confirm").click()
    expect(page.get_by_text("Re-upload request sent.")).to_be_visible()
    assert db_status(db, "NT-DOC") == "revisions"

    mail = _mail_to(smtp, APPLICANT, "new documents")
    body = text_part(mail)
    assert "Certificate of incorporation: Expired document: expired in 2023" in body
    link = LINK.search(body).group(0)

    applicant = _applicant_page(browser)
    applicant.goto(link)
    expect(applicant.get_by_role("heading", name="Upload new documents")).to_be_visible()
    expect(applicant.get_by_text("Expired document: expired in 2023")).to_be_visible()
    expect(applicant.get_by_test_id("stSidebar")).to_have_count(0)
    _upload(applicant, "certificate-2024.png", NEW_PNG)
    expect(applicant.get_by_text("we received your documents")).to_be_visible()

    assert db_status(db, "NT-DOC") == "manual_review"
    assert _files(db, "NT-DOC") == [(1, "certificate.png"), (2, "certificate-2024.png")]

    applicant.goto(link)                                    # the same link once more
    expect(applicant.get_by_role("heading", name="This link was already used")).to_be_visible()
    expect(applicant.locator("input[type=file]")).to_have_count(0)
    assert _files(db, "NT-DOC") == [(1, "certificate.png"), (2, "certificate-2024.png")]
    assert db_status(db, "NT-DOC") == "manual_review"
    applicant.context.close()


def test_ubo_kyc_reupload_round_trip(page: Page, notify_app, browser: Browser):
    url, db, receiver, smtp = notify_app
    _open_case(page, url, "Hollowmere Owners Ltd")
    page.get_by_test_id("stExpander").filter(has_text="KYC · Mira Holloway") \
        .locator("summary").click()
    wait_idle(page)  # opening a (keyed) expander reruns the page
    form = page.get_by_test_id("stForm").filter(has=page.get_by_text("Reason (optional)"))
    form.get_by_role("textbox", name="Reason (optional)").fill("Photo is blurred")
    wait_idle(page)  # a click while the page redraws can land on a button being replaced
    form.get_by_role("button", name="Ask to re-upload").click()
    expect(page.get_by_text("A new KYC flow was sent.")).to_be_visible()
    wait_idle(page)
    expect(case_status_badge(page)).to_have_text("Revisions")

    mail = _mail_to(smtp, UBO_EMAIL, "verify your identity")
    assert "Photo is blurred" in text_part(mail)
    link = LINK.search(text_part(mail)).group(0)

    applicant = _applicant_page(browser)
    applicant.goto(link)
    expect(applicant.get_by_role("heading", name="Verify your identity")).to_be_visible()
    expect(applicant.get_by_text("Photo is blurred")).to_be_visible()
    expect(applicant.get_by_text("Hollowmere Owners Ltd")).to_be_visible()
    _upload(applicant, "passport-scan.png", NEW_PNG)
    expect(applicant.get_by_text("we received your identity document")).to_be_visible()
    applicant.context.close()

    # Documented in core/intake/reupload.py: out of Revisions, awaiting the identity verification.
    assert db_status(db, "NT-KYC") == "pending_id_verification"
    with db.read() as s:
        ubo = s.scalar(select(Ubo).where(Ubo.case_id == "NT-KYC"))
        assert (ubo.block_status, ubo.kyc_state) == (None, "sent")
    assert _files(db, "NT-KYC", ubo.id) == [(1, "passport-scan.png")]
    page.reload()
    expect(case_status_badge(page)).to_have_text("Pending ID verification")


def _unused_tokens(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(ReuploadToken.id).where(ReuploadToken.used_at.is_(None))))


def test_a_forged_link_shows_a_clear_page_and_nothing_of_the_app(notify_app, browser: Browser):
    url, db, receiver, smtp = notify_app
    # a real, unused token of this test's own: the forgeries are made from it
    with db.read() as s:
        doc_id = s.scalar(select(Document.id).where(Document.case_id == "NT-APPROVE"))
    real = create_reupload_token(db, "NT-APPROVE", [f"document:{doc_id}"])
    real_id = verify_reupload_token(db, real).token_id
    unused_before = _unused_tokens(db)
    assert real_id in unused_before
    _, body, signature = real.split(".")
    other_case = base64.urlsafe_b64encode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                                          .replace(b"NT-APPROVE", b"NT-DOC")).decode().rstrip("=")
    real_looking = "v1." + base64.urlsafe_b64encode(
        b'{"b":["document:1"],"c":"NT-DOC","e":4102444800,"t":"0"}').decode().rstrip("=") + ".AAAA"
    forged = (f"v1.{other_case}.{signature}",                 # the real signature, another case
              f"v1.{body}.{signature[:-4]}AAAA",              # the real payload, a wrong signature
              real_looking, "not-a-token", "%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert real not in forged and len(set(forged)) == len(forged)
    applicant = _applicant_page(browser)
    for token in forged:
        applicant.goto(f"{url}/?reupload={token}")
        expect(applicant.get_by_role("heading", name="This link is not valid")).to_be_visible()
        wait_idle(applicant)
        expect(applicant.get_by_test_id("stSidebar")).to_have_count(0)
        expect(applicant.get_by_test_id("stSidebarNav")).to_have_count(0)
        expect(applicant.get_by_role("textbox", name="Username")).to_have_count(0)
        expect(applicant.locator("input[type=file]")).to_have_count(0)
        content = applicant.get_by_test_id("stMain").inner_text()
        assert "NT-" not in content and "Copperbeech" not in content and "Ltd" not in content
    applicant.goto(f"{url}/cases?reupload=x")               # another page's path: same answer
    expect(applicant.get_by_role("heading", name="This link is not valid")).to_be_visible()
    expect(applicant.get_by_role("heading", name="Cases")).to_have_count(0)
    # the real token passes the check the forgeries failed (its document waits for nothing)
    applicant.goto(f"{url}/?reupload={real}")
    expect(applicant.get_by_role("heading", name="Nothing to upload any more")).to_be_visible()
    applicant.context.close()
    assert _unused_tokens(db) == unused_before  # nothing used up, the real token included
    assert verify_reupload_token(db, real).token_id == real_id
