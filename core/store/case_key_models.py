"""The values a case shares with other cases (migration 0016): one row per (case, kind,
normalised value), so "which other cases have this email, phone, registration number,
person, address or file" is an index lookup (core/cases/related.py).

The rows are derived data: `core.cases.case_keys` computes them from the case's entity,
user-provided and registry data, UBOs and document files, and every writer of those keeps
them current in its own transaction (the importer, reviewer edits, uploads, the demo loader).
docs/RELATED_CASES.md says what is matched and how each value is normalised.
"""
from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base


class CaseKey(Base):
    __tablename__ = "case_keys"
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    # email | phone | registration | person | address | document
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # the normalised value; one longer than 64 characters is stored as its SHA-256 (hex)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    # the value as this case has it, for the reviewer (cut to 300 characters)
    shown: Mapped[str] = mapped_column(String(300))
    __table_args__ = (
        # the other cases with a value, read in index order and cut at a cap
        Index("ix_case_keys_value", "kind", "value", "case_id"),
    )
