"""The built-in screener's lists (core/screening/lists.py, migration 0015): the list files an
admin loaded, each load as a numbered version with what changed, the entries the matcher
indexes, and the queue of cases waiting to be screened.

An entry is never deleted: a reload that no longer names it sets `removed_version`, so the
history of a list stays readable; the current entries are those with `removed_version` NULL.
`entry_hash` is the SHA-256 of the entry's canonical JSON: a reload compares hashes to tell
"changed" from "the same". A job is one case to screen (at most one row per case); a worker
claims a batch with a lease (`claimed_by`, `claimed_until`) and deletes the rows it finished.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class ScreeningList(Base):
    __tablename__ = "screening_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)  # slug, e.g. "demo-sanctions"
    title: Mapped[str] = mapped_column(String(100))  # what hits show as their dataset
    format: Mapped[str] = mapped_column(String(20))  # "opensanctions" | "ofac_sdn"
    current_version: Mapped[int] = mapped_column(Integer, default=0)  # 0: none loaded
    entry_count: Mapped[int] = mapped_column(Integer, default=0)  # current entries
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class ScreeningListVersion(Base):
    __tablename__ = "screening_list_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("screening_lists.id"))
    version: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per list
    loaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255), default="")
    file_sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)  # current entries after this load
    added: Mapped[int] = mapped_column(Integer)
    changed: Mapped[int] = mapped_column(Integer)
    removed: Mapped[int] = mapped_column(Integer)
    # {"added": [entry id, ...], "changed": [...], "removed": [...]}: up to 50 ids per kind
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (
        UniqueConstraint("list_id", "version", name="uq_screening_list_versions_version"),
    )


class ScreeningEntry(Base):
    __tablename__ = "screening_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("screening_lists.id"))
    entry_id: Mapped[str] = mapped_column(String(200))  # the entry's id in the list file
    schema: Mapped[str] = mapped_column(String(16))  # "person" | "organization" | "other"
    name: Mapped[str] = mapped_column(String(300))
    aliases: Mapped[list[Any]] = mapped_column(JSON, default=list)
    birth_dates: Mapped[list[Any]] = mapped_column(JSON, default=list)  # YYYY[-MM[-DD]]
    countries: Mapped[list[Any]] = mapped_column(JSON, default=list)  # "RU", or as written
    programme: Mapped[str | None] = mapped_column(String(300), nullable=True)
    url: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    added_version: Mapped[int] = mapped_column(Integer)
    changed_version: Mapped[int] = mapped_column(Integer)  # = added_version until it changes
    removed_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        UniqueConstraint("list_id", "entry_id", name="uq_screening_entries_entry"),
        # the current entries of a list, read in id order (the matcher's index, the diff)
        Index("ix_screening_entries_current", "list_id", "removed_version", "id"),
    )


class ScreeningJob(Base):
    """A case waiting to be screened by the built-in screener (core/cases/screening_queue.py
    queues it, core/screening/job_queue.py claims and finishes it)."""
    __tablename__ = "screening_jobs"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))  # intake | edit | list_reload | manual
    queued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (
        # claiming: the unclaimed (NULL) and the expired leases, oldest first
        Index("ix_screening_jobs_claim", "claimed_until", "queued_at"),
    )
