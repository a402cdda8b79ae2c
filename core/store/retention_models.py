"""Retention's tables (migration 0021; core/records/retention.py, docs/RECORDS.md "Retention,
legal hold and erasure"): the legal holds placed on cases and the erasure requests recorded
for them. A case's own retention dates live on `cases` (relationship_ended_at,
retention_until, erasure_requested_at, erased_at), where the case list can filter on them.

Both tables keep their history: a hold is released, not deleted; a request is carried out
(`carried_out_at`), not deleted. Erasing a case clears the free-text reasons here (they may
name the person) and keeps who and when.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class LegalHold(Base):
    """A legal hold: the case is not erased while it is in force (not released, and `until`
    empty or still ahead), whatever its retention date says."""
    __tablename__ = "legal_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # None: until released
    released_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    released_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    release_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    __table_args__ = (Index("ix_legal_holds_case", "case_id", "released_at"),)


class ErasureRequest(Base):
    """A data subject's request for erasure (GDPR Art. 17) recorded by an admin: during the
    retention period it is deferred (Art. 17(3)(b)) and the case restricted to admins; the
    retention run carries it out once retention ends."""
    __tablename__ = "erasure_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    requested_by: Mapped[str] = mapped_column(String(64))  # the admin who recorded it
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(Text)
    carried_out_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_erasure_requests_case", "case_id"),)
