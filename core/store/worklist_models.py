"""Tables of the worklist (core/worklist/): a reviewer's saved filters ("My views",
core/worklist/saved_filters.py, migration 0009) and the single-use links of the Cases page's
CSV download (core/worklist/export_links.py, migration 0012)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class SavedFilter(Base):
    __tablename__ = "saved_filters"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(ForeignKey("users.username"))
    name: Mapped[str] = mapped_column(String(60))
    # view id (None: the first view), statuses, assignee mode, workflows, search, created
    # from/to (ISO dates), tags, overdue, sort, order; checked whole by saved_filters.py
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (UniqueConstraint("owner", "name", name="uq_saved_filters_owner_name"),)


class ExportLink(Base):
    """One CSV download link: who asked, for which list (filter, sort), until when; used once.
    Only the SHA-256 of the link's token is kept, never the token."""
    __tablename__ = "export_links"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex SHA-256
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    # the CaseFilter as JSON (the view as it was when the link was made): export_links.py
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    sort: Mapped[str] = mapped_column(String(20))
    descending: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_export_links_expires_at", "expires_at"),)
