"""An erased case takes no more screening results (docs/RECORDS.md, "What stays"): the API's
push, a vendor's signed callback with a screening rule and the built-in screener would bring
the subject's data back. Refused with the reason (the API: 409), nothing written; the screener
skips the case."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from core.access.api_keys import create_key
from core.cases.screening_queue import enqueue
from core.errors import ActionNotAllowed
from core.intake import hooks
from core.intake.events import apply_event
from core.records.retention_erase import erase_case
from core.screening.hits import record_hooked_screening
from core.store.models import Case, HookMessage, ScreeningHit, utcnow
from tests.factories import row_counts
from tests.intake.hook_payloads import (
    COMPLYADVANTAGE_MAPPING,
    body_of,
    complyadvantage_hit,
    search_result,
    signed,
)
from tests.screening.helpers import ENTRY, screen, ubo_case
from tests.screening.test_screener import VOLKOV, approved_case, load, push, run


def _erased(db, case_id: str) -> None:
    apply_event(db, case_id, "relationship_ended")
    with db.unit_of_work() as s:  # its retention passed
        s.execute(update(Case).where(Case.id == case_id).values(
            relationship_ended_at=utcnow() - timedelta(days=6 * 366),
            retention_until=utcnow() - timedelta(days=1)))
    erase_case(db, case_id, actor="admin")


def test_the_push_refuses_an_erased_open_case_and_writes_nothing(db):
    case_id, subject = ubo_case(db)  # Manual review: open, so only the erasure can refuse it
    _erased(db, case_id)
    before = row_counts(db)
    with pytest.raises(ActionNotAllowed, match=f"case {case_id} was erased on .* no more "
                                               "screening results"):
        screen(db, case_id, "entity", ENTRY)
    assert row_counts(db) == before


def test_the_api_answers_409_with_the_reason(db, database_url, monkeypatch):
    from fastapi.testclient import TestClient

    from api.app import create_api
    monkeypatch.setenv("DOCKET_DATABASE_URL", database_url)
    case_id, _ = ubo_case(db)
    _erased(db, case_id)
    secret = create_key(db, "vendor", scopes="events,read", acting_user="admin",
                        actor="admin").secret
    before = row_counts(db)
    with TestClient(create_api()) as client:
        answer = client.post(f"/cases/{case_id}/screening",
                             json={"subject": "entity", "source": "worldcheck",
                                   "hits": [ENTRY]},
                             headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 409, answer.text
    assert "was erased" in answer.json()["detail"]
    assert row_counts(db) == before


def test_a_vendor_callback_for_an_erased_case_is_refused_and_recorded_as_refused(db):
    secret = hooks.create_source(db, "complyadvantage", mapping=COMPLYADVANTAGE_MAPPING,
                                 acting_user="admin", actor="admin").secret
    case_id, _ = ubo_case(db, "ACME-0400")
    _erased(db, case_id)
    body = body_of(search_result(f"{case_id}:entity", complyadvantage_hit()))
    with pytest.raises(ActionNotAllowed, match="was erased"):
        hooks.receive(db, "complyadvantage", signed(secret, body), body,
                      screening=record_hooked_screening)
    with db.read() as s:
        message = s.scalars(select(HookMessage)).one()
        assert s.scalar(select(func.count()).select_from(ScreeningHit)) == 0
    assert message.outcome == "refused" and "was erased" in message.detail


def test_the_screener_skips_an_erased_case_open_or_approved(db):
    load(db, VOLKOV)
    push(db, "S-1", assignee="reviewer")        # open, its UBO is on the list
    approved_case(db, "S-2", ubo="Igor Volkov")  # approved: a hit would open a review
    for case_id in ("S-1", "S-2"):
        _erased(db, case_id)
    with db.unit_of_work() as s:  # a reload queues them (the queue is not erasure-aware)
        enqueue(s, ["S-1", "S-2"], "list_reload")
    before = row_counts(db)
    runner = run(db)
    assert runner.outcomes.get("skipped") == 2, runner.outcomes
    after = row_counts(db)
    assert {t: n for t, n in after.items() if t != "screening_jobs"} == \
        {t: n for t, n in before.items() if t != "screening_jobs"}
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)
                        .where(Case.origin_case_id == "S-2")) == 0
