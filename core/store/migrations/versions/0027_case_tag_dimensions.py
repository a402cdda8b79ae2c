"""case tag dimensions: "a tag within a view" read from `case_tags` alone, at 1M cases

`case_tags` (tag, case_id) (migration 0011) found a tag's cases, but "tag X in the Hong Kong
companies view, newest first, with its total" then probed each of them (~130,000 for a common
tag at 1M) against `cases`: 69-344 ms on SQLite. Each tag row now carries what the default
views, the list's filters and its default sort read — the case's workflow, entity country
and kind, status, assignee and created time — kept by the same triggers:

- insert of a case / update of its tags: the rows are written with the case's columns (read
  from the case row itself on SQLite, so whichever of its insert triggers runs first, the
  entity's copy of migration 0011 included, the rows end up right);
- `case_tags_dims_au`: a change of any of those columns on the case (a status change, a
  reassignment, a move to another entity or workflow) updates its tag rows.

Indexes: (tag, created_at, case_id), (tag, workflow, created_at, case_id) and (tag,
entity_country, entity_kind, created_at, case_id): page 1 of a tag in a default view, newest
first, and its total capped at 10,001 are one index range each (core/worklist/tag_query.py).

The backfill rewrites `case_tags` in one statement (the rows are deleted and written again
from `cases`, as the demo bulk loader rebuilds them); docs/PERFORMANCE.md has its time at 1M.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-06 03:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

MAX_TAG = 50  # as migration 0011 and the list's filter
DIMENSIONS = ("workflow", "entity_country", "entity_kind", "case_status", "assignee",
              "created_at")
COLUMNS = (sa.Column('workflow', sa.String(length=64), nullable=True),
           sa.Column('entity_country', sa.String(length=2), nullable=True),
           sa.Column('entity_kind', sa.String(length=16), nullable=True),
           sa.Column('case_status', sa.String(length=32), nullable=True),
           sa.Column('assignee', sa.String(length=64), nullable=True),
           sa.Column('created_at', sa.DateTime(), nullable=True))
INDEXES = {"ix_case_tags_created": ["tag", "created_at", "case_id"],
           "ix_case_tags_workflow": ["tag", "workflow", "created_at", "case_id"],
           "ix_case_tags_entity_view": ["tag", "entity_country", "entity_kind", "created_at",
                                        "case_id"]}
INTO = "INSERT{or_ignore} INTO case_tags (tag, case_id, " + ", ".join(DIMENSIONS) + ") "
CASE_DIMS = ", ".join(f"c.{d}" for d in DIMENSIONS)
NEW_DIMS = ", ".join(f"NEW.{d}" for d in DIMENSIONS)
CHANGED = " OR ".join(f"OLD.{d} IS DISTINCT FROM NEW.{d}" for d in DIMENSIONS)
SET_DIMS = ", ".join(f"{d} = NEW.{d}" for d in DIMENSIONS)

# -- SQLite ---------------------------------------------------------------------------------
SQLITE_TAGS_IN = (INTO.format(or_ignore=" OR IGNORE") + f"SELECT j.value, c.id, {CASE_DIMS} "
                  "FROM cases c, json_each(c.tags) j WHERE c.id = new.id AND "
                  f"length(j.value) BETWEEN 1 AND {MAX_TAG}; ")
SQLITE_TRIGGERS = {
    "case_tags_ai": "CREATE TRIGGER case_tags_ai AFTER INSERT ON cases BEGIN "
                    + SQLITE_TAGS_IN + "END",
    "case_tags_au": ("CREATE TRIGGER case_tags_au AFTER UPDATE OF tags ON cases BEGIN "
                     "DELETE FROM case_tags WHERE case_id = old.id; " + SQLITE_TAGS_IN + "END"),
    "case_tags_dims_au": (
        f"CREATE TRIGGER case_tags_dims_au AFTER UPDATE OF {', '.join(DIMENSIONS)} ON cases "
        f"WHEN {CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} BEGIN "
        f"UPDATE case_tags SET {SET_DIMS} WHERE case_id = new.id; END"),
}
SQLITE_TAGS_ALL = (INTO.format(or_ignore=" OR IGNORE") + f"SELECT j.value, c.id, {CASE_DIMS} "
                   "FROM cases c, json_each(c.tags) j WHERE length(j.value) BETWEEN 1 AND "
                   f"{MAX_TAG} ORDER BY 1, 2")
# migration 0011's, for the downgrade
SQLITE_TAGS_IN_0011 = ("INSERT OR IGNORE INTO case_tags (tag, case_id) SELECT value, new.id "
                       f"FROM json_each(new.tags) WHERE length(value) BETWEEN 1 AND {MAX_TAG}; ")
SQLITE_TRIGGERS_0011 = {
    "case_tags_ai": "CREATE TRIGGER case_tags_ai AFTER INSERT ON cases BEGIN "
                    + SQLITE_TAGS_IN_0011 + "END",
    "case_tags_au": ("CREATE TRIGGER case_tags_au AFTER UPDATE OF tags ON cases BEGIN "
                     "DELETE FROM case_tags WHERE case_id = old.id; " + SQLITE_TAGS_IN_0011
                     + "END"),
}

# -- PostgreSQL -----------------------------------------------------------------------------
PG_SYNC = """
CREATE OR REPLACE FUNCTION case_tags_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM case_tags WHERE case_id = OLD.id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND json_typeof(NEW.tags) = 'array' THEN
        {into}SELECT DISTINCT t, NEW.id{dims} FROM json_array_elements_text(NEW.tags) t
        WHERE length(t) BETWEEN 1 AND {max_tag};
    END IF;
    RETURN NULL;
END $$"""
PG_DIMS = f"""
CREATE FUNCTION case_tags_dims() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE case_tags SET {SET_DIMS} WHERE case_id = NEW.id;
    RETURN NULL;
END $$"""
# every UPDATE, not UPDATE OF: a BEFORE trigger's change (migration 0011 copies the entity's
# country and kind on a move) does not fire a column trigger on PostgreSQL
PG_DIMS_TRIGGER = ("CREATE TRIGGER case_tags_dims_au AFTER UPDATE ON cases FOR EACH ROW "
                   f"WHEN ({CHANGED}) EXECUTE FUNCTION case_tags_dims()")
PG_TAGS_ALL = (INTO.format(or_ignore="") + f"SELECT DISTINCT t, c.id, {CASE_DIMS} FROM cases c, "
               "json_array_elements_text(CASE WHEN json_typeof(c.tags) = 'array' THEN c.tags "
               f"ELSE '[]'::json END) t WHERE length(t) BETWEEN 1 AND {MAX_TAG}")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("ALTER TABLE cases DISABLE TRIGGER case_tags_ai")
        op.execute("ALTER TABLE cases DISABLE TRIGGER case_tags_au")
    for column in COLUMNS:
        op.add_column('case_tags', column.copy())
    op.execute("DELETE FROM case_tags")  # written again with the case's columns
    op.execute(SQLITE_TAGS_ALL if sqlite else PG_TAGS_ALL)
    for name, columns in INDEXES.items():
        op.create_index(name, 'case_tags', columns)
    if sqlite:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)
        if op.get_bind().exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None:
            op.execute("ANALYZE case_tags")  # as 0011: the planner's statistics, when kept
    else:
        op.execute(PG_SYNC.format(into=INTO.format(or_ignore=""), dims=", " + NEW_DIMS,
                                  max_tag=MAX_TAG))
        op.execute(PG_DIMS)
        op.execute(PG_DIMS_TRIGGER)
        op.execute("ALTER TABLE cases ENABLE TRIGGER case_tags_ai")
        op.execute("ALTER TABLE cases ENABLE TRIGGER case_tags_au")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for sql in SQLITE_TRIGGERS_0011.values():
            op.execute(sql)
    else:
        op.execute("DROP TRIGGER IF EXISTS case_tags_dims_au ON cases")
        op.execute("DROP FUNCTION IF EXISTS case_tags_dims()")
        op.execute(PG_SYNC.format(into="INSERT INTO case_tags (tag, case_id) ", dims="",
                                  max_tag=MAX_TAG))
    for name in INDEXES:
        op.drop_index(name, table_name='case_tags')
    for column in reversed(DIMENSIONS):
        op.drop_column('case_tags', column)
