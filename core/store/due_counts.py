"""The SQL that rebuilds `case_due_counts` (migrations 0007 and 0022) from the cases, for the demo bulk
loader and repairs (`core.worklist.overdue.recount_due_counts`); the migration keeps its own
frozen copy. Hours before `fold_before` go to hour 0 (long past, always overdue)."""
from __future__ import annotations

SQLITE_HOUR = "(CAST(strftime('%s', c.due_at) AS INTEGER) / 3600)"
PG_HOUR = "floor(extract(epoch FROM c.due_at) / 3600)::integer"


def due_recount_sql(dialect: str, fold_before: int) -> str:
    hour = SQLITE_HOUR if dialect == "sqlite" else PG_HOUR
    folded = f"CASE WHEN {hour} < {int(fold_before)} THEN 0 ELSE {hour} END"
    return ("INSERT INTO case_due_counts "
            "(workflow, case_status, country, kind, assigned, has_open_hits, due_hour, n) "
            "SELECT c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
            f"c.assignee IS NOT NULL, c.open_hits > 0, {folded}, count(*) FROM cases c "
            "LEFT JOIN entities e ON e.id = c.entity_id WHERE c.due_at IS NOT NULL "
            "GROUP BY c.workflow, c.case_status, coalesce(e.country, ''), coalesce(e.kind, ''), "
            f"c.assignee IS NOT NULL, c.open_hits > 0, {folded}")
