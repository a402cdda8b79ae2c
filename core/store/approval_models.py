"""The approvals of a case under a workflow's four-eyes rule (core/cases/approvals.py).

One row per approval given: step 1 ("approval 1 of 2") while the case waits for its second
approver, step 2 with the final decision. A first approval that no longer holds — the case was
rejected, or changed after it — is kept, with `withdrawn_at` and why (the audit log says it
too); only rows without `withdrawn_at` count. Migration 0008."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class CaseApproval(Base):
    __tablename__ = "case_approvals"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"))
    step: Mapped[int] = mapped_column(Integer)           # 1, then 2 (the final approval)
    approver: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Why the case needed two approvers when this one was given ("risk score 85 ≥ 70").
    rule: Mapped[str] = mapped_column(String(300), default="")
    # A digest of what was approved (blocks, files, data): a change to any of it withdraws
    # a pending first approval.
    facts_digest: Mapped[str] = mapped_column(String(64), default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    withdrawn_because: Mapped[str | None] = mapped_column(String(300), nullable=True)
    __table_args__ = (Index("ix_case_approvals_case", "case_id", "id"),)
