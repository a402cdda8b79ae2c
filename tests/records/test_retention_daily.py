"""The worker's daily retention dry run (core/records/retention_daily.py): once a day the
dry run's counts as one chained `retention.reviewed` event (counts only, no case id or
personal data), the same counts as `retention_plan`; nothing erased; the app's embedded
worker runs it (and not when DOCKET_EMBEDDED_WORKER is off)."""
from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import select, update

from core.intake.events import apply_event
from core.records import retention_daily
from core.records.retention import place_hold, request_erasure, retention_plan
from core.records.retention_erase import erase_case
from core.records.verify import verify_chain
from core.store.audit_chain_models import AuditEvent
from core.store.models import Case, utcnow
from tests.factories import make_case, row_counts


def _ended_long_ago(db, case_id: str) -> None:
    apply_event(db, case_id, "relationship_ended")
    with db.unit_of_work() as s:
        s.execute(update(Case).where(Case.id == case_id).values(
            relationship_ended_at=utcnow() - timedelta(days=6 * 366),
            retention_until=utcnow() - timedelta(days=1)))


def _world(db) -> None:
    """Two cases due, one of them held; one erasure request deferred; one within retention;
    one erased; one whose relationship goes on."""
    for case_id in ("D-1", "D-2", "D-3", "D-4", "D-5", "D-6"):
        make_case(db, case_id, name=f"Person {case_id}")
    _ended_long_ago(db, "D-1")
    _ended_long_ago(db, "D-2")
    place_hold(db, "D-2", actor="admin", reason="Matter 2024-17")
    request_erasure(db, "D-3", actor="admin", reason="Art. 17 request")
    apply_event(db, "D-4", "relationship_ended")
    _ended_long_ago(db, "D-5")
    erase_case(db, "D-5", actor="admin")


def _reviews(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(
            AuditEvent.kind == retention_daily.REVIEWED).order_by(AuditEvent.id)))


def test_the_daily_review_records_the_dry_runs_counts_and_erases_nothing(db):
    _world(db)
    before = {t: n for t, n in row_counts(db).items() if t != "audit_events"}
    review = retention_daily.review_if_due(db)
    assert review is not None
    assert (review.due, review.held, review.deferred, review.kept, review.erased) == \
        (1, 1, 1, 1, 1)
    plan = retention_plan(db, actor="admin")  # the same as the dry run's lists
    assert (len(plan.due), len(plan.held), len(plan.not_over), plan.kept, plan.erased) == \
        (review.due, review.held, review.deferred, review.kept, review.erased)
    assert {t: n for t, n in row_counts(db).items() if t != "audit_events"} == before
    with db.read() as s:
        assert s.get(Case, "D-1").erased_at is None  # a dry run: due, not erased
    [event] = _reviews(db)
    assert (event.case_id, event.actor, event.seq is not None) == (None, "system", True)
    assert event.after == review.as_dict()
    assert set(event.after) == {"at", "due", "held", "deferred", "kept", "erased"}
    assert "D-1" not in json.dumps(event.after) and "Person" not in json.dumps(event.after)
    assert verify_chain(db).ok
    assert "1 case(s) due for erasure, 1 held, 1 erasure request(s) deferred" in review.line()
    last = retention_daily.last_review(db)
    assert last is not None and (last.due, last.held) == (1, 1)


def test_once_a_day(db):
    assert retention_daily.last_review(db) is None
    first = retention_daily.review_if_due(db)
    assert first is not None and first.due == 0
    assert retention_daily.review_if_due(db) is None
    assert retention_daily.review_if_due(db, utcnow() + timedelta(hours=23)) is None
    assert retention_daily.review_if_due(db, utcnow() + timedelta(hours=24, minutes=1)) \
        is not None
    assert len(_reviews(db)) == 2


def test_the_app_servers_embedded_worker_runs_it(db, monkeypatch):
    from core import app_setup
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "off")
    assert app_setup.start_background_retention_reviews(db) is None
    assert _reviews(db) == []
    monkeypatch.setenv("DOCKET_EMBEDDED_WORKER", "on")
    try:
        thread = app_setup.start_background_retention_reviews(db)
        assert thread is not None and app_setup.start_background_retention_reviews(db) is thread
        deadline = time.monotonic() + 30
        while not _reviews(db) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        app_setup.stop_background_retention_reviews()
    assert len(_reviews(db)) == 1


def test_a_failing_review_is_logged_and_the_loop_goes_on(db, monkeypatch, caplog):
    import threading
    calls = []

    def failing(_db):
        calls.append(1)
        stop.set()
        raise RuntimeError("database away")

    stop = threading.Event()
    monkeypatch.setattr(retention_daily, "review_if_due", failing)
    retention_daily.run_daily_reviews(db, stop, check_every=0)
    assert calls == [1] and "retention dry run failed" in caplog.text


def test_the_retention_page_shows_the_last_dry_run(db, database_url, monkeypatch):
    from tests.app.harness import new_app, sign_in
    make_case(db, "D-7")
    _ended_long_ago(db, "D-7")
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page("pages/retention.py").run()
    assert not at.exception, at.exception
    assert any("No daily dry run yet" in c.value for c in at.caption)
    assert retention_daily.review_if_due(db) is not None
    at.switch_page("pages/retention.py").run()
    assert any("Last daily dry run" in c.value and "1 case due, 0 held, 0 deferred" in c.value
               for c in at.caption), "\n".join(c.value for c in at.caption)
