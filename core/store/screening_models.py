"""Screening hits of a case (core/screening/, migration 0014): one row per list entry a
screening returned for one subject of a case (the entity, or a UBO) from one source.

A hit keeps what the list says (`entry`, JSON: name, aliases, birth dates, countries,
programme, url), how well it matched (`score`, a whole number 0-100, never a float: audit
bodies are hashed later), which fields matched, and the reviewer's disposition. `match_hash`
is the SHA-256 of the entry's fields and the subject's fields the screening matched: the same
hash seen again means "the same entry for the same person", so a decision sticks across
rescreens and cases (`carried_from`). A hit the latest screening of its subject and source
no longer returned has `gone_at` and blocks nothing.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class ScreeningHit(Base):
    __tablename__ = "screening_hits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    subject_key: Mapped[str] = mapped_column(String(40))    # "entity" | "ubo:<ubo id>"
    subject_name: Mapped[str] = mapped_column(String(300))  # as screened
    source: Mapped[str] = mapped_column(String(80))         # "api" | a hook source | "builtin:<list>"
    dataset: Mapped[str] = mapped_column(String(100))       # the list, e.g. "OFAC SDN"
    entry_id: Mapped[str] = mapped_column(String(200))      # the entry's id on that list
    entry: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[int | None] = mapped_column(Integer, nullable=True)  # 0-100
    matched_fields: Mapped[list[Any]] = mapped_column(JSON, default=list)
    match_hash: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    gone_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # true_match | false_positive | needs_information | None (open)
    disposition: Mapped[str | None] = mapped_column(String(24), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    disposed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disposed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    signed_off_by: Mapped[str | None] = mapped_column(String(64), nullable=True)  # a lead
    signed_off_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # the earlier hit (any case) whose decision this one carries: "cleared before by ..."
    carried_from: Mapped[int | None] = mapped_column(ForeignKey("screening_hits.id"),
                                                     nullable=True)
    __table_args__ = (
        UniqueConstraint("case_id", "subject_key", "source", "entry_id",
                         name="uq_screening_hits_entry"),
        # a case's hits, the open ones (not gone, no disposition) first in reach
        Index("ix_screening_hits_case", "case_id", "gone_at", "disposition"),
        # carry-over: the newest decided hit with this hash, in any case
        Index("ix_screening_hits_match", "match_hash", "disposition", "id"),
    )
