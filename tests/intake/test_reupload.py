"""The applicant's re-upload link (core.intake.reupload): a good submission writes new versions and
recomputes the status; a forged, expired, reused or out-of-scope token, a wrong or oversized
file, a missing file, or a case decided meanwhile is refused with a clear error and writes
nothing. A UBO's new KYC flow takes an identity document."""
from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import select

from core.cases import actions as ca
from core.errors import InvalidInput
from core.intake.documents import add_file_version
from core.intake.events import complete_kyc
from core.intake.reupload import reupload_request, submit_reupload
from core.notifications.reupload_tokens import InvalidReuploadToken, create_reupload_token
from core.store.models import AuditEvent, Document, DocumentFile, ReuploadToken, Ubo
from tests.factories import make_case, row_counts, status_of, version_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png(colour: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, format="PNG")
    return out.getvalue()


def _docs(db, case_id):
    with db.read() as s:
        return list(s.scalars(select(Document).where(Document.case_id == case_id)
                              .order_by(Document.id)))


def _versions(db, document_id):
    with db.read() as s:
        return [(f.version, f.filename) for f in s.scalars(
            select(DocumentFile).where(DocumentFile.document_id == document_id)
            .order_by(DocumentFile.version))]


def revisions_case(db, case_id="C-1", documents=1, processes=()):
    """A case in Revisions: every document (each with a v1 file) asked to re-upload and sent.
    Returns the block refs."""
    make_case(db, case_id, assignee="reviewer", documents=documents, processes=processes)
    with db.unit_of_work() as s:
        for d in s.scalars(select(Document).where(Document.case_id == case_id)):
            add_file_version(s, d, f"original-{d.id}.png", png("white"), "applicant")
    refs = [f"document:{d.id}" for d in _docs(db, case_id)]
    for ref in refs:
        ca.ask_to_reupload_block(db, case_id, ref, actor="reviewer",
                                 expected_version=version_of(db, case_id),
                                 reason="Bad image quality")
    ca.ask_for_reuploads(db, case_id, actor="reviewer", expected_version=version_of(db, case_id))
    assert status_of(db, case_id) == "revisions"
    return refs


def kyc_case(db, case_id="K-1"):
    make_case(db, case_id, assignee="reviewer", ubos=1)
    with db.read() as s:
        ubo_id = s.scalar(select(Ubo.id).where(Ubo.case_id == case_id))
    ca.ask_to_reupload_block(db, case_id, f"kyc:{ubo_id}", actor="reviewer",
                             expected_version=version_of(db, case_id), reason="Photo is blurred")
    assert status_of(db, case_id) == "revisions"
    return ubo_id


def refused(db, fn, error=InvalidReuploadToken, reason=None):
    """Runs fn, expects the error (with this reason) and that no row anywhere changed."""
    before = row_counts(db)
    with pytest.raises(error) as info:
        fn()
    if reason is not None:
        assert info.value.reason == reason, str(info.value)
    assert row_counts(db) == before
    return info.value


# --- the good path ------------------------------------------------------------------------

def test_a_good_submission_adds_a_version_keeps_the_old_one_and_goes_to_manual_review(db):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    request = reupload_request(db, token)
    assert [(i.block, i.kind, i.label, i.reason, i.current_filename) for i in request.items] == [
        (ref, "document", "Certificate of incorporation", "Bad image quality",
         f"original-{ref.split(':')[1]}.png")]
    assert request.applicant == "Acme Trading Ltd"

    result = submit_reupload(db, token, {ref: ("new-certificate.png", png())})

    assert result.status.value == "manual_review" and status_of(db, "C-1") == "manual_review"
    assert result.versions == {ref: 2}
    doc_id = int(ref.split(":")[1])
    assert _versions(db, doc_id) == [(1, f"original-{doc_id}.png"), (2, "new-certificate.png")]
    [doc] = _docs(db, "C-1")
    assert doc.block_status is None and doc.reupload_reason is None
    with db.read() as s:
        assert s.scalar(select(ReuploadToken.used_at)) is not None
        kinds = list(s.scalars(select(AuditEvent.kind).where(AuditEvent.case_id == "C-1")
                               .order_by(AuditEvent.id)))
    assert kinds[-3:] == ["document.uploaded", "reupload.link_used", "case.status_changed"]


def test_status_is_recomputed_not_forced(db):
    """With a process still pending the case goes to Pending process, not Manual review."""
    refs = revisions_case(db, documents=2, processes=("pending",))
    token = create_reupload_token(db, "C-1", refs)
    submit_reupload(db, token, {refs[0]: ("a.png", png()), refs[1]: ("b.pdf", PDF)})
    assert status_of(db, "C-1") == "pending_process"


def test_a_second_use_of_the_link_is_refused_and_changes_nothing(db):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    submit_reupload(db, token, {ref: ("new.png", png())})
    error = refused(db, lambda: submit_reupload(db, token, {ref: ("again.png", png("red"))}),
                    reason="used")
    assert "already used" in str(error)
    with pytest.raises(InvalidReuploadToken, match="already used"):
        reupload_request(db, token)


def test_two_submissions_at_once_only_one_wins(db):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    outcomes, barrier = [], threading.Barrier(2)

    def submit(colour):
        barrier.wait()
        try:
            submit_reupload(db, token, {ref: (f"{colour}.png", png(colour))})
            outcomes.append("ok")
        except InvalidReuploadToken as e:
            outcomes.append(e.reason)

    threads = [threading.Thread(target=submit, args=(c,)) for c in ("red", "blue")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    # The loser is refused either at the token ("used", when both read it before either
    # wrote) or at the blocks ("closed", when the winner had committed before the loser's
    # first read): one file, one new version, whichever order the threads ran in.
    assert sorted(outcomes)[0] == "closed" or sorted(outcomes) == ["ok", "used"], outcomes
    assert outcomes.count("ok") == 1, outcomes
    assert len(_versions(db, int(ref.split(":")[1]))) == 2


# --- bad tokens ---------------------------------------------------------------------------

def _tamper_payload(token: str) -> str:
    import base64
    import json
    v, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["c"] = "C-2"
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"{v}.{body}.{sig}"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),   # signature changed
    _tamper_payload,                                                # payload changed
    lambda t: "v1.e30.c2ln",                                        # made up
    lambda t: "",
    lambda t: "x" * 5000,
], ids=["signature", "payload", "made-up", "empty", "huge"])
def test_a_forged_token_is_refused_and_changes_nothing(db, mangle):
    [ref] = revisions_case(db)
    make_case(db, "C-2", assignee="reviewer")
    token = mangle(create_reupload_token(db, "C-1", [ref]))
    error = refused(db, lambda: submit_reupload(db, token, {ref: ("new.png", png())}),
                    reason="forged")
    assert "not valid" in str(error)
    assert status_of(db, "C-1") == "revisions"


def test_an_expired_token_is_refused_and_changes_nothing(db):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref], ttl=timedelta(seconds=-1))
    error = refused(db, lambda: submit_reupload(db, token, {ref: ("new.png", png())}),
                    reason="expired")
    assert "expired" in str(error)


def test_a_file_for_a_block_outside_the_links_scope_is_refused(db):
    refs = revisions_case(db, documents=2)
    token = create_reupload_token(db, "C-1", refs[:1])   # the link covers the first one only
    error = refused(db, lambda: submit_reupload(
        db, token, {refs[0]: ("a.png", png()), refs[1]: ("b.png", png())}), reason="scope")
    assert refs[1] in str(error)
    with db.read() as s:
        assert s.scalar(select(ReuploadToken.used_at)) is None  # still usable


def test_a_link_for_a_case_decided_meanwhile_is_refused(db):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    ca.reject_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"),
                   reason="gone quiet")
    for call in (lambda: reupload_request(db, token),
                 lambda: submit_reupload(db, token, {ref: ("a.png", png())})):
        error = refused(db, call, reason="closed")
        assert "no longer waits" in str(error)


# --- bad files ----------------------------------------------------------------------------

@pytest.mark.parametrize("filename, content, words", [
    ("passport.png", b"MZ\x90\x00 this is a program", "allowed: PDF"),
    ("notes.pdf", b"just some text, not a PDF", "read from the content"),
    ("empty.png", b"", "is empty"),
    ("../../etc/passwd.png", None, "path separator"),
])
def test_a_wrong_file_is_refused_and_nothing_is_written(db, filename, content, words):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    content = png() if content is None else content
    error = refused(db, lambda: submit_reupload(db, token, {ref: (filename, content)}),
                    error=InvalidInput)
    assert words in str(error)
    assert status_of(db, "C-1") == "revisions"
    # the link still works for a good file
    submit_reupload(db, token, {ref: ("good.png", png())})
    assert status_of(db, "C-1") == "manual_review"


def test_an_oversized_file_is_refused(db, monkeypatch):
    [ref] = revisions_case(db)
    token = create_reupload_token(db, "C-1", [ref])
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", "1000")
    big = png() + b"\x00" * 2000
    error = refused(db, lambda: submit_reupload(db, token, {ref: ("big.png", big)}),
                    error=InvalidInput)
    assert "the limit is 1,000 bytes" in str(error)


def test_one_bad_file_among_good_ones_writes_nothing(db):
    refs = revisions_case(db, documents=2)
    token = create_reupload_token(db, "C-1", refs)
    error = refused(db, lambda: submit_reupload(
        db, token, {refs[0]: ("good.png", png()), refs[1]: ("bad.pdf", b"not a pdf")}),
        error=InvalidInput)
    assert error.problems and "Passport" in error.problems[0]
    for ref in refs:
        assert len(_versions(db, int(ref.split(":")[1]))) == 1


def test_every_requested_document_needs_a_file(db):
    refs = revisions_case(db, documents=2)
    token = create_reupload_token(db, "C-1", refs)
    error = refused(db, lambda: submit_reupload(db, token, {refs[0]: ("a.png", png())}),
                    error=InvalidInput)
    assert error.problems == ["Passport: no file chosen"]


# --- a UBO's new KYC flow -----------------------------------------------------------------

def test_a_ubos_kyc_resubmission_stores_the_identity_document_and_awaits_the_result(db):
    ubo_id = kyc_case(db)
    token = create_reupload_token(db, "K-1", [f"kyc:{ubo_id}"])
    [item] = reupload_request(db, token).items
    assert (item.kind, item.person, item.reason) == ("kyc", "Owner 0", "Photo is blurred")
    assert dict(item.identity_types) == {"passport": "Passport", "identity_card": "Identity card"}

    result = submit_reupload(db, token, {f"kyc:{ubo_id}": ("my-passport.png", png())},
                             identity_document_type="passport")

    # Out of Revisions; the identity verification result is awaited (SPEC rule 6).
    assert result.status.value == "pending_id_verification"
    assert status_of(db, "K-1") == "pending_id_verification"
    with db.read() as s:
        ubo = s.get(Ubo, ubo_id)
        assert (ubo.block_status, ubo.kyc_state, ubo.kyc_result) == (None, "sent", None)
        doc = s.scalar(select(Document).where(Document.ubo_id == ubo_id))
        assert doc.document_type == "passport" and doc.block_status is None
        resubmitted = s.scalar(select(AuditEvent).where(AuditEvent.kind == "kyc.resubmitted"))
        assert resubmitted.before["result"] == {"vendor": "Veriff", "outcome": "clear"}
    assert _versions(db, doc.id) == [(1, "my-passport.png")]

    # The vendor's result brings the case to Manual review.
    complete_kyc(db, "K-1", ubo_id, {"outcome": "clear"})
    assert status_of(db, "K-1") == "manual_review"


def test_a_kyc_resubmission_adds_a_version_to_the_ubos_existing_identity_document(db):
    ubo_id = kyc_case(db)
    with db.unit_of_work() as s:
        doc = Document(case_id="K-1", ubo_id=ubo_id, document_type="identity_card", properties={})
        s.add(doc)
        s.flush()
        add_file_version(s, doc, "old-id.png", png("white"), "applicant")
        doc_id = doc.id
    token = create_reupload_token(db, "K-1", [f"kyc:{ubo_id}"])
    [item] = reupload_request(db, token).items
    assert item.default_identity_type == "identity_card"
    submit_reupload(db, token, {f"kyc:{ubo_id}": ("new-id.pdf", PDF)},
                    identity_document_type="identity_card")
    assert _versions(db, doc_id) == [(1, "old-id.png"), (2, "new-id.pdf")]


def test_a_kyc_resubmission_needs_the_kind_of_identity_document(db):
    ubo_id = kyc_case(db)
    token = create_reupload_token(db, "K-1", [f"kyc:{ubo_id}"])
    error = refused(db, lambda: submit_reupload(
        db, token, {f"kyc:{ubo_id}": ("id.png", png())}, identity_document_type="utility_bill"),
        error=InvalidInput)
    assert "choose the kind of document" in str(error)
