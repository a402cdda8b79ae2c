"""What each case was last screened against by the built-in screener (migration 0018), so a
list reload rescreens it against what changed only (core/screening/rescreen.py,
docs/SCREENING.md "Rescreening after a reload").

One row per case screened: the lists' versions (`lists`: [[name, version], ...], by name),
the threshold used, and per subject the SHA-256 of what the matcher was asked (name, birth
date, country, kind) with the matcher's memo of that screening (`core.screening.delta`: how
its candidates were chosen, the entries it found). The row is derived data: a case without
one, or whose row does not fit the screening at hand, is simply screened in full.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class CaseScreeningState(Base):
    __tablename__ = "screening_case_states"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    lists: Mapped[list[Any]] = mapped_column(JSON)       # [[list name, version], ...]
    threshold: Mapped[int] = mapped_column(Integer)
    # {subject key: {"query": sha256 hex, "memo": {...}}}
    subjects: Mapped[dict[str, Any]] = mapped_column(JSON)
    screened_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
