"""The Alembic migrations own the schema: they must build exactly what core.store.models describes,
and go down and up again cleanly."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.store.db import Database, alembic_config
from core.store.models import Base


def _diff(db: Database):
    with db.write_engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, Base.metadata)
    # the full-text search objects live outside the ORM on purpose
    def search_object(d):
        text = repr(d)
        return "entity_search" in text or "search_vector" in text or "ix_entities_search" in text
    return [d for d in diffs if not search_object(d)]


def test_models_match_the_migrations(database_url):
    db = Database(database_url)
    assert _diff(db) == []
    db.dispose()


def test_downgrade_to_base_and_up_again(database_url):
    db = Database(database_url)
    with db.write_engine.begin() as conn:
        cfg = alembic_config(db)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
        command.upgrade(cfg, "head")
    assert _diff(db) == []
    db.upgrade_schema()  # idempotent on start
    db.dispose()
