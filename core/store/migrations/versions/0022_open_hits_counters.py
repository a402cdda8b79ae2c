"""open hits in the counters: `case_counts` and `case_due_counts` gain `has_open_hits`

The case list's "open hits" filter (`cases.open_hits > 0`, kept by core/screening/) was
counted with COUNT(*) — on the Cases page only up to 10,000 — because the counters' key
(workflow, status, country, kind, assigned) did not hold it. Both counter tables now have a
boolean `has_open_hits` in their key, and the key indexes end with it (before `due_hour`).

The triggers of migrations 0003 (`case_counts`) and 0007 (`case_due_counts`) are replaced,
same names (the demo bulk loader drops / disables them by their `case_counts_` prefix), same
shape — SQLite one row per key updated in place, PostgreSQL appended +1/-1 rows folded by
compaction — with the new dimension:

- `cases`: after insert, after delete, after update of workflow / case_status / assignee /
  entity_id / open_hits (and due_at for the due counters) when the key of the row changes;
  `open_hits` moves a case only when it crosses 0 (`(old.open_hits > 0) <> (new.open_hits >
  0)`), so a screening that changes 3 open hits to 2 fires nothing;
- `entities`: after update of country / kind (moves all the entity's cases).

The other triggers on `cases` and `entities` (the search index of 0001/0005, the entity
columns and tag rows of 0011) do not touch the counters and stay. Both tables are emptied
and recounted from the cases (the due counters with hours more than two hours past folded
into hour 0, as the compaction does). docs/DEPLOY.md has the time measured at 100k and 1M.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 20:00:00
"""
import importlib.util
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

# Both counter tables, frozen here: (table, its key columns before the count, the due hour's
# SQL for a row or None, the triggers' names, the PostgreSQL functions' names)
SQLITE_HOUR = "(CAST(strftime('%s', {row}.due_at) AS INTEGER) / 3600)"
PG_HOUR = "floor(extract(epoch FROM {row}.due_at) / 3600)::integer"
COUNTERS = {
    "case_counts": {"due": False, "prefix": "case_counts_", "functions": "case_counts_on_"},
    "case_due_counts": {"due": True, "prefix": "case_counts_due_",
                        "functions": "case_due_counts_on_"},
}
TRIGGER_TABLES = {"ai": "cases", "ad": "cases", "au": "cases", "entity_au": "entities"}
KEY = "workflow, case_status, country, kind, assigned, has_open_hits"
OLD_KEY_INDEX = {"case_counts": ("ix_case_counts_key", ["workflow", "case_status", "country",
                                                        "kind", "assigned"]),
                 "case_due_counts": ("ix_case_due_counts_key",
                                     ["workflow", "case_status", "country", "kind", "assigned",
                                      "due_hour"])}


def _columns(table: str) -> str:
    return KEY + (", due_hour" if COUNTERS[table]["due"] else "")


def _hour(table: str, row: str, sqlite: bool) -> str | None:
    if not COUNTERS[table]["due"]:
        return None
    return (SQLITE_HOUR if sqlite else PG_HOUR).format(row=row)


# -- SQLite: one row per key, updated in place -------------------------------------------------

def _sqlite_add(table: str, row: str, sign: str) -> str:
    """Statements adding `sign`1 to the key of `row` (new/old); for the due counters a row
    without a due time matches nothing (its hour is NULL)."""
    country = f"coalesce((SELECT country FROM entities WHERE id = {row}.entity_id), '')"
    kind = f"coalesce((SELECT kind FROM entities WHERE id = {row}.entity_id), '')"
    values = [f"{row}.workflow", f"{row}.case_status", country, kind,
              f"{row}.assignee IS NOT NULL", f"{row}.open_hits > 0"]
    hour = _hour(table, row, True)
    if hour:
        values.append(hour)
    match = " AND ".join(f"{column} = ({value})"
                         for column, value in zip(_columns(table).split(", "), values))
    guard = f"{row}.due_at IS NOT NULL AND " if hour else ""
    return (f"INSERT INTO {table} ({_columns(table)}, n) SELECT {', '.join(values)}, 0 "
            f"WHERE {guard}NOT EXISTS (SELECT 1 FROM {table} WHERE {match}); "
            f"UPDATE {table} SET n = n {sign} 1 WHERE {match}; ")


def _sqlite_entity_moves(table: str) -> str:
    """An entity's new country or kind: the keys its cases move to exist, then each key of
    the old values loses, and of the new gains, that entity's cases of that key."""
    hour = _hour(table, "c", True)
    due = " AND c.due_at IS NOT NULL" if hour else ""
    same = ("c.workflow = {t}.workflow AND c.case_status = {t}.case_status "
            "AND (c.assignee IS NOT NULL) = {t}.assigned "
            "AND (c.open_hits > 0) = {t}.has_open_hits"
            + (f" AND {hour} = {{t}}.due_hour" if hour else ""))
    values = ("c.workflow, c.case_status, new.country, new.kind, c.assignee IS NOT NULL, "
              "c.open_hits > 0" + (f", {hour}" if hour else ""))
    sql = (f"INSERT INTO {table} ({_columns(table)}, n) SELECT DISTINCT {values}, 0 "
           f"FROM cases c WHERE c.entity_id = new.id{due} AND NOT EXISTS (SELECT 1 FROM "
           f"{table} k WHERE {same.format(t='k')} AND k.country = new.country "
           "AND k.kind = new.kind); ")
    for row, sign in (("old", "-"), ("new", "+")):
        sql += (f"UPDATE {table} SET n = n {sign} (SELECT count(*) FROM cases c WHERE "
                f"c.entity_id = {row}.id{due} AND {same.format(t=table)}) "
                f"WHERE country = {row}.country AND kind = {row}.kind; ")
    return sql


def _changed(table: str, old: str, new: str, distinct: str) -> str:
    """The case's key changed (`distinct`: SQLite's IS NOT, PostgreSQL's IS DISTINCT FROM)."""
    changed = [f"{old}.{c} {distinct} {new}.{c}"
               for c in ("workflow", "case_status", "entity_id")]
    changed += [f"({old}.assignee IS NULL) <> ({new}.assignee IS NULL)",
                f"({old}.open_hits > 0) <> ({new}.open_hits > 0)"]
    if COUNTERS[table]["due"]:
        changed.append(f"{old}.due_at {distinct} {new}.due_at")
    return " OR ".join(changed)


def _update_of(table: str) -> str:
    return ("workflow, case_status, assignee, entity_id, open_hits"
            + (", due_at" if COUNTERS[table]["due"] else ""))


def sqlite_triggers(table: str) -> dict[str, str]:
    p = COUNTERS[table]["prefix"]
    due = COUNTERS[table]["due"]
    has_due = "(old.due_at IS NOT NULL OR new.due_at IS NOT NULL) AND " if due else ""
    return {
        f"{p}ai": (f"CREATE TRIGGER {p}ai AFTER INSERT ON cases "
                   + ("WHEN new.due_at IS NOT NULL " if due else "")
                   + "BEGIN " + _sqlite_add(table, "new", "+") + "END"),
        f"{p}ad": (f"CREATE TRIGGER {p}ad AFTER DELETE ON cases "
                   + ("WHEN old.due_at IS NOT NULL " if due else "")
                   + "BEGIN " + _sqlite_add(table, "old", "-") + "END"),
        f"{p}au": (f"CREATE TRIGGER {p}au AFTER UPDATE OF {_update_of(table)} ON cases WHEN "
                   f"{has_due}({_changed(table, 'old', 'new', 'IS NOT')}) BEGIN "
                   + _sqlite_add(table, "old", "-") + _sqlite_add(table, "new", "+") + "END"),
        f"{p}entity_au": (f"CREATE TRIGGER {p}entity_au AFTER UPDATE OF country, kind ON "
                          "entities WHEN old.country IS NOT new.country "
                          "OR old.kind IS NOT new.kind BEGIN "
                          + _sqlite_entity_moves(table) + "END"),
    }


# -- PostgreSQL: appended +1/-1 rows -----------------------------------------------------------

def pg_functions(table: str) -> dict[str, str]:
    f = COUNTERS[table]["functions"]
    due = COUNTERS[table]["due"]

    def one(row: str, n: str) -> str:
        hour = _hour(table, row, False)
        return (f"INSERT INTO {table} ({_columns(table)}, n) "
                f"SELECT {row}.workflow, {row}.case_status, coalesce(e.country, ''), "
                f"coalesce(e.kind, ''), {row}.assignee IS NOT NULL, {row}.open_hits > 0, "
                + (f"{hour}, " if hour else "") + f"{n} "
                f"FROM (SELECT 1) AS one LEFT JOIN entities e ON e.id = {row}.entity_id;")

    def moved(row: str, n: str) -> str:
        hour = _hour(table, "c", False)
        return (f"SELECT c.workflow, c.case_status, {row}.country, {row}.kind, "
                "c.assignee IS NOT NULL, c.open_hits > 0, " + (f"{hour}, " if hour else "")
                + f"{n} FROM cases c WHERE c.entity_id = {row}.id"
                + (" AND c.due_at IS NOT NULL" if due else "")
                + " GROUP BY " + ", ".join(str(i) for i in range(1, 8 if due else 7)))

    old_due = " AND OLD.due_at IS NOT NULL" if due else ""
    new_due = " AND NEW.due_at IS NOT NULL" if due else ""
    return {
        f"{f}case": f"""
CREATE FUNCTION {f}case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE'){old_due} THEN
        {one("OLD", "-1")}
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT'){new_due} THEN
        {one("NEW", "1")}
    END IF;
    RETURN NULL;
END $$""",
        f"{f}entity": f"""
CREATE FUNCTION {f}entity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {table} ({_columns(table)}, n)
    {moved("OLD", "-count(*)")}
    UNION ALL
    {moved("NEW", "count(*)")};
    RETURN NULL;
END $$""",
    }


def pg_triggers(table: str) -> dict[str, str]:
    p, f = COUNTERS[table]["prefix"], COUNTERS[table]["functions"]
    due = COUNTERS[table]["due"]
    has_due = "(OLD.due_at IS NOT NULL OR NEW.due_at IS NOT NULL) AND " if due else ""
    return {
        f"{p}ai": (f"CREATE TRIGGER {p}ai AFTER INSERT ON cases FOR EACH ROW "
                   + ("WHEN (NEW.due_at IS NOT NULL) " if due else "")
                   + f"EXECUTE FUNCTION {f}case()"),
        f"{p}ad": (f"CREATE TRIGGER {p}ad AFTER DELETE ON cases FOR EACH ROW "
                   + ("WHEN (OLD.due_at IS NOT NULL) " if due else "")
                   + f"EXECUTE FUNCTION {f}case()"),
        f"{p}au": (f"CREATE TRIGGER {p}au AFTER UPDATE OF {_update_of(table)} ON cases "
                   f"FOR EACH ROW WHEN ({has_due}"
                   f"({_changed(table, 'OLD', 'NEW', 'IS DISTINCT FROM')})) "
                   f"EXECUTE FUNCTION {f}case()"),
        f"{p}entity_au": (f"CREATE TRIGGER {p}entity_au AFTER UPDATE OF country, kind ON "
                          "entities FOR EACH ROW WHEN (OLD.country IS DISTINCT FROM NEW.country "
                          "OR OLD.kind IS DISTINCT FROM NEW.kind) "
                          f"EXECUTE FUNCTION {f}entity()"),
    }


# -- recount -------------------------------------------------------------------------------------

def recount_sql(table: str, sqlite: bool, fold_before: int) -> str:
    """The whole table from the cases (a LEFT JOIN: a case without its entity counts under
    country '' and kind ''); due hours before `fold_before` go to hour 0."""
    values = ("c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
              "c.assignee IS NOT NULL, c.open_hits > 0")
    where = ""
    hour = _hour(table, "c", sqlite)
    if hour:
        values += f", CASE WHEN {hour} < {int(fold_before)} THEN 0 ELSE {hour} END"
        where = " WHERE c.due_at IS NOT NULL"
    return (f"INSERT INTO {table} ({_columns(table)}, n) SELECT {values}, count(*) "
            f"FROM cases c LEFT JOIN entities e ON e.id = c.entity_id{where} GROUP BY {values}")


def _drop_triggers(sqlite: bool, names: dict[str, str], functions: list[str]) -> None:
    for name, table in names.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else f" ON {table}"))
    if not sqlite:
        for name in functions:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")


def _trigger_names() -> dict[str, str]:
    return {COUNTERS[t]["prefix"] + suffix: on for t in COUNTERS
            for suffix, on in TRIGGER_TABLES.items()}


def _function_names() -> list[str]:
    return [COUNTERS[t]["functions"] + what for t in COUNTERS for what in ("case", "entity")]


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _drop_triggers(sqlite, _trigger_names(), _function_names())
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    fold = int((now - datetime(1970, 1, 1)).total_seconds() // 3600) - 2
    for table, (index, columns) in OLD_KEY_INDEX.items():
        op.execute(f"DELETE FROM {table}")
        op.drop_index(index, table_name=table)
        # a plain ALTER TABLE (no batch copy); the default fills nothing: the table is empty
        op.add_column(table, sa.Column('has_open_hits', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
        new_columns = columns[:5] + ["has_open_hits"] + columns[5:]
        op.create_index(index, table, new_columns, unique=False)
        if sqlite:
            for sql in sqlite_triggers(table).values():
                op.execute(sql)
        else:
            for sql in pg_functions(table).values():
                op.execute(sql)
            for sql in pg_triggers(table).values():
                op.execute(sql)
        op.execute(recount_sql(table, sqlite, fold))


def _revision(filename: str):
    """An earlier revision's module (frozen), for its triggers on the way down."""
    path = Path(__file__).with_name(filename)
    spec = importlib.util.spec_from_file_location(f"docket_revision_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    _drop_triggers(sqlite, _trigger_names(), _function_names())
    counts, due = _revision("0003_case_counts.py"), _revision("0007_sla_due_times.py")
    for table, (index, columns) in OLD_KEY_INDEX.items():
        op.execute(f"DELETE FROM {table}")
        op.drop_index(index, table_name=table)
        op.drop_column(table, 'has_open_hits')
        op.create_index(index, table, columns, unique=False)
    for module in (counts, due):
        if sqlite:
            for sql in module.SQLITE_TRIGGERS.values():
                op.execute(sql)
        else:
            for sql in module.PG_FUNCTIONS.values():
                op.execute(sql)
            for sql in module.PG_TRIGGERS.values():
                op.execute(sql)
    op.execute(counts.RECOUNT)
    op.execute(due.recount_sql("sqlite" if sqlite else "postgresql", 0))
