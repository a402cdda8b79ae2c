"""Demo data: statuses derived from the stored facts, real files, search, ids, demo seeding.

Runs on SQLite by default and on PostgreSQL with DOCKET_TEST_DATABASE_URL (see conftest).
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import re
from collections import Counter

import pytest
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.orm import selectinload

from core.cases.state import facts_of
from core.cases.status import CaseStatus, derive_case_status
from core.demo import bulk_load
from core.demo.files import demo_files
from core.demo.generate import generate_cases, seed_demo_if_empty
from core.store.db import Database
from core.store.models import (
    AuditEvent,
    Case,
    Decision,
    Document,
    DocumentFile,
    Entity,
    FileBlob,
    Process,
    ScreeningHit,
    Ubo,
    User,
)
from core.workflows.definitions import DEFAULT_WORKFLOWS

N = 2000


@pytest.fixture
def bulk_threshold(monkeypatch):
    """Small runs take the bulk path (indexes and FTS triggers dropped and rebuilt)."""
    monkeypatch.setattr(bulk_load, "BULK_MIN_CASES", 1000)


def _count(db: Database, model) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def _search(db: Database, name: str) -> set[int]:
    words = re.findall(r"[0-9a-z]+", name.lower())
    with db.read() as s:
        if db.is_sqlite:
            query = " ".join(f'"{w}"' for w in words)
            rows = s.execute(text("SELECT rowid FROM entity_search WHERE entity_search MATCH :q"),
                             {"q": query})
        else:
            rows = s.execute(text("SELECT id FROM entities "
                                  "WHERE search_vector @@ to_tsquery('simple', :q)"),
                             {"q": " & ".join(words)})
        return {r[0] for r in rows}


def test_every_status_present_in_a_sensible_mix(db, bulk_threshold):
    assert generate_cases(db, N, seed=1) == N
    with db.read() as s:
        counts = Counter(dict(s.execute(select(Case.case_status, func.count())
                                        .group_by(Case.case_status)).all()))
        kinds = Counter(dict(s.execute(select(Entity.kind, func.count())
                                       .group_by(Entity.kind)).all()))
        countries = Counter(dict(s.execute(select(Entity.country, func.count())
                                           .group_by(Entity.country)).all()))
        workflows = set(s.scalars(select(Case.workflow).distinct()))
    assert set(counts) == {st.value for st in CaseStatus}
    assert sum(counts.values()) == N
    main = counts["manual_review"] + counts["approved"] + counts["rejected"]
    assert main > 0.6 * N
    assert set(kinds) == {"business", "person"}
    assert workflows == {"onboarding", "ongoing_monitoring"}
    top = [c for c, _ in countries.most_common(2)]
    assert set(top) == {"HK", "CN"}
    assert {"SG", "GB", "US", "DE", "FR", "AE", "CH", "NL"} <= set(countries)


def test_stored_status_equals_status_derived_from_stored_rows(db, bulk_threshold):
    generate_cases(db, N, seed=2)
    with db.read() as s:
        users = {u.username: u.role for u in s.scalars(select(User))}
        ids = sorted(s.scalars(select(Case.id)))
        sample = random.Random(5).sample(ids, 200)
        # every status in the sample too: add one case of each
        for st in CaseStatus:
            sample.append(s.scalar(select(Case.id).where(Case.case_status == st.value).limit(1)))
        cases = s.scalars(select(Case).where(Case.id.in_(sample)).options(
            selectinload(Case.documents).selectinload(Document.files),
            selectinload(Case.ubos), selectinload(Case.processes))).all()
        decisions = {}
        for d in s.scalars(select(Decision).where(Decision.case_id.in_(sample))):
            decisions.setdefault(d.case_id, []).append(d)
        assert len(cases) == len(set(sample))
        for case in cases:
            facts = facts_of(case)
            assert case.case_status == derive_case_status(facts).value, case.id
            assert case.created_at <= case.status_changed_at <= case.updated_at
            assert 0 <= case.risk_score <= 100
            assert isinstance(case.tags, list)
            assert isinstance(case.user_data, dict) and case.user_data
            assert case.entity.kind in ("business", "person")
            types = DEFAULT_WORKFLOWS[case.workflow]["document_types"]
            assert all(d.document_type in types for d in case.documents)
            assert all(d.files and d.files[0].version == 1 for d in case.documents)
            if case.entity.kind == "business":
                assert 1 <= len(case.ubos) <= 3
                assert {p.name for p in case.processes} <= {"registry_lookup",
                                                           "sanctions_screening"}
            else:
                assert not case.ubos
            for u in case.ubos:
                if u.kyc_state == "completed":
                    assert u.kyc_result["vendor"] and u.kyc_result["outcome"] in (
                        "clear", "consider", "declined")
                    assert 0 <= u.kyc_result["score"] <= 1
            assert all(p.state in ("pending", "completed", "failed") for p in case.processes)
            if case.assignee:
                assert users[case.assignee] in ("reviewer", "admin")
            blocks = [d.block_status for d in case.documents] + [u.block_status for u in case.ubos]
            status = CaseStatus(case.case_status)
            if status is CaseStatus.REVISIONS:
                assert "pending_reupload" in blocks
            if status in (CaseStatus.APPROVED, CaseStatus.REJECTED):
                assert case.decided_by and case.decided_at and case.assignee == case.decided_by
                assert case.decision == status.value
                actions = [d.action for d in decisions[case.id]]
                assert actions[-1] == ("approve" if status is CaseStatus.APPROVED else "reject")
            else:
                assert case.decision is None and case.decided_at is None
            if status is CaseStatus.APPROVED:
                assert "reupload_needed" not in blocks
            if status is CaseStatus.REJECTED:
                assert case.decision_reason
            if status is CaseStatus.COLLECTION_FLOW:
                assert not case.collection_completed and not case.assignee
            for b in case.documents:
                if b.block_status:
                    assert b.reviewed_by and b.reviewed_at
                if b.block_status in ("reupload_needed", "pending_reupload"):
                    assert b.reupload_reason


def _fts_triggers(db: Database) -> dict[str, str]:
    with db.read() as s:
        return dict(s.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND name LIKE 'entities_%'")).all())


def test_search_index_answers_for_generated_names(db, bulk_threshold):
    migrated = _fts_triggers(db) if db.is_sqlite else {}
    generate_cases(db, N, seed=3)
    with db.read() as s:
        entities = s.execute(select(Entity.id, Entity.name).order_by(Entity.id)).all()
    for entity_id, name in random.Random(1).sample(entities, 5):
        assert entity_id in _search(db, name), name
    if db.is_sqlite:
        with db.read() as s:
            indexed = s.scalar(text("SELECT count(*) FROM entity_search"))
        assert _fts_triggers(db) == migrated  # recreated verbatim
        assert sorted(migrated) == ["entities_ad", "entities_ai", "entities_au"]
        assert indexed == N
    # the triggers (SQLite) / generated column (PostgreSQL) still index new entities
    with db.unit_of_work() as s:
        entity = Entity(kind="business", name="Zyxwvut Quokka Holdings Limited", email="",
                        phone="", country="HK", registration_number="")
        s.add(entity)
        s.flush()
        new_id = entity.id
    assert _search(db, "Zyxwvut Quokka") == {new_id}


def _schema(db: Database) -> list:
    with db.read() as s:
        if db.is_sqlite:
            return sorted(s.execute(text(
                "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger')")).all())
        indexes = s.execute(text("SELECT indexname, indexdef FROM pg_indexes "
                                 "WHERE schemaname = current_schema()")).all()
        constraints = s.execute(text(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace")).all()
        return sorted(indexes) + sorted(constraints)


def test_bulk_load_restores_indexes_and_foreign_keys(db, bulk_threshold):
    before = _schema(db)
    assert len(before) > 20
    generate_cases(db, N, seed=4)
    assert _schema(db) == before
    if db.is_sqlite:
        with db.write_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            conn.rollback()
    # a row breaking a foreign key is still refused
    with pytest.raises(Exception):
        with db.unit_of_work() as s:
            s.add(Process(case_id="C-NOPE", name="sanctions_screening", state="pending"))


def test_document_files_are_real_images_and_pdfs_from_a_small_pool(db):
    generate_cases(db, 500, seed=5)
    with db.read() as s:
        blobs = s.scalars(select(FileBlob)).all()
        referenced = set(s.scalars(select(DocumentFile.blob_sha256).distinct()))
        n_files = s.scalar(select(func.count()).select_from(DocumentFile))
        files = s.execute(select(DocumentFile.filename, FileBlob.content_type)
                          .join(FileBlob, FileBlob.sha256 == DocumentFile.blob_sha256)).all()
    assert 15 <= len(blobs) <= 30
    assert n_files > len(blobs) * 10  # shared, never one blob per case
    assert referenced <= {b.sha256 for b in blobs}
    kinds = Counter()
    for blob in blobs:
        assert hashlib.sha256(blob.content).hexdigest() == blob.sha256
        assert blob.size == len(blob.content)
        if blob.content_type == "application/pdf":
            assert blob.content.startswith(b"%PDF-1.") and blob.content.rstrip().endswith(b"%%EOF")
            kinds["pdf"] += 1
        else:
            magic = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
            assert blob.content.startswith(magic[blob.content_type])
            with Image.open(io.BytesIO(blob.content)) as img:
                img.verify()
            with Image.open(io.BytesIO(blob.content)) as img:
                assert img.format == {"image/png": "PNG", "image/jpeg": "JPEG"}[blob.content_type]
                assert img.size[0] >= 600
                img.load()
            kinds[img.format] += 1
    assert kinds["pdf"] >= 5 and kinds["PNG"] >= 3 and kinds["JPEG"] >= 3
    ext = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
    assert all(name.endswith(ext[ctype]) for name, ctype in files)
    # a second run reuses the same blobs
    generate_cases(db, 100, seed=6)
    assert _count(db, FileBlob) == len(blobs)


def test_ids_do_not_collide_when_run_twice(db, bulk_threshold, monkeypatch):
    monkeypatch.setattr(bulk_load, "PARALLEL_MIN_CASES", 1000)  # rows built by a child process
    assert generate_cases(db, N, seed=7) == N
    assert generate_cases(db, N, seed=7) == N      # bulk again (N >= existing)
    assert generate_cases(db, 300, seed=8) == 300  # small: triggers and indexes kept
    total = 2 * N + 300
    with db.read() as s:
        ids = list(s.scalars(select(Case.id)))
        entity_ids = set(s.scalars(select(Case.entity_id)))
    assert len(ids) == len(set(ids)) == total
    assert all(re.fullmatch(r"C-\d{7}", i) for i in ids)
    assert sorted(ids)[-1] == f"C-{total:07d}"
    assert len(entity_ids) == total == _count(db, Entity)
    assert len(_search(db, "limited")) > 0
    # the ORM still gets fresh ids afterwards (PostgreSQL sequences were moved on)
    with db.unit_of_work() as s:
        entity = Entity(kind="person", name="Ida Newcomer", country="GB")
        s.add(entity)
        s.flush()
        case = Case(id="C-NEW-1", workflow="onboarding", entity_id=entity.id,
                    case_status="collection_flow", tags=[], user_data={}, registry_data={})
        s.add(case)
        s.flush()
        s.add(Process(case_id=case.id, name="sanctions_screening", state="pending"))
        s.add(Decision(case_id=case.id, action="reject", reason="test", actor="reviewer"))
        doc = Document(case_id=case.id, document_type="passport")
        s.add(doc)
        s.add(Ubo(case_id=case.id, full_name="X"))
        s.add(AuditEvent(case_id=case.id, actor="system", kind="case.imported"))
        s.flush()
        s.add(DocumentFile(document_id=doc.id, version=1, filename="a.pdf",
                           blob_sha256=demo_files()[0].sha256))
    assert _count(db, Entity) == total + 1


def test_without_users_nothing_is_assigned(database_url):
    db = Database(database_url)
    try:
        generate_cases(db, 300, seed=9)
        with db.read() as s:
            assert s.scalar(select(func.count()).where(Case.assignee.is_not(None))) == 0
            decided = s.scalars(select(Case).where(Case.decision.is_not(None))).all()
        assert decided and all(c.decided_by and c.decided_at for c in decided)
    finally:
        db.dispose()


def test_progress_is_reported(db, monkeypatch):
    monkeypatch.setattr(bulk_load, "BATCH_CASES", 400)
    calls = []
    generate_cases(db, 1000, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(400, 1000), (800, 1000), (1000, 1000)]


def test_seed_demo_if_empty_seeds_once(database_url):
    db = Database(database_url)
    try:
        assert seed_demo_if_empty(db, n_cases=300) is True
        with db.read() as s:
            cases = s.scalars(select(Case)).all()
            users = set(s.scalars(select(User.username)))
            imported = s.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.kind == "case.imported"))
            statuses = {c.case_status for c in cases}
            timeline = s.scalars(select(AuditEvent).where(
                AuditEvent.case_id == cases[0].id)).all()
        assert len(cases) == 300
        assert all("demo" in c.tags for c in cases)
        assert statuses == {st.value for st in CaseStatus}
        assert {"admin", "reviewer", "analyst"} <= users
        assert imported == 300
        assert timeline and all(e.at >= cases[0].created_at for e in timeline)
        assert any(c.assignee for c in cases)
        with db.read() as s:
            assert s.scalar(text("SELECT count(*) FROM views")) > 0
        with db.read() as s:  # a few cases carry screening hits to look at
            hits = s.execute(select(ScreeningHit.case_id, ScreeningHit.subject_key,
                                    ScreeningHit.disposition).order_by(ScreeningHit.id)).all()
            counters = dict(s.execute(select(Case.id, Case.open_hits)
                                      .where(Case.open_hits > 0)).all())
        assert [(key.split(":")[0], disposition) for _, key, disposition in hits] == [
            ("ubo", None), ("entity", "false_positive"), ("ubo", "true_match")]
        assert counters == {hits[0][0]: 1, hits[2][0]: 1}
        assert seed_demo_if_empty(db, n_cases=300) is False
        assert _count(db, Case) == 300
    finally:
        db.dispose()


def test_json_columns_are_valid_json(db):
    generate_cases(db, 300, seed=10)
    with db.read() as s:
        for row in s.execute(text("SELECT tags, user_data, registry_data, enriched_data "
                                  "FROM cases")):
            for value in row:
                if value is not None and isinstance(value, str):
                    json.loads(value)
        props = s.scalars(select(Document.properties)).all()
    assert all(isinstance(p, dict) and p for p in props)
