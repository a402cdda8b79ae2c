"""case search per case, and "assigned to me" within a view as one index range

A search for a common word ("golden": 9,824 of 1M cases) went from the full-text index of
*entities* (0001, CJK terms since 0005) to the entities' cases and then to each case row:
three index probes per match on PostgreSQL, one to two on SQLite, 54–634 ms at 1M cases. The
search terms are now kept per *case*, so a match is a case row at once:

- SQLite: `case_entity_search`, an FTS5 table whose rowid is the case's rowid, with the
  columns of `entity_search` (name, email, registration number, the name's CJK terms).
  Its external content is the view `case_entity_search_source` (each case with its entity's
  terms from 0005's `entity_search_source`), so `'rebuild'` recomputes it and
  `'integrity-check'` compares it. Triggers keep it whatever writes the rows: a case inserted,
  deleted or moved to another entity; an entity's name, email or registration number
  changed; an entity deleted or inserted (after its cases, with checks off). FTS5's
  `'delete'` needs the values indexed, so the triggers compute the old name's CJK terms the
  way 0005 does (the expression is repeated here, frozen).
- PostgreSQL: `cases.search_vector`, a copy of the entity's generated `search_vector` (0005),
  set by a BEFORE trigger when a case is inserted or moved to another entity, rewritten for
  an entity's cases when its vector changes, with its GIN index `ix_cases_search_vector`.
  A case id or a word is then one BitmapOr over two indexes of `cases`.

`entity_search` and `entities.search_vector` stay (the entity's own index).

"Assigned to me" within a view counted its 10,001 cases by probing one large set against
another (SQLite 78–153 ms, PostgreSQL 85–230 ms); two indexes make it one range each:
`ix_cases_assignee_workflow` (assignee, workflow, created_at, id) and
`ix_cases_assignee_entity_view` (assignee, entity_country, entity_kind, created_at, id). A
workflow view's "created in the last 30 days" gets one too: `ix_cases_workflow_created`
(workflow, created_at, id) (PostgreSQL 61 ms for Onboarding, reading the dates' range of
every workflow).

Upgrading a 1M-case database builds the index for every case (SQLite: one 'rebuild';
PostgreSQL: every case row rewritten once) and the two indexes; docs/DEPLOY.md has the time.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 23:50:00
"""
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

# As 0005 (frozen here): Han, kana and Hangul letters, the index's tokenizer and prefixes.
CJK_RANGES = (
    (0x1100, 0x11FF), (0x3005, 0x3007), (0x3041, 0x3096), (0x309D, 0x309F),
    (0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x3131, 0x318E), (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF),
    (0xFF66, 0xFF9F), (0xFFA0, 0xFFDC), (0x20000, 0x3134F),
)
CJK_CLASS = "[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES) + "]"
FTS_OPTIONS = "tokenize='unicode61 remove_diacritics 2', prefix='2 3'"
COLUMNS = "name, email, registration_number, name_cjk"

INDEXES = {"ix_cases_workflow_created": ["workflow", "created_at", "id"],
           "ix_cases_assignee_workflow": ["assignee", "workflow", "created_at", "id"],
           "ix_cases_assignee_entity_view": ["assignee", "entity_country", "entity_kind",
                                             "created_at", "id"]}


def sqlite_cjk_terms(name: str) -> str:
    """SQLite expression: the CJK terms of the text `name`, exactly as 0005 computes them."""
    at = f"substr({name}, p.i, 1)"
    next_is_cjk = f"(substr({name}, p.i + 1, 1) GLOB '{CJK_CLASS}')"
    return (f"CASE WHEN length({name}) = length(CAST({name} AS BLOB)) THEN '' "  # ASCII
            f"WHEN {name} GLOB '*{CJK_CLASS}*' THEN (SELECT group_concat(term, ' ') "
            f"FROM (SELECT substr({name}, p.i, 1 + {next_is_cjk}) AS term "
            f"FROM entity_search_positions p WHERE p.i <= length({name}) "
            f"AND {at} GLOB '{CJK_CLASS}' ORDER BY p.i)) ELSE '' END")


# -- SQLite ---------------------------------------------------------------------------------
SQLITE_VIEW = ("CREATE VIEW case_entity_search_source AS SELECT c.rowid AS case_rowid, "
               "s.name AS name, s.email AS email, s.registration_number AS registration_number, "
               "s.name_cjk AS name_cjk FROM cases c JOIN entity_search_source s "
               "ON s.id = c.entity_id")
_ADD = f"INSERT INTO case_entity_search(rowid, {COLUMNS}) "
_DROP = f"INSERT INTO case_entity_search(case_entity_search, rowid, {COLUMNS}) "


def _of_entity(op_sql: str, rowid: str, entity_id: str) -> str:
    """Index (or take out) the case `rowid` with the current terms of entity `entity_id`."""
    head = "SELECT 'delete', " if op_sql is _DROP else "SELECT "
    return (f"{op_sql}{head}{rowid}, s.name, s.email, s.registration_number, s.name_cjk "
            f"FROM entity_search_source s WHERE s.id = {entity_id}; ")


def _of_cases(op_sql: str, row: str) -> str:
    """Index (or take out) every case of the entity `row` (new / old) with that row's terms."""
    head = "SELECT 'delete', " if op_sql is _DROP else "SELECT "
    return (f"{op_sql}{head}c.rowid, {row}.name, {row}.email, {row}.registration_number, "
            f"{sqlite_cjk_terms(row + '.name')} FROM cases c WHERE c.entity_id = {row}.id; ")


SQLITE_TRIGGERS = {
    "case_entity_search_ai": ("CREATE TRIGGER case_entity_search_ai AFTER INSERT ON cases BEGIN "
                              + _of_entity(_ADD, "new.rowid", "new.entity_id") + "END"),
    "case_entity_search_ad": ("CREATE TRIGGER case_entity_search_ad AFTER DELETE ON cases BEGIN "
                              + _of_entity(_DROP, "old.rowid", "old.entity_id") + "END"),
    "case_entity_search_au": (
        "CREATE TRIGGER case_entity_search_au AFTER UPDATE OF entity_id ON cases "
        "WHEN old.entity_id IS NOT new.entity_id BEGIN "
        + _of_entity(_DROP, "old.rowid", "old.entity_id")
        + _of_entity(_ADD, "new.rowid", "new.entity_id") + "END"),
    "case_entity_search_entities_au": (
        "CREATE TRIGGER case_entity_search_entities_au AFTER UPDATE OF name, email, "
        "registration_number ON entities WHEN old.name IS NOT new.name "
        "OR old.email IS NOT new.email OR old.registration_number IS NOT new.registration_number "
        "BEGIN " + _of_cases(_DROP, "old") + _of_cases(_ADD, "new") + "END"),
    "case_entity_search_entities_ad": (
        "CREATE TRIGGER case_entity_search_entities_ad AFTER DELETE ON entities BEGIN "
        + _of_cases(_DROP, "old") + "END"),
    "case_entity_search_entities_ai": (
        "CREATE TRIGGER case_entity_search_entities_ai AFTER INSERT ON entities BEGIN "
        + _of_cases(_ADD, "new") + "END"),
}

# -- PostgreSQL -----------------------------------------------------------------------------
PG_FUNCTIONS = {
    "case_search_copy": """
CREATE FUNCTION case_search_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := (SELECT e.search_vector FROM entities e WHERE e.id = NEW.entity_id);
    RETURN NEW;
END $$""",
    "case_search_follow": """
CREATE FUNCTION case_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET search_vector = NEW.search_vector WHERE entity_id = NEW.id;
    RETURN NULL;
END $$""",
}
PG_TRIGGERS = {
    "case_search_bi": ("CREATE TRIGGER case_search_bi BEFORE INSERT ON cases FOR EACH ROW "
                       "EXECUTE FUNCTION case_search_copy()"),
    "case_search_bu": ("CREATE TRIGGER case_search_bu BEFORE UPDATE OF entity_id ON cases "
                       "FOR EACH ROW WHEN (OLD.entity_id IS DISTINCT FROM NEW.entity_id) "
                       "EXECUTE FUNCTION case_search_copy()"),
    "case_search_entities_au": (
        "CREATE TRIGGER case_search_entities_au AFTER UPDATE OF name, email, registration_number "
        "ON entities FOR EACH ROW WHEN (OLD.search_vector IS DISTINCT FROM NEW.search_vector) "
        "EXECUTE FUNCTION case_search_follow()"),
}
TRIGGER_TABLES = {"case_search_bi": "cases", "case_search_bu": "cases",
                  "case_search_entities_au": "entities"}
PG_FILL = ("UPDATE cases c SET search_vector = e.search_vector FROM entities e "
           "WHERE e.id = c.entity_id")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(SQLITE_VIEW)
        op.execute(f"CREATE VIRTUAL TABLE case_entity_search USING fts5({COLUMNS}, "
                   "content='case_entity_search_source', content_rowid='case_rowid', "
                   f"{FTS_OPTIONS})")
        op.execute("INSERT INTO case_entity_search(case_entity_search) VALUES('rebuild')")
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)
    else:
        op.execute("ALTER TABLE cases ADD COLUMN search_vector tsvector")
        op.execute(PG_FILL)
        for sql in PG_FUNCTIONS.values():
            op.execute(sql)
        for sql in PG_TRIGGERS.values():
            op.execute(sql)
        op.execute("CREATE INDEX ix_cases_search_vector ON cases USING gin (search_vector)")
    for name, columns in INDEXES.items():
        op.create_index(name, 'cases', columns)
    if op.get_bind().dialect.name == "sqlite" and op.get_bind().exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None:
        op.execute("ANALYZE cases")  # the new indexes' statistics, as 0011


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name='cases')
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS case_entity_search")
        op.execute("DROP VIEW IF EXISTS case_entity_search_source")
    else:
        for name, table in TRIGGER_TABLES.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        op.execute("DROP INDEX IF EXISTS ix_cases_search_vector")
        op.execute("ALTER TABLE cases DROP COLUMN IF EXISTS search_vector")
