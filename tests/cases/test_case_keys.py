"""A case's keys (core/cases/case_keys.py): each normaliser on a table of real spellings, the
keys of a case's sources, and every writer keeping them current in its own transaction —
the importer, a reviewer's edit, uploads, the demo loader — and migration 0016's backfill
giving the same rows. Runs on SQLite and on PostgreSQL (DOCKET_TEST_DATABASE_URL)."""
from __future__ import annotations

import base64
import hashlib
import importlib.util

import pytest
from sqlalchemy import delete, select

from core.cases import actions
from core.cases.case_keys import (
    CaseSources,
    address_value,
    email_value,
    keys_of,
    person_value,
    phone_value,
    registration_value,
    sources_of,
    stored,
)
from core.demo.files import demo_files, ring_file
from core.demo.generate import generate_cases
from core.errors import ActionNotAllowed, InvalidInput
from core.intake.events import upload_document
from core.intake.importer import import_cases
from core.store.db import MIGRATIONS
from core.store.models import Case, CaseKey, Document
from tests.factories import row_counts, version_of

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEUlEQVR42mM4cecDHDEQxwEA"
                       "LnApQXFCNDEAAAAASUVORK5CYII=")


@pytest.mark.parametrize("raw, value", [
    ("Info@Acme.Example ", "info@acme.example"),
    ("ops+kyc@acme.example", "ops@acme.example"),
    ("Ka.Wai.Chan+2@gmail.com", "kawaichan@gmail.com"),
    ("ka.wai.chan@googlemail.com", "kawaichan@gmail.com"),
    ("ka.wai.chan@outlook.com", "ka.wai.chan@outlook.com"),   # dots matter outside Gmail
    ("not an email", None), ("", None), ("+x@acme.example", None), (None, None),
])
def test_email_value(raw, value):
    assert email_value(raw) == value


@pytest.mark.parametrize("raw, country, value", [
    ("+852 5555 0100", "HK", "+85255550100"),
    ("5555-0100", "HK", "+85255550100"),               # national: the country's code added
    ("00852 5555 0100", "GB", "+85255550100"),         # 00: international
    ("020 7946 0000", "GB", "+442079460000"),          # the trunk 0 dropped
    ("+44 (0)20 7946 0000", "GB", "+442079460000"),
    ("06 6982 1234", "IT", "+390669821234"),           # Italy keeps it
    ("1 (415) 555-0100", "US", "+14155550100"),
    ("415.555.0100 ext. 12", "US", "+14155550100"),
    ("0301 234567", "ZZ", "ZZ:0301234567"),            # no known code: stays national
    ("12345", "HK", None), ("", "HK", None), (True, "HK", None),
    (85255550100, "", "??:85255550100"),
])
def test_phone_value(raw, country, value):
    assert phone_value(raw, country) == value


@pytest.mark.parametrize("raw, country, value", [
    ("HRB 123456", "DE", "DE:HRB123456"),
    ("hrb-123456", "de", "DE:HRB123456"),
    ("HK-3141592", "HK", "HK:3141592"),                # the country's own code dropped
    ("3141592", "HK", "HK:3141592"),
    ("CHE-123.456.789", "CH", "CH:CHE123456789"),      # "CH" then letters: kept
    ("１２３４５", "GB", "GB:12345"),                    # full-width digits
    ("12", "GB", None), ("", "GB", None),
])
def test_registration_value(raw, country, value):
    assert registration_value(raw, country) == value


def test_a_registration_number_in_two_countries_does_not_link():
    assert registration_value("12345", "DE") != registration_value("12345", "GB")


@pytest.mark.parametrize("name, born, value", [
    ("CHAN Tai Man", "1971-03-09", "chan man tai|1971-03-09"),
    ("Tai-Man  Chan", "1971-03-09", "chan man tai|1971-03-09"),
    ("Zoë Müller", "1980-01-02", "muller zoe|1980-01-02"),
    ("陳大文", "1971-03-09", "陳大文|1971-03-09"),
    ("Chan Tai Man", "", None), ("Chan Tai Man", "1971", None), ("", "1971-03-09", None),
])
def test_person_value(name, born, value):
    assert person_value(name, born) == value


@pytest.mark.parametrize("raw, value", [
    ("Flat 12B, 88 Nathan Road, Tsim Sha Tsui", "unit 12b 88 nathan rd tsim sha tsui"),
    ("flat 12b 88 NATHAN RD. Tsim-Sha-Tsui", "unit 12b 88 nathan rd tsim sha tsui"),
    ("Königsallee 12, Düsseldorf", "konigsallee 12 dusseldorf"),
    ("Central, Hong Kong", None),   # no number: too vague
    ("1 A", None),                  # too short
])
def test_address_value(raw, value):
    assert address_value(raw) == value


def test_a_long_value_is_stored_as_its_hash():
    long = "unit 1 " + "very long street name " * 5
    assert stored("short") == "short"
    assert len(stored(long)) == 64 and stored(long) != long[:64]


def test_keys_of_reads_every_source_once():
    keys = keys_of(CaseSources(
        entity_kind="person", entity_name="Ivy Kowalski", email="Ivy@Example.com",
        phone="+852 5555 0100", country="HK", registration_number="",
        user_data={"email": "ivy@example.com", "phone": "5555 0100", "date_of_birth": "1990-02-03",
                   "address": "Flat 1A, 2 Main Street, Central"},
        registry_data={"registered_address": "Flat 1A, 2 Main St., Central"},
        ubos=[("No Birth Date", ""), ("Wing Chan", "1978-09-14"), ("CHAN Wing", "1978-09-14")],
        files=[("a" * 64, "a.pdf"), ("A" * 64, "copy.pdf"), ("not a hash", "b.pdf")]))
    assert sorted((k.kind, k.value, k.shown) for k in keys) == [
        ("address", "unit 1a 2 main st central", "Flat 1A, 2 Main Street, Central"),
        ("document", "a" * 64, "a.pdf (SHA-256 aaaaaaaaaaaa…)"),
        ("email", "ivy@example.com", "Ivy@Example.com"),
        ("person", "chan wing|1978-09-14", "Wing Chan, born 1978-09-14"),
        ("person", "ivy kowalski|1990-02-03", "Ivy Kowalski, born 1990-02-03"),
        ("phone", "+85255550100", "+852 5555 0100"),
    ]


# --- the writers ---------------------------------------------------------------------------

def _case(case_id: str, **entity) -> dict:
    return {"id": case_id, "workflow": "onboarding", "collection_completed": True,
            "entity": {"type": "business", "name": f"{case_id} Ltd", "country": "HK", **entity},
            "user_data": {"address": "Room 5C, 41 Lockhart Road, Wan Chai"},
            "ubos": [{"full_name": "Wing Chan", "date_of_birth": "1978-09-14",
                      "kyc": {"state": "completed", "result": {"outcome": "clear"}}}],
            "documents": [{"type": "certificate_of_incorporation",
                           "file": {"filename": "cert.png",
                                    "content_base64": base64.b64encode(PNG).decode()}}]}


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _keys(db, case_id: str) -> set[tuple[str, str]]:
    with db.read() as s:
        return set(s.execute(select(CaseKey.kind, CaseKey.value)
                             .where(CaseKey.case_id == case_id)).all())


def _recomputed(db, case_id: str) -> set[tuple[str, str]]:
    with db.read() as s:
        return {(k.kind, k.value) for k in keys_of(sources_of(s, case_id))}


def test_an_import_writes_each_cases_keys(db):
    import_cases(db, {"cases": [_case("K-1", email="ops@k1.example", phone="+852 2111 0001",
                                      registration_number="HK-1000001")]})
    assert _keys(db, "K-1") == _recomputed(db, "K-1") == {
        ("email", "ops@k1.example"), ("phone", "+85221110001"), ("registration", "HK:1000001"),
        ("person", "chan wing|1978-09-14"), ("address", "unit 5c 41 lockhart rd wan chai"),
        ("document", _sha256(PNG))}


def test_a_refused_import_writes_no_key(db):
    before = row_counts(db)
    with pytest.raises(InvalidInput):
        import_cases(db, {"cases": [_case("K-2", email="ops@k2.example"),
                                    {**_case("K-3"), "workflow": "nope"}]})
    assert row_counts(db) == before


def _editable(db, case_id: str) -> None:
    actions.assign_case(db, case_id, "reviewer", actor="reviewer",
                        expected_version=version_of(db, case_id))


def test_an_edit_of_user_data_keeps_the_keys_current(db):
    import_cases(db, {"cases": [_case("K-4", email="ops@k4.example")]})
    _editable(db, "K-4")
    actions.edit_user_data(db, "K-4", {"email": "Money+x@Mule.example", "address": "Central"},
                           actor="reviewer", expected_version=version_of(db, "K-4"))
    keys = _keys(db, "K-4")
    assert ("email", "money@mule.example") in keys and ("email", "ops@k4.example") in keys
    assert not any(kind == "address" for kind, _ in keys)  # "Central" is too vague to link
    assert keys == _recomputed(db, "K-4")
    with db.read() as s:
        shown = s.scalar(select(CaseKey.shown).where(CaseKey.case_id == "K-4",
                                                     CaseKey.value == "money@mule.example"))
    assert shown == "Money+x@Mule.example"


def test_a_refused_edit_leaves_the_keys(db, monkeypatch):
    import_cases(db, {"cases": [_case("K-5", email="ops@k5.example")]})
    _editable(db, "K-5")
    before = _keys(db, "K-5")
    version = version_of(db, "K-5")
    with db.unit_of_work() as s:  # a final status refuses edits, after the keys would move
        s.get(Case, "K-5").case_status = "approved"
    with pytest.raises(ActionNotAllowed):
        actions.edit_user_data(db, "K-5", {"email": "x@y.example"}, actor="reviewer",
                               expected_version=version)
    assert _keys(db, "K-5") == before


def test_an_uploaded_file_becomes_a_key(db):
    import_cases(db, {"cases": [_case("K-6")]})
    with db.read() as s:
        document_id = s.scalar(select(Document.id).where(Document.case_id == "K-6"))
    other = ring_file().content
    upload_document(db, "K-6", document_id, "bill.pdf", other)
    upload_document(db, "K-6", document_id, "bill-again.pdf", other)  # the same file twice
    keys = _keys(db, "K-6")
    assert ("document", _sha256(other)) in keys and ("document", _sha256(PNG)) in keys
    assert keys == _recomputed(db, "K-6")


def _migration_0016():
    """Migration 0016's module (its file name is not an importable name)."""
    path = MIGRATIONS / "versions" / "0016_case_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0016", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_backfill_gives_what_the_writers_wrote(db):
    import_cases(db, {"cases": [_case("K-7", email="a@k7.example", phone="2111 0007"),
                                _case("K-8", registration_number="HK-7")]})
    generate_cases(db, 80, seed=11)
    rows = select(CaseKey.case_id, CaseKey.kind, CaseKey.value, CaseKey.shown)
    with db.read() as s:
        written = set(s.execute(rows).all())
    with db.write_engine.begin() as conn:  # what upgrading a database made before 0016 does
        conn.execute(delete(CaseKey))
        migration = _migration_0016()
        migration.BATCH = 7  # several batches
        assert migration.backfill(conn) == 82
    with db.read() as s:
        backfilled = set(s.execute(rows).all())
    stock = {f.sha256 for f in demo_files()}
    # the backfill keys the demo's stock files too (the demo loader does not: docs)
    assert {r for r in backfilled if r[2] not in stock} == written
    assert any(r[2] in stock for r in backfilled)


def test_demo_keys_are_the_keys_of_the_demo_data(db):
    generate_cases(db, 120, seed=12)
    with db.read() as s:
        ids = list(s.scalars(select(Case.id)))
        for case_id in ids:
            want = {(k.kind, k.value, k.shown) for k in keys_of(sources_of(s, case_id))
                    if k.kind != "document" or k.value == ring_file().sha256}
            have = set(s.execute(select(CaseKey.kind, CaseKey.value, CaseKey.shown)
                                 .where(CaseKey.case_id == case_id)).all())
            assert have == want, case_id
