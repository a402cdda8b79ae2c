"""Tables the database keeps by itself, with triggers, and the application only reads: the case
counters (migrations 0003 and 0007) and the tag index of the case list (migrations 0011, 0027).

Triggers keep them exact whatever writes `cases` and `entities` — the service layer, imports,
the CLI, hand-written SQL; the demo bulk loader switches them off for a big load and rebuilds
them in one statement each (core/demo/bulk_load.py)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base


class CaseCount(Base):
    """How many cases there are per (workflow, status, entity country, entity kind, assigned or
    not, with open screening hits or not): the sidebar and list counts are SUMs over these few
    hundred rows instead of COUNT(*) over every case. Kept by database triggers on `cases` and
    `entities` (migrations 0003 and 0022), never written by the application. On SQLite there is one row per key; on PostgreSQL the
    triggers only append +1/-1 rows (no row locks shared between writers) and
    `core.store.case_counts.compact_case_counts` folds them back into one row per key."""
    __tablename__ = "case_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow: Mapped[str] = mapped_column(String(64))
    case_status: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))
    assigned: Mapped[bool] = mapped_column(Boolean)
    # `cases.open_hits > 0` (migration 0022): the list's "open hits" filter counts from here
    has_open_hits: Mapped[bool] = mapped_column(Boolean, server_default=false())
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_case_counts_key", "workflow", "case_status", "country", "kind",
                            "assigned", "has_open_hits"),)


class CaseDueCount(Base):
    """Cases with a due time per (the `case_counts` key, due hour): overdue counts are SUMs
    over the hours before the current one plus an index range over cases due within it
    (core/worklist/overdue.py), not COUNT(*) over every overdue case. `due_hour` is hours
    since 1970-01-01 UTC; 0 holds every hour long past, folded together. Kept by database
    triggers (migrations 0007 and 0022) like `case_counts`: SQLite one row per key, PostgreSQL
    appended +1/-1 rows; `core.worklist.overdue.compact_due_counts` folds both."""
    __tablename__ = "case_due_counts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workflow: Mapped[str] = mapped_column(String(64))
    case_status: Mapped[str] = mapped_column(String(32))
    country: Mapped[str] = mapped_column(String(2))
    kind: Mapped[str] = mapped_column(String(16))
    assigned: Mapped[bool] = mapped_column(Boolean)
    has_open_hits: Mapped[bool] = mapped_column(Boolean, server_default=false())
    due_hour: Mapped[int] = mapped_column(Integer)
    n: Mapped[int] = mapped_column(Integer)
    __table_args__ = (Index("ix_case_due_counts_key", "workflow", "case_status", "country",
                            "kind", "assigned", "has_open_hits", "due_hour"),
                      Index("ix_case_due_counts_hour", "due_hour"))


class CaseTag(Base):
    """One tag of one case: `cases.tags` (a JSON list) as rows, so "cases tagged X" is an
    index range instead of parsing every case's list (migration 0011). Each row carries the
    case's columns the default views, the list's filters and its default sort read (migration
    0027), so "tag X in a view, newest first" and its total are read from here alone
    (core/worklist/tag_query.py). Kept by triggers on `cases` (insert, update of tags or of
    those columns, delete)."""
    __tablename__ = "case_tags"
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    workflow: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entity_country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    entity_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    case_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        Index("ix_case_tags_case", "case_id"),
        # a tag, newest first: in every case / a workflow view / an entity view (0027)
        Index("ix_case_tags_created", "tag", "created_at", "case_id"),
        Index("ix_case_tags_workflow", "tag", "workflow", "created_at", "case_id"),
        Index("ix_case_tags_entity_view", "tag", "entity_country", "entity_kind", "created_at",
              "case_id"),
        # a tag with a status, newest first (0029)
        Index("ix_case_tags_status", "tag", "case_status", "created_at", "case_id"),
    )
