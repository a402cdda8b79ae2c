"""The whole-file check of an import (core.intake.checks): a bad file is refused whole, every
problem named (case index, field, reason), and nothing is written."""
from __future__ import annotations

import json

import pytest

from core.errors import InvalidInput
from core.intake import format as file_format
from core.intake.checks import validate_import
from core.intake.importer import import_cases
from tests.factories import row_counts
from tests.intake.import_files import PDF, a_case, a_document, assert_refused_whole

TEN_MB = 10 * 1024 * 1024


def _with(**fields):
    return {"cases": [a_case(**fields)]}


def _entity(**fields):
    entity = {"type": "business", "name": "Acme Trading Ltd", "country": "GB"}
    entity.update(fields)
    return {"cases": [a_case(entity={k: v for k, v in entity.items() if v is not None})]}


def _file(filename="proof.pdf", content=PDF):
    return _with(documents=[a_document(filename, content)])


BAD_IMPORTS = [
    # (name, file, words each expected problem contains)
    ("top level is a list", [a_case()], ['top level: must be an object with a "cases" list']),
    ("no cases", {"case": []}, ["cases: is required", "top level.case: unknown field"]),
    ("empty cases", {"cases": []}, ["cases: is empty"]),
    ("cases is an object", {"cases": {"0": a_case()}}, ["cases: must be a list, got an object"]),
    ("a case is a string", {"cases": ["ACME"]}, ["cases[0]: must be an object, got text"]),
    ("unknown format version", {"format_version": 2, "cases": [a_case()]},
     ["format_version: must be 1"]),
    ("missing workflow", {"cases": [{"entity": a_case()["entity"]}]},
     ["cases[0].workflow: is required"]),
    ("missing entity", {"cases": [{"workflow": "onboarding"}]}, ["cases[0].entity: is required"]),
    ("missing entity fields", _entity(type=None, name=None, country=None),
     ["cases[0].entity.type: is required", "cases[0].entity.name: is required",
      "cases[0].entity.country: is required"]),
    ("unknown workflow", _with(workflow="kyb"), ["cases[0].workflow: unknown workflow 'kyb'"]),
    ("unknown field", _with(colour="red"), ["cases[0].colour: unknown field"]),
    ("entity type", _entity(type="company"),
     ["cases[0].entity.type: must be one of business, person; got 'company'"]),
    ("empty name", _entity(name="  "), ["cases[0].entity.name: must not be empty"]),
    ("name too long", _entity(name="x" * 301), ["cases[0].entity.name: is 301 characters long"]),
    ("lower-case country", _entity(country="gb"),
     ["cases[0].entity.country: must be a 2-letter ISO code"]),
    ("3-letter country", _entity(country="GBR"), ["cases[0].entity.country: is 3 characters"]),
    ("country as a number", _entity(country=44),
     ["cases[0].entity.country: must be text, got a number"]),
    ("bad email", _entity(email="not-an-email"), ["cases[0].entity.email: must be an email"]),
    ("NUL in a name", _entity(name="Acme\u0000Ltd"),
     ["cases[0].entity.name: contains a NUL character"]),
    ("lone surrogate", json.dumps(_with(user_data={"k": "\ud800"})),
     ["cases[0].user_data.k: contains an invalid character (a lone UTF-16 surrogate)"]),
    ("NUL in registry data", _with(registry_data={"a": ["ok", "x\u0000"]}),
     ["cases[0].registry_data.a[1]: contains a NUL character"]),
    ("bad case id", _with(id="a b/c"), ["cases[0].id: must be 1 to 64 letters"]),
    ("case id too long", _with(id="x" * 65), ["cases[0].id: is 65 characters long"]),
    ("risk score as text", _with(risk_score="high"), ["cases[0].risk_score: must be a whole"]),
    ("risk score true", _with(risk_score=True), ["cases[0].risk_score: must be a whole"]),
    ("risk score 101", _with(risk_score=101), ["cases[0].risk_score: must be a whole number"]),
    ("collection_completed as text", _with(collection_completed="yes"),
     ["cases[0].collection_completed: must be true or false, got text"]),
    ("created_at not a date", _with(created_at="yesterday"),
     ["cases[0].created_at: must be an ISO-8601 date-time"]),
    ("created_at in the future", _with(created_at="2999-01-01T00:00:00Z"),
     ["cases[0].created_at: is in the future"]),
    ("tags as text", _with(tags="vip"), ["cases[0].tags: must be a list, got text"]),
    ("empty tag", _with(tags=["ok", ""]), ["cases[0].tags[1]: must not be empty"]),
    ("user_data as a list", _with(user_data=["a"]), ["cases[0].user_data: must be an object"]),
    ("user_data nested", _with(user_data={"address": {"city": "X"}}),
     ["cases[0].user_data.address: must be text, a number, true/false or null"]),
    ("user_data key too long", _with(user_data={"k" * 101: 1}),
     ["cases[0].user_data: field names must be 1 to 100 characters"]),
    ("registry_data too deep", _with(registry_data={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),
     ["cases[0].registry_data.a.b.c.d.e: is nested deeper than 5 levels"]),
    ("enriched_data as text", _with(enriched_data="yes"),
     ["cases[0].enriched_data: must be an object, got text"]),
    ("processes as an object", _with(processes={"name": "x"}),
     ["cases[0].processes: must be a list"]),
    ("process state", _with(processes=[{"name": "screening", "state": "running"}]),
     ["cases[0].processes[0].state: must be one of pending, completed, failed; got 'running'"]),
    ("process without name", _with(processes=[{"state": "pending"}]),
     ["cases[0].processes[0].name: is required"]),
    ("process listed twice", _with(processes=[{"name": "s"}, {"name": "s"}]),
     ["cases[0].processes[1].name: process 's' is listed twice"]),
    ("document without type", _with(documents=[{"properties": {}}]),
     ["cases[0].documents[0].type: is required"]),
    ("document type with spaces", _with(documents=[a_document(type="Proof of address")]),
     ["cases[0].documents[0].type: must be a document type"]),
    ("file without content", _with(documents=[{"type": "passport", "file": {"filename": "a.pdf"}}]),
     ["cases[0].documents[0].file.content_base64: is required"]),
    ("invalid base64", _with(documents=[{"type": "passport", "file": {
        "filename": "a.pdf", "content_base64": "not base64!!"}}]),
     ["cases[0].documents[0].file.content_base64: is not valid base64"]),
    ("empty file", _file(content=b""), ["cases[0].documents[0].file: the file 'proof.pdf' is empty"]),
    ("path traversal", _file("../../etc/passwd.pdf"),
     ["cases[0].documents[0].file: the file name '../../etc/passwd.pdf' contains a path separator"]),
    ("sub folder", _file("a/b.pdf"), ["documents[0].file: the file name 'a/b.pdf' contains a path"]),
    ("drive letter", _file("C:\\x.pdf"), ["documents[0].file: the file name 'C:\\\\x.pdf' contains"]),
    ("NUL in name", _file("x\x00.pdf"), ["documents[0].file: the file name 'x\\x00.pdf' contains a "
                                         "control character (U+0000)"]),
    ("HTML named .pdf", _file("report.pdf", b"<!doctype html><script>alert(1)</script>"),
     ["documents[0].file: the file 'report.pdf' is refused: its content is not a known type"]),
    ("EXE named .pdf", _file("report.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100),
     ["documents[0].file: the file 'report.pdf' is refused: its content is "
      "application/x-msdownload"]),
    ("UBO without name", _with(ubos=[{"email": "a@b.co"}]), ["cases[0].ubos[0].full_name: is required"]),
    ("UBO bad birth date", _with(ubos=[{"full_name": "Jo", "date_of_birth": "1990-02-30"}]),
     ["cases[0].ubos[0].date_of_birth: 1990-02-30 is not a real date"]),
    ("UBO birth date format", _with(ubos=[{"full_name": "Jo", "date_of_birth": "01/02/1990"}]),
     ["cases[0].ubos[0].date_of_birth: must be a date written YYYY-MM-DD"]),
    ("UBO share 150", _with(ubos=[{"full_name": "Jo", "ownership_percent": 150}]),
     ["cases[0].ubos[0].ownership_percent: must be a number from 0 to 100"]),
    ("KYC completed without result", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "completed"}}]),
     ['cases[0].ubos[0].kyc.result: is required when the state is "completed"']),
    ("KYC sent with a result", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "sent",
                                                                        "result": {"a": 1}}}]),
     ['cases[0].ubos[0].kyc.result: must be absent while the state is "sent"']),
    ("KYC state", _with(ubos=[{"full_name": "Jo", "kyc": {"state": "done"}}]),
     ["cases[0].ubos[0].kyc.state: must be one of not_sent, sent, completed"]),
    ("UBO document path trick", _with(ubos=[{"full_name": "Jo", "documents": [a_document("../p.pdf")]}]),
     ["cases[0].ubos[0].documents[0].file: the file name '../p.pdf' contains a path separator"]),
    ("duplicate ids in the file", {"cases": [a_case(id="DUP"), a_case(), a_case(id="DUP")]},
     ["cases[2].id: 'DUP' is also the id of cases[0]"]),
    ("id already in the database", _with(id="EXISTING-1"),
     ["cases[0].id: case 'EXISTING-1' already exists"]),
]


@pytest.mark.parametrize("name, source, expected", BAD_IMPORTS, ids=[b[0] for b in BAD_IMPORTS])
def test_a_bad_file_is_refused_naming_each_problem_and_nothing_is_written(db_with_a_case, name,
                                                                          source, expected):
    assert_refused_whole(db_with_a_case, source, expected)


def test_several_problems_are_all_listed_at_once(db):
    before = row_counts(db)
    source = {"cases": [a_case(id="OK-1"),
                        a_case(workflow="nope", risk_score=-1),
                        a_case(entity={"type": "robot", "name": "", "country": "uk"},
                               documents=[a_document("../x.pdf")]),
                        a_case(id="OK-1", tags="x")]}
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, source)
    assert refused.value.problems == [
        "cases[1].workflow: unknown workflow 'nope' (known: onboarding, ongoing_monitoring)",
        "cases[1].risk_score: must be a whole number from 0 to 100",
        "cases[2].entity.type: must be one of business, person; got 'robot'",
        "cases[2].entity.name: must not be empty",
        "cases[2].entity.country: must be a 2-letter ISO code in capitals, e.g. GB",
        "cases[2].documents[0].file: the file name '../x.pdf' contains a path separator (/ or \\)",
        "cases[3].tags: must be a list, got text",
        "cases[3].id: 'OK-1' is also the id of cases[0]",
    ]
    assert validate_import(source, db) == refused.value.problems
    assert row_counts(db) == before


def test_validate_import_without_a_database_checks_the_file_only():
    assert validate_import({"cases": [a_case(workflow="anything")]}) == []
    assert validate_import(b"{") == ["malformed JSON at line 1, column 2: Expecting property name "
                                     "enclosed in double quotes"]
    assert validate_import({"cases": [a_case(risk_score=7.5)]}) == [
        "cases[0].risk_score: must be a whole number from 0 to 100"]


@pytest.mark.parametrize("place, where, limit", [
    (lambda s: {"entity": {"type": "business", "name": s, "country": "GB"}}, "entity.name",
     file_format.MAX_NAME_CHARS),
    (lambda s: {"user_data": {"note": s}}, "user_data.note", file_format.MAX_STRING_CHARS),
    (lambda s: {"registry_data": {"filings": [{"text": s}]}}, "registry_data.filings[0].text",
     file_format.MAX_STRING_CHARS),
    (lambda s: {"processes": [{"name": "x", "detail": s}]}, "processes[0].detail",
     file_format.MAX_STRING_CHARS),
    (lambda s: {"documents": [a_document(properties={"comment": s})]},
     "documents[0].properties.comment", file_format.MAX_STRING_CHARS),
    (lambda s: {"ubos": [{"full_name": "Jo", "kyc": {"state": "completed", "result": {"raw": s}}}]},
     "ubos[0].kyc.result.raw", file_format.MAX_STRING_CHARS),
    (lambda s: {"tags": [s]}, "tags[0]", file_format.MAX_TAG_CHARS),
    (lambda s: {"id": s}, "id", 64),
], ids=["entity.name", "user_data", "registry_data", "process detail", "document property",
        "kyc result", "tag", "id"])
def test_a_10_mb_string_anywhere_is_refused_naming_its_place_never_echoing_it(db, place, where,
                                                                                 limit):
    before = row_counts(db)
    raw = json.dumps({"cases": [a_case(**place("x" * TEN_MB))]}).encode()
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, raw)
    # Exactly one problem: the place and the length against that field's limit.
    assert refused.value.problems == [
        f"cases[0].{where}: is 10,485,760 characters long; at most {limit:,}"]
    assert len(str(refused.value)) < 500  # the string itself is never echoed back
    assert row_counts(db) == before


def test_an_oversized_document_file_is_refused(db, monkeypatch):
    monkeypatch.setenv("DOCKET_MAX_UPLOAD_BYTES", "30")
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, _file(content=PDF))
    assert refused.value.problems == [
        "cases[0].documents[0].file.content_base64: the file is larger than the limit of 30 bytes "
        "(DOCKET_MAX_UPLOAD_BYTES)"]
    assert row_counts(db)["file_blobs"] == 0


def test_too_many_cases_in_one_file_are_refused(db, monkeypatch):
    monkeypatch.setattr(file_format, "MAX_CASES_PER_FILE", 3)
    with pytest.raises(InvalidInput) as refused:
        import_cases(db, {"cases": [a_case() for _ in range(4)]})
    assert refused.value.problems == ["cases: has 4 entries; at most 3"]
