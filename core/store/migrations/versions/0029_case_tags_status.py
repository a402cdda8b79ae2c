"""case tags by status, and (PostgreSQL) each case's search terms with its view's, at 1M cases

"Tag pep, status manual review" in All cases (issue #11) counted its total from
`ix_case_tags_created` (tag, created_at, case_id) of migration 0027 and checked each of the
tag's rows for the status in the table of `case_tags`: up to 10,001 counted rows, each a
table lookup, 56 ms at 1M cases on SQLite. `ix_case_tags_status` (tag, case_status,
created_at, case_id) makes the total and the page, newest first, one range each
(core/worklist/tag_query.py builds the same conditions as before). One more index entry
moves with each status change of a tagged case (the trigger `case_tags_dims_au` of 0027
already rewrites the row); docs/PERFORMANCE.md has the cost.

PostgreSQL: "golden" (9,824 of 1M cases) within "Hong Kong companies" visited each of the
9,824 matches of `ix_cases_search_vector` (0023) to keep the view's (119-127 ms at 1M).
`ix_cases_search_vector_terms` replaces it: a GIN index over an expression of the case's own
columns, its search terms and its view dimensions (`=wf=<workflow>`, `=country=<country>`,
`=kind=<kind>`, `=entity=<country>=<kind>`), so "golden within a view" is one intersection
in the index (core/worklist/search_clause.py asks for it, with the same expression: a test
compares the two). Nothing is stored and no trigger keeps anything: the index follows the row.
No word of the search box can match those terms (they start with "=": see the module). The
upgrade builds the index from every case row (docs/PERFORMANCE.md has its time at 1M).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 07:00:00
"""
from alembic import op

revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

INDEXES = {"ix_case_tags_status": ["tag", "case_status", "created_at", "case_id"]}
# as core/worklist/search_clause.py's CASE_TERMS, frozen here (a test compares them)
CASE_TERMS = ("(search_vector || array_to_tsvector(array_remove(ARRAY["
              "'=wf=' || workflow, '=country=' || entity_country, "
              "'=kind=' || entity_kind, "
              "'=entity=' || entity_country || '=' || entity_kind], NULL)))")


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, 'case_tags', columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_cases_search_vector_terms ON cases USING gin ({CASE_TERMS})")
        op.execute("DROP INDEX IF EXISTS ix_cases_search_vector")
        # the expression's statistics (its terms' frequencies): without them the planner
        # estimates 100 matches for 7,486 ("golden" in Onboarding at 1M); a sample, ~1.4 s
        op.execute("ANALYZE cases")
    if op.get_bind().dialect.name == "sqlite" and op.get_bind().exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None:
        op.execute("ANALYZE case_tags")  # the new index's statistics, as 0011 and 0027


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX IF NOT EXISTS ix_cases_search_vector ON cases "
                   "USING gin (search_vector)")
        op.execute("DROP INDEX IF EXISTS ix_cases_search_vector_terms")
    for name in INDEXES:
        op.drop_index(name, table_name='case_tags')
