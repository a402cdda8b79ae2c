"""What each dispatcher knows of its targets' circuit breakers (migration 0025), shared through
the database so the Deliveries page shows the circuits of every worker process, not only of
the app's embedded one (core/notifications/circuit_board.py).

One row per (target, worker): written by that worker when a circuit opens or closes, deleted
when the worker stops. Rows are a report, not a lock: each worker still decides from its own
breakers (core/notifications/breaker.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base


class DeliveryCircuit(Base):
    __tablename__ = "delivery_circuits"
    target: Mapped[str] = mapped_column(String(64), primary_key=True)   # endpoint:ID, sms, crm, email
    worker_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))            # closed | open (half-open is read off open_until)
    failures: Mapped[int] = mapped_column(Integer)            # consecutive failures when written
    open_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # naive UTC
    opened: Mapped[int] = mapped_column(Integer)              # how many times it opened in this worker
    updated_at: Mapped[datetime] = mapped_column(DateTime)    # naive UTC
