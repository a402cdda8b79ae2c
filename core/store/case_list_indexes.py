"""Indexes of `cases` that serve one question of the case list each, declared beside the
table rather than in core/store/models.py (which holds the tables and is at its size limit):
"assigned to me" within a view, and a workflow view's date range, each read and counted as
one index range (migration 0023).

core/store/models.py imports this module at its end, once `cases` is defined; the table is
taken from the metadata (not from models) so that the two modules import no circle.

The case's search terms (migration 0023: SQLite's FTS5 table `case_entity_search`,
PostgreSQL's `cases.search_vector`; since 0029 PostgreSQL's GIN index is over that vector plus
the case's view terms, `ix_cases_search_vector_terms`, core/worklist/search_clause.py) live
outside the ORM, as the entity's full-text index does: the database keeps them with
triggers."""
from __future__ import annotations

from sqlalchemy import Index

from core.store.base import Base

cases = Base.metadata.tables["cases"]  # defined by core/store/models.py, which imports this

LIST_INDEXES = (
    # a workflow view's cases created in a date range (Onboarding, last 30 days)
    Index("ix_cases_workflow_created", cases.c.workflow, cases.c.created_at, cases.c.id),
    # a reviewer's cases of a workflow view (Onboarding, Ongoing monitoring), newest first
    Index("ix_cases_assignee_workflow", cases.c.assignee, cases.c.workflow, cases.c.created_at,
          cases.c.id),
    # a reviewer's cases of an entity view (Hong Kong companies), newest first
    Index("ix_cases_assignee_entity_view", cases.c.assignee, cases.c.entity_country,
          cases.c.entity_kind, cases.c.created_at, cases.c.id),
)
