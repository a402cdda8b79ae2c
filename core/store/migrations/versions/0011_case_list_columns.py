"""case list at 1M cases: the entity's name, country and kind on `cases`, a tag index
(`case_tags`), and the indexes the list's views and sorts read in order

The case list filters by entity country and kind (the "Hong Kong companies" view), sorts by
entity name and shows them on every row; with those columns only on `entities`, every such
page joined and sorted hundreds of thousands of rows (~300–900 ms at 1M cases). They are now
copied onto the case, so the list reads `cases` alone, in index order:

- `cases.entity_name`, `entity_country`, `entity_kind`: filled here from `entities`, then kept
  by triggers: a new case takes its entity's values (unless the insert gave them, as the demo
  bulk loader does), a case moved to another entity takes the new one's, and an entity's
  change of name, country or kind is written to all its cases.
- `case_tags` (tag, case_id): `cases.tags` as rows, kept by triggers on `cases` (insert,
  update of tags, delete), so "tagged pep" is an index range instead of parsing every case's
  JSON list. Tags longer than 50 characters (a filter refuses them) are not indexed.
- Indexes: `ix_cases_entity_view` (country, kind, created_at, id) and
  `ix_cases_entity_view_name` (country, kind, entity_name, id) for the entity views newest
  first and by name, `ix_cases_entity_name` (entity_name, id), `ix_cases_status_id`
  (case_status, id) for the name and status sorts.

Upgrading a 1M-case database rewrites every case row once (the copy) and builds four indexes;
docs/PERFORMANCE.md has the time measured. The demo bulk loader drops (SQLite) / disables
(PostgreSQL) the `case_tags_` triggers for a big load and rebuilds the table in one statement.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 11:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

COPY_ALL = ("UPDATE cases SET entity_name = e.name, entity_country = e.country, "
            "entity_kind = e.kind FROM entities e WHERE e.id = cases.entity_id")
MAX_TAG = 50  # as the list's filter (core/worklist/query.py)

# -- SQLite ---------------------------------------------------------------------------------
SQLITE_COPY = ("UPDATE cases SET (entity_name, entity_country, entity_kind) = "
               "(SELECT name, country, kind FROM entities WHERE id = new.entity_id) "
               "WHERE id = new.id; ")
SQLITE_TAGS_IN = ("INSERT OR IGNORE INTO case_tags (tag, case_id) SELECT value, new.id "
                  f"FROM json_each(new.tags) WHERE length(value) BETWEEN 1 AND {MAX_TAG}; ")
SQLITE_TRIGGERS = {
    "case_entity_ai": ("CREATE TRIGGER case_entity_ai AFTER INSERT ON cases "
                       "WHEN new.entity_kind IS NULL BEGIN " + SQLITE_COPY + "END"),
    "case_entity_au": ("CREATE TRIGGER case_entity_au AFTER UPDATE OF entity_id ON cases "
                       "WHEN old.entity_id IS NOT new.entity_id BEGIN " + SQLITE_COPY + "END"),
    "case_entity_entities_au": (
        "CREATE TRIGGER case_entity_entities_au AFTER UPDATE OF name, country, kind ON entities "
        "WHEN old.name IS NOT new.name OR old.country IS NOT new.country "
        "OR old.kind IS NOT new.kind BEGIN "
        "UPDATE cases SET entity_name = new.name, entity_country = new.country, "
        "entity_kind = new.kind WHERE entity_id = new.id; END"),
    "case_tags_ai": "CREATE TRIGGER case_tags_ai AFTER INSERT ON cases BEGIN "
                    + SQLITE_TAGS_IN + "END",
    "case_tags_au": ("CREATE TRIGGER case_tags_au AFTER UPDATE OF tags ON cases BEGIN "
                     "DELETE FROM case_tags WHERE case_id = old.id; " + SQLITE_TAGS_IN + "END"),
    "case_tags_ad": ("CREATE TRIGGER case_tags_ad AFTER DELETE ON cases BEGIN "
                     "DELETE FROM case_tags WHERE case_id = old.id; END"),
}
SQLITE_TAGS_ALL = ("INSERT OR IGNORE INTO case_tags (tag, case_id) SELECT j.value, c.id "
                   f"FROM cases c, json_each(c.tags) j WHERE length(j.value) BETWEEN 1 AND "
                   f"{MAX_TAG} ORDER BY 1, 2")

# -- PostgreSQL -----------------------------------------------------------------------------
PG_FUNCTIONS = {
    "case_entity_copy": """
CREATE FUNCTION case_entity_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.name, e.country, e.kind INTO NEW.entity_name, NEW.entity_country, NEW.entity_kind
    FROM entities e WHERE e.id = NEW.entity_id;
    RETURN NEW;
END $$""",
    "case_entity_follow": """
CREATE FUNCTION case_entity_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET entity_name = NEW.name, entity_country = NEW.country,
                     entity_kind = NEW.kind
    WHERE entity_id = NEW.id;
    RETURN NULL;
END $$""",
    "case_tags_sync": f"""
CREATE FUNCTION case_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM case_tags WHERE case_id = OLD.id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND json_typeof(NEW.tags) = 'array' THEN
        INSERT INTO case_tags (tag, case_id)
        SELECT DISTINCT t, NEW.id FROM json_array_elements_text(NEW.tags) t
        WHERE length(t) BETWEEN 1 AND {MAX_TAG};
    END IF;
    RETURN NULL;
END $$""",
}
PG_TRIGGERS = {
    "case_entity_bi": ("CREATE TRIGGER case_entity_bi BEFORE INSERT ON cases FOR EACH ROW "
                       "WHEN (NEW.entity_kind IS NULL) EXECUTE FUNCTION case_entity_copy()"),
    "case_entity_bu": ("CREATE TRIGGER case_entity_bu BEFORE UPDATE OF entity_id ON cases "
                       "FOR EACH ROW WHEN (OLD.entity_id IS DISTINCT FROM NEW.entity_id) "
                       "EXECUTE FUNCTION case_entity_copy()"),
    "case_entity_entities_au": (
        "CREATE TRIGGER case_entity_entities_au AFTER UPDATE OF name, country, kind "
        "ON entities FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name "
        "OR OLD.country IS DISTINCT FROM NEW.country OR OLD.kind IS DISTINCT FROM NEW.kind) "
        "EXECUTE FUNCTION case_entity_follow()"),
    "case_tags_ai": ("CREATE TRIGGER case_tags_ai AFTER INSERT ON cases FOR EACH ROW "
                     "EXECUTE FUNCTION case_tags_sync()"),
    "case_tags_au": ("CREATE TRIGGER case_tags_au AFTER UPDATE OF tags ON cases FOR EACH ROW "
                     "WHEN (OLD.tags::text IS DISTINCT FROM NEW.tags::text) "
                     "EXECUTE FUNCTION case_tags_sync()"),
    "case_tags_ad": ("CREATE TRIGGER case_tags_ad AFTER DELETE ON cases FOR EACH ROW "
                     "EXECUTE FUNCTION case_tags_sync()"),
}
PG_TAGS_ALL = ("INSERT INTO case_tags (tag, case_id) SELECT DISTINCT t, c.id FROM cases c, "
               "json_array_elements_text(CASE WHEN json_typeof(c.tags) = 'array' THEN c.tags "
               f"ELSE '[]'::json END) t WHERE length(t) BETWEEN 1 AND {MAX_TAG}")
TRIGGER_TABLES = {"case_entity_bi": "cases", "case_entity_bu": "cases",
                  "case_entity_entities_au": "entities", "case_tags_ai": "cases",
                  "case_tags_au": "cases", "case_tags_ad": "cases"}

INDEXES = {"ix_cases_entity_view": ["entity_country", "entity_kind", "created_at", "id"],
           "ix_cases_entity_view_name": ["entity_country", "entity_kind", "entity_name", "id"],
           "ix_cases_entity_name": ["entity_name", "id"],
           "ix_cases_status_id": ["case_status", "id"]}


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column('cases', sa.Column('entity_name', sa.String(length=300), nullable=True))
    op.add_column('cases', sa.Column('entity_country', sa.String(length=2), nullable=True))
    op.add_column('cases', sa.Column('entity_kind', sa.String(length=16), nullable=True))
    op.execute(COPY_ALL)
    op.create_table('case_tags',
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tag', 'case_id')
    )
    op.execute(SQLITE_TAGS_ALL if sqlite else PG_TAGS_ALL)
    op.create_index('ix_case_tags_case', 'case_tags', ['case_id'])
    if sqlite:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)
    else:
        for sql in PG_FUNCTIONS.values():
            op.execute(sql)
        for sql in PG_TRIGGERS.values():
            op.execute(sql)
    for name, columns in INDEXES.items():
        op.create_index(name, 'cases', columns)
    # SQLite's planner statistics, for the new columns and indexes, when the database had
    # them (a new one gets them at the server's start, core/store/statistics.py): without
    # them the new (case_status, id) index was chosen for "manual review, newest first" (1.5 s
    # at 1M cases instead of 7 ms). PostgreSQL's autovacuum analyzes the rewritten table by
    # itself (docs/DEPLOY.md: or VACUUM ANALYZE at once).
    if sqlite and op.get_bind().exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None:
        op.execute("ANALYZE cases")
        op.execute("ANALYZE case_tags")


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='cases')
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name, table in TRIGGER_TABLES.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_index('ix_case_tags_case', table_name='case_tags')
    op.drop_table('case_tags')
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) keeps the table and so its other triggers;
    # a batch copy would drop them with the old table
    for column in ('entity_kind', 'entity_country', 'entity_name'):
        op.drop_column('cases', column)
