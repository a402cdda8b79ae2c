"""A reviewer's saved filters ("My views", core/worklist/saved_filters.py): the sidebar's
filters kept under a name, seen by their owner only. Migration 0009."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
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
