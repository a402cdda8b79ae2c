"""case counts: cases per (workflow, status, entity country, entity kind, assigned or not)

The sidebar and the case list count with SUMs over this small table instead of COUNT(*) over
every case. Database triggers keep it exact whatever writes the rows (service layer, imports,
the CLI, hand-written SQL):

- `cases`: after insert, after delete, after update of workflow / case_status / assignee /
  entity_id (when the key of the row changes);
- `entities`: after update of country / kind (moves all the entity's cases; nothing updates
  these today, the trigger makes it safe if something starts to).

SQLite (one writer at a time): one row per key, updated in place. PostgreSQL: the triggers
only append +1/-1 rows, so concurrent writers never wait on (or deadlock over) a shared
counter row; `core.store.case_counts.compact_case_counts` folds the rows back into one per key.
Readers always SUM(n) per key, so both shapes read the same.

Also: `ix_cases_created` and `ix_cases_status_created` end with `id`, so a deep page
(ORDER BY created_at DESC, id DESC ... OFFSET n) is read from the index alone.

The demo bulk loader drops (SQLite) / disables (PostgreSQL) these triggers during big loads
and recomputes the table with one INSERT ... SELECT ... GROUP BY (`core.demo.bulk_load`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

KEY = "workflow, case_status, country, kind, assigned"

# The whole table from the cases, as the loader also does it (a LEFT JOIN: a case whose entity
# is missing still counts, under country '' and kind '').
RECOUNT = (f"INSERT INTO case_counts ({KEY}, n) "
           "SELECT c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
           "c.assignee IS NOT NULL, count(*) FROM cases c LEFT JOIN entities e ON e.id = c.entity_id "
           "GROUP BY c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
           "c.assignee IS NOT NULL")


def _sqlite_add(row: str, sign: str) -> str:
    """SQLite trigger statements adding `sign`1 to the key of `row` (new/old)."""
    country = f"coalesce((SELECT country FROM entities WHERE id = {row}.entity_id), '')"
    kind = f"coalesce((SELECT kind FROM entities WHERE id = {row}.entity_id), '')"
    match = (f"workflow = {row}.workflow AND case_status = {row}.case_status AND "
             f"country = {country} AND kind = {kind} AND assigned = ({row}.assignee IS NOT NULL)")
    return (f"INSERT INTO case_counts ({KEY}, n) SELECT {row}.workflow, {row}.case_status, "
            f"{country}, {kind}, {row}.assignee IS NOT NULL, 0 "
            f"WHERE NOT EXISTS (SELECT 1 FROM case_counts WHERE {match}); "
            f"UPDATE case_counts SET n = n {sign} 1 WHERE {match}; ")


KEY_CHANGED_SQLITE = ("old.workflow IS NOT new.workflow OR old.case_status IS NOT new.case_status "
                      "OR (old.assignee IS NULL) <> (new.assignee IS NULL) "
                      "OR old.entity_id IS NOT new.entity_id")


def _sqlite_entity_moves(row: str, sign: str) -> str:
    cases_of = (f"FROM cases c WHERE c.entity_id = {row}.id AND c.workflow = case_counts.workflow "
                "AND c.case_status = case_counts.case_status "
                "AND (c.assignee IS NOT NULL) = case_counts.assigned")
    return (f"UPDATE case_counts SET n = n {sign} (SELECT count(*) {cases_of}) "
            f"WHERE country = {row}.country AND kind = {row}.kind; ")


SQLITE_TRIGGERS = {
    "case_counts_ai": ("CREATE TRIGGER case_counts_ai AFTER INSERT ON cases BEGIN "
                       + _sqlite_add("new", "+") + "END"),
    "case_counts_ad": ("CREATE TRIGGER case_counts_ad AFTER DELETE ON cases BEGIN "
                       + _sqlite_add("old", "-") + "END"),
    "case_counts_au": ("CREATE TRIGGER case_counts_au AFTER UPDATE OF workflow, case_status, "
                       f"assignee, entity_id ON cases WHEN {KEY_CHANGED_SQLITE} BEGIN "
                       + _sqlite_add("old", "-") + _sqlite_add("new", "+") + "END"),
    "case_counts_entity_au": (
        "CREATE TRIGGER case_counts_entity_au AFTER UPDATE OF country, kind ON entities "
        "WHEN old.country IS NOT new.country OR old.kind IS NOT new.kind BEGIN "
        f"INSERT INTO case_counts ({KEY}, n) SELECT DISTINCT c.workflow, c.case_status, "
        "new.country, new.kind, c.assignee IS NOT NULL, 0 FROM cases c WHERE c.entity_id = new.id "
        "AND NOT EXISTS (SELECT 1 FROM case_counts k WHERE k.workflow = c.workflow "
        "AND k.case_status = c.case_status AND k.country = new.country AND k.kind = new.kind "
        "AND k.assigned = (c.assignee IS NOT NULL)); "
        + _sqlite_entity_moves("old", "-") + _sqlite_entity_moves("new", "+") + "END"),
}

PG_FUNCTIONS = {
    "case_counts_on_case": """
CREATE FUNCTION case_counts_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO case_counts (workflow, case_status, country, kind, assigned, n)
        SELECT OLD.workflow, OLD.case_status, coalesce(e.country, ''), coalesce(e.kind, ''),
               OLD.assignee IS NOT NULL, -1
        FROM (SELECT 1) AS one LEFT JOIN entities e ON e.id = OLD.entity_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO case_counts (workflow, case_status, country, kind, assigned, n)
        SELECT NEW.workflow, NEW.case_status, coalesce(e.country, ''), coalesce(e.kind, ''),
               NEW.assignee IS NOT NULL, 1
        FROM (SELECT 1) AS one LEFT JOIN entities e ON e.id = NEW.entity_id;
    END IF;
    RETURN NULL;
END $$""",
    "case_counts_on_entity": """
CREATE FUNCTION case_counts_on_entity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_counts (workflow, case_status, country, kind, assigned, n)
    SELECT c.workflow, c.case_status, OLD.country, OLD.kind, c.assignee IS NOT NULL, -count(*)
    FROM cases c WHERE c.entity_id = OLD.id
    GROUP BY c.workflow, c.case_status, c.assignee IS NOT NULL
    UNION ALL
    SELECT c.workflow, c.case_status, NEW.country, NEW.kind, c.assignee IS NOT NULL, count(*)
    FROM cases c WHERE c.entity_id = NEW.id
    GROUP BY c.workflow, c.case_status, c.assignee IS NOT NULL;
    RETURN NULL;
END $$""",
}

PG_TRIGGERS = {
    "case_counts_ai": ("CREATE TRIGGER case_counts_ai AFTER INSERT ON cases "
                       "FOR EACH ROW EXECUTE FUNCTION case_counts_on_case()"),
    "case_counts_ad": ("CREATE TRIGGER case_counts_ad AFTER DELETE ON cases "
                       "FOR EACH ROW EXECUTE FUNCTION case_counts_on_case()"),
    "case_counts_au": ("CREATE TRIGGER case_counts_au AFTER UPDATE OF workflow, case_status, "
                       "assignee, entity_id ON cases FOR EACH ROW WHEN ("
                       "OLD.workflow IS DISTINCT FROM NEW.workflow "
                       "OR OLD.case_status IS DISTINCT FROM NEW.case_status "
                       "OR (OLD.assignee IS NULL) <> (NEW.assignee IS NULL) "
                       "OR OLD.entity_id IS DISTINCT FROM NEW.entity_id) "
                       "EXECUTE FUNCTION case_counts_on_case()"),
    "case_counts_entity_au": ("CREATE TRIGGER case_counts_entity_au AFTER UPDATE OF country, kind "
                              "ON entities FOR EACH ROW WHEN ("
                              "OLD.country IS DISTINCT FROM NEW.country "
                              "OR OLD.kind IS DISTINCT FROM NEW.kind) "
                              "EXECUTE FUNCTION case_counts_on_entity()"),
}
TRIGGER_TABLES = {"case_counts_ai": "cases", "case_counts_ad": "cases",
                  "case_counts_au": "cases", "case_counts_entity_au": "entities"}


def upgrade() -> None:
    op.create_table('case_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow', sa.String(length=64), nullable=False),
    sa.Column('case_status', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('assigned', sa.Boolean(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_counts', schema=None) as batch_op:
        batch_op.create_index('ix_case_counts_key',
                              ['workflow', 'case_status', 'country', 'kind', 'assigned'],
                              unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)
    else:
        for sql in PG_FUNCTIONS.values():
            op.execute(sql)
        for sql in PG_TRIGGERS.values():
            op.execute(sql)
    op.execute(RECOUNT)
    _paging_indexes(with_id=True)


def _paging_indexes(with_id: bool) -> None:
    tail = ['id'] if with_id else []
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_created')
        batch_op.drop_index('ix_cases_status_created')
        batch_op.create_index('ix_cases_created', ['created_at'] + tail, unique=False)
        batch_op.create_index('ix_cases_status_created', ['case_status', 'created_at'] + tail,
                              unique=False)


def downgrade() -> None:
    _paging_indexes(with_id=False)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, table in TRIGGER_TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    with op.batch_alter_table('case_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_case_counts_key')
    op.drop_table('case_counts')
