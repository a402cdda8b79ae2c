"""SLA due times: `cases.due_at`, overdue counters, recorded breaches

- `cases.due_at` (nullable): when the case is due to leave its status under its workflow's
  SLA (core/workflows/sla.py), set with every status change. Backfilled here from
  `status_changed_at` with the default service levels of this release (onboarding: Manual
  review 24 h; ongoing monitoring: 72 h; any other workflow: onboarding's, as
  `definition_of` gives them; no workflow could name its own before this revision).
- `ix_cases_due` (overdue ranges, the due sort) and `ix_cases_next`: (assignee, status,
  due_at, created_at, id), the order Next case takes one person's (or nobody's) cases in.
- `case_due_counts`: cases with a due time per (workflow, status, country, kind, assigned,
  due hour), kept by triggers like `case_counts` (migration 0003; the trigger names share its
  `case_counts_` prefix, so the demo bulk loader drops / disables them with the others).
  Overdue counts SUM the hours before the current one instead of counting overdue cases.
- `sla_breaches`: cases that left a status after its due time.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The service levels of this release, frozen here (the code's defaults may change later).
DEFAULT_HOURS = {"onboarding": {"manual_review": 24}, "ongoing_monitoring": {"manual_review": 72}}
FALLBACK = "onboarding"

KEY = "workflow, case_status, country, kind, assigned, due_hour"
SQLITE_HOUR = "(CAST(strftime('%s', {row}.due_at) AS INTEGER) / 3600)"
PG_HOUR = "floor(extract(epoch FROM {row}.due_at) / 3600)::integer"


def recount_sql(dialect: str, fold_before: int) -> str:
    """The whole `case_due_counts` table from the cases, hours before `fold_before` folded
    into hour 0 (also used by the demo bulk loader)."""
    hour = (SQLITE_HOUR if dialect == "sqlite" else PG_HOUR).format(row="c")
    folded = f"CASE WHEN {hour} < {int(fold_before)} THEN 0 ELSE {hour} END"
    return (f"INSERT INTO case_due_counts ({KEY}, n) "
            f"SELECT c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
            f"c.assignee IS NOT NULL, {folded}, count(*) FROM cases c "
            "LEFT JOIN entities e ON e.id = c.entity_id WHERE c.due_at IS NOT NULL "
            f"GROUP BY c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
            f"c.assignee IS NOT NULL, {folded}")


def _sqlite_add(row: str, sign: str) -> str:
    """SQLite trigger statements adding `sign`1 to the key and hour of `row` (new/old); a row
    without a due time matches nothing (its hour is NULL)."""
    country = f"coalesce((SELECT country FROM entities WHERE id = {row}.entity_id), '')"
    kind = f"coalesce((SELECT kind FROM entities WHERE id = {row}.entity_id), '')"
    hour = SQLITE_HOUR.format(row=row)
    match = (f"workflow = {row}.workflow AND case_status = {row}.case_status AND "
             f"country = {country} AND kind = {kind} AND assigned = ({row}.assignee IS NOT NULL) "
             f"AND due_hour = {hour}")
    return (f"INSERT INTO case_due_counts ({KEY}, n) SELECT {row}.workflow, {row}.case_status, "
            f"{country}, {kind}, {row}.assignee IS NOT NULL, {hour}, 0 "
            f"WHERE {row}.due_at IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM case_due_counts WHERE {match}); "
            f"UPDATE case_due_counts SET n = n {sign} 1 WHERE {match}; ")


def _sqlite_entity_moves(row: str, sign: str) -> str:
    hour = SQLITE_HOUR.format(row="c")
    cases_of = (f"FROM cases c WHERE c.entity_id = {row}.id AND c.due_at IS NOT NULL "
                "AND c.workflow = case_due_counts.workflow "
                "AND c.case_status = case_due_counts.case_status "
                "AND (c.assignee IS NOT NULL) = case_due_counts.assigned "
                f"AND {hour} = case_due_counts.due_hour")
    return (f"UPDATE case_due_counts SET n = n {sign} (SELECT count(*) {cases_of}) "
            f"WHERE country = {row}.country AND kind = {row}.kind; ")


CHANGED_SQLITE = ("old.workflow IS NOT new.workflow OR old.case_status IS NOT new.case_status "
                  "OR (old.assignee IS NULL) <> (new.assignee IS NULL) "
                  "OR old.entity_id IS NOT new.entity_id OR old.due_at IS NOT new.due_at")

SQLITE_TRIGGERS = {
    "case_counts_due_ai": ("CREATE TRIGGER case_counts_due_ai AFTER INSERT ON cases "
                           "WHEN new.due_at IS NOT NULL BEGIN " + _sqlite_add("new", "+") + "END"),
    "case_counts_due_ad": ("CREATE TRIGGER case_counts_due_ad AFTER DELETE ON cases "
                           "WHEN old.due_at IS NOT NULL BEGIN " + _sqlite_add("old", "-") + "END"),
    "case_counts_due_au": ("CREATE TRIGGER case_counts_due_au AFTER UPDATE OF workflow, "
                           f"case_status, assignee, entity_id, due_at ON cases WHEN "
                           f"({CHANGED_SQLITE}) AND (old.due_at IS NOT NULL OR new.due_at IS NOT "
                           "NULL) BEGIN " + _sqlite_add("old", "-") + _sqlite_add("new", "+")
                           + "END"),
    "case_counts_due_entity_au": (
        "CREATE TRIGGER case_counts_due_entity_au AFTER UPDATE OF country, kind ON entities "
        "WHEN old.country IS NOT new.country OR old.kind IS NOT new.kind BEGIN "
        f"INSERT INTO case_due_counts ({KEY}, n) SELECT DISTINCT c.workflow, c.case_status, "
        f"new.country, new.kind, c.assignee IS NOT NULL, {SQLITE_HOUR.format(row='c')}, 0 "
        "FROM cases c WHERE c.entity_id = new.id AND c.due_at IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM case_due_counts k WHERE k.workflow = c.workflow "
        "AND k.case_status = c.case_status AND k.country = new.country AND k.kind = new.kind "
        f"AND k.assigned = (c.assignee IS NOT NULL) AND k.due_hour = {SQLITE_HOUR.format(row='c')}); "
        + _sqlite_entity_moves("old", "-") + _sqlite_entity_moves("new", "+") + "END"),
}

PG_FUNCTIONS = {
    "case_due_counts_on_case": f"""
CREATE FUNCTION case_due_counts_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.due_at IS NOT NULL THEN
        INSERT INTO case_due_counts ({KEY}, n)
        SELECT OLD.workflow, OLD.case_status, coalesce(e.country, ''), coalesce(e.kind, ''),
               OLD.assignee IS NOT NULL, {PG_HOUR.format(row="OLD")}, -1
        FROM (SELECT 1) AS one LEFT JOIN entities e ON e.id = OLD.entity_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.due_at IS NOT NULL THEN
        INSERT INTO case_due_counts ({KEY}, n)
        SELECT NEW.workflow, NEW.case_status, coalesce(e.country, ''), coalesce(e.kind, ''),
               NEW.assignee IS NOT NULL, {PG_HOUR.format(row="NEW")}, 1
        FROM (SELECT 1) AS one LEFT JOIN entities e ON e.id = NEW.entity_id;
    END IF;
    RETURN NULL;
END $$""",
    "case_due_counts_on_entity": f"""
CREATE FUNCTION case_due_counts_on_entity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_due_counts ({KEY}, n)
    SELECT c.workflow, c.case_status, OLD.country, OLD.kind, c.assignee IS NOT NULL,
           {PG_HOUR.format(row="c")}, -count(*)
    FROM cases c WHERE c.entity_id = OLD.id AND c.due_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6
    UNION ALL
    SELECT c.workflow, c.case_status, NEW.country, NEW.kind, c.assignee IS NOT NULL,
           {PG_HOUR.format(row="c")}, count(*)
    FROM cases c WHERE c.entity_id = NEW.id AND c.due_at IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5, 6;
    RETURN NULL;
END $$""",
}

PG_TRIGGERS = {
    "case_counts_due_ai": ("CREATE TRIGGER case_counts_due_ai AFTER INSERT ON cases "
                           "FOR EACH ROW WHEN (NEW.due_at IS NOT NULL) "
                           "EXECUTE FUNCTION case_due_counts_on_case()"),
    "case_counts_due_ad": ("CREATE TRIGGER case_counts_due_ad AFTER DELETE ON cases "
                           "FOR EACH ROW WHEN (OLD.due_at IS NOT NULL) "
                           "EXECUTE FUNCTION case_due_counts_on_case()"),
    "case_counts_due_au": ("CREATE TRIGGER case_counts_due_au AFTER UPDATE OF workflow, "
                           "case_status, assignee, entity_id, due_at ON cases FOR EACH ROW WHEN ("
                           "(OLD.due_at IS NOT NULL OR NEW.due_at IS NOT NULL) AND ("
                           "OLD.workflow IS DISTINCT FROM NEW.workflow "
                           "OR OLD.case_status IS DISTINCT FROM NEW.case_status "
                           "OR (OLD.assignee IS NULL) <> (NEW.assignee IS NULL) "
                           "OR OLD.entity_id IS DISTINCT FROM NEW.entity_id "
                           "OR OLD.due_at IS DISTINCT FROM NEW.due_at)) "
                           "EXECUTE FUNCTION case_due_counts_on_case()"),
    "case_counts_due_entity_au": ("CREATE TRIGGER case_counts_due_entity_au AFTER UPDATE OF "
                                  "country, kind ON entities FOR EACH ROW WHEN ("
                                  "OLD.country IS DISTINCT FROM NEW.country "
                                  "OR OLD.kind IS DISTINCT FROM NEW.kind) "
                                  "EXECUTE FUNCTION case_due_counts_on_entity()"),
}
TRIGGER_TABLES = {"case_counts_due_ai": "cases", "case_counts_due_ad": "cases",
                  "case_counts_due_au": "cases", "case_counts_due_entity_au": "entities"}


def _backfill(sqlite: bool) -> None:
    """due_at = status_changed_at + the default hours, for the cases now in a status with
    one (the sub-second part of the time is kept)."""
    conn = op.get_bind()
    names = [r[0] for r in conn.execute(sa.text("SELECT name FROM workflows"))]
    for name in names:
        for status, hours in DEFAULT_HOURS.get(name, DEFAULT_HOURS[FALLBACK]).items():
            if sqlite:
                later = ("substr(datetime(status_changed_at, '+' || :hours || ' hours'), 1, 19)"
                         " || substr(status_changed_at, 20)")
            else:
                later = "status_changed_at + make_interval(hours => :hours)"
            conn.execute(sa.text(f"UPDATE cases SET due_at = {later} "
                                 "WHERE workflow = :name AND case_status = :status"),
                         {"hours": int(hours), "name": name, "status": status})


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column('cases', sa.Column('due_at', sa.DateTime(), nullable=True))
    _backfill(sqlite)
    op.create_index('ix_cases_due', 'cases', ['due_at'], unique=False)
    op.create_index('ix_cases_next', 'cases',
                    ['assignee', 'case_status', 'due_at', 'created_at', 'id'], unique=False)
    op.create_table('case_due_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow', sa.String(length=64), nullable=False),
    sa.Column('case_status', sa.String(length=32), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('assigned', sa.Boolean(), nullable=False),
    sa.Column('due_hour', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_due_counts_key', 'case_due_counts',
                    ['workflow', 'case_status', 'country', 'kind', 'assigned', 'due_hour'],
                    unique=False)
    op.create_index('ix_case_due_counts_hour', 'case_due_counts', ['due_hour'], unique=False)
    op.create_table('sla_breaches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('workflow', sa.String(length=64), nullable=False),
    sa.Column('case_status', sa.String(length=32), nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sla_breaches_due', 'sla_breaches', ['due_at'], unique=False)
    if sqlite:
        for sql in SQLITE_TRIGGERS.values():
            op.execute(sql)
    else:
        for sql in PG_FUNCTIONS.values():
            op.execute(sql)
        for sql in PG_TRIGGERS.values():
            op.execute(sql)
    op.execute(recount_sql("sqlite" if sqlite else "postgresql", 0))


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, table in TRIGGER_TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        for name in PG_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_index('ix_sla_breaches_due', table_name='sla_breaches')
    op.drop_table('sla_breaches')
    op.drop_index('ix_case_due_counts_hour', table_name='case_due_counts')
    op.drop_index('ix_case_due_counts_key', table_name='case_due_counts')
    op.drop_table('case_due_counts')
    op.drop_index('ix_cases_next', table_name='cases')
    op.drop_index('ix_cases_due', table_name='cases')
    if sqlite:  # SQLite >= 3.35 drops a column in place (a batch copy would lose triggers)
        op.execute("ALTER TABLE cases DROP COLUMN due_at")
    else:
        op.drop_column('cases', 'due_at')
