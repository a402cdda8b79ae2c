"""The audit log's tables (migration 0019 chained them): the events, the chain's head, and the
per-case keys that commit a case's personal data in the hashed bodies (docs/RECORDS.md).

`core.store.audit` is the only writer of events; `core.store.audit_chain` seals them into the
chain when their transaction commits; `core.records.verify` checks the chain.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class AuditEvent(Base):
    """Append-only: who did what to which case, when, with before/after; chained by `seq`,
    `prev_hash` and `hash` over `body` (the canonical JSON hashed, core/store/audit_chain_format.py).
    The chain columns stay NULL only inside the transaction that records the event. A case
    event's before/after are read through `core.store.audit_values.open_values`."""
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    # an event with a case keeps these NULL while its key exists: its values are in
    # `sealed_values`, encrypted under the case's key (core/store/audit_values.py)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True),
                                                          nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    via: Mapped[str | None] = mapped_column(String(100), nullable=True)  # e.g. "api key crm"
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    body: Mapped[str | None] = mapped_column(Text, nullable=True)
    case_prev_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sealed_values: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # 0026
    __table_args__ = (Index("ix_audit_case", "case_id", "id"), Index("ix_audit_kind", "kind", "id"),
                      Index("ux_audit_seq", "seq", unique=True),
                      Index("ux_audit_prev_hash", "prev_hash", unique=True),
                      Index("ix_audit_case_seq", "case_id", "seq"),
                      # the seal's scan for its transaction's unchained rows (partial: tiny)
                      Index("ix_audit_unchained", "id", postgresql_where=text("seq IS NULL"),
                            sqlite_where=text("seq IS NULL")))


class AuditChainHead(Base):
    """One row (id 1): the last sealed event's seq and hash. Sealing locks it, so appends
    take turns for the few milliseconds of the seal; verify compares the tail with it."""
    __tablename__ = "audit_chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditSubjectKey(Base):
    """A case's key for the commitments (HMAC-SHA256) of its events' before/after values.
    Destroying it (key NULL, destroyed_at set) is how an erasure makes them unprovable."""
    __tablename__ = "audit_subject_keys"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str | None] = mapped_column(String(64), nullable=True)  # hex, 32 bytes
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    destroyed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
