"""A case's SLA clock: restarted on every status change (`core.cases.state.refresh_status`).

Leaving a status after its due time records the breach (`sla_breaches`, for the Overview);
the new status's due time comes from the workflow's SLA (`core.workflows.sla`), None when
it has none (the final statuses never have one).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.store.models import Case, SlaBreach
from core.workflows.sla import due_at_for


def restart_clock(session: Session, case: Case, old_status: str, now: datetime) -> None:
    """Call once the case's status has moved from `old_status` to `case.case_status` at `now`."""
    if case.due_at is not None and case.due_at < now:
        session.add(SlaBreach(case_id=case.id, workflow=case.workflow, case_status=old_status,
                              assignee=case.assignee, due_at=case.due_at, left_at=now))
    case.due_at = due_at_for(session, case.workflow, case.case_status, now, case.risk_level)
