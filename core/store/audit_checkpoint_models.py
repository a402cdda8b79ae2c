"""Signed checkpoints of the audit chain (migration 0020): each row is one signed note
committing to the first `tree_size` chained events through their RFC 6962 Merkle root, so a
chain recomputed after an edit no longer matches an earlier checkpoint
(core/records/checkpoint.py, docs/RECORDS.md "Checkpoints").

`note` is the signed note itself, the one thing to verify; the other columns are copied out
of it for lists and for "the last checkpoint". Rows are only ever added.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base


class AuditCheckpoint(Base):
    __tablename__ = "audit_checkpoints"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC, as every table
    tree_size: Mapped[int] = mapped_column(BigInteger)  # chained events covered, from the first
    root_hash: Mapped[str] = mapped_column(String(64))  # the Merkle root, hex
    head_seq: Mapped[int | None] = mapped_column(BigInteger)  # the last covered event (none: empty)
    head_hash: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(8))  # the signing key's id (4 bytes, hex)
    reason: Mapped[str] = mapped_column(String(200))  # daily | on demand | case file export ...
    note: Mapped[str] = mapped_column(Text)  # the signed note (docs/RECORDS.md)
    __table_args__ = (Index("ix_audit_checkpoints_created_at", "created_at"),)
