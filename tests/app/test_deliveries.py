"""The Deliveries page through AppTest: an admin sees every notification and its attempts,
filters them, replays a failed one (same webhook-id) or all failed ones, reads endpoint health,
adds an endpoint (secret shown once), disables/enables it and rotates its secret. Reviewers
and analysts cannot reach the page."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.cases import actions as ca
from core.notifications import endpoints as ep
from core.store.models import Delivery, WebhookEndpoint
from tests.app.harness import errors, new_app, sign_in, texts
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, drain, fast_config
from ui.navigation import specs_for

PAGE = "pages/deliveries.py"


@pytest.fixture(autouse=True)
def allow_loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")


@pytest.fixture
def failing_receiver(db):
    """An endpoint answering 500 (until told otherwise) and one approved case whose webhook
    delivery failed after every attempt."""
    answer = {"status": 500}
    receiver = Receiver(behaviour=lambda rec: (answer["status"], {}, b"nope")).start()
    created = ep.create_endpoint(db, receiver.url, actor="admin", description="CRM bridge")
    receiver.secrets.append(created.secret)
    make_case(db, "C-1", assignee="reviewer", reviewed=True)
    ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))
    drain(db, fast_config(schedule=(0.01,) * 7))
    receiver.answer = answer
    yield receiver
    receiver.stop()


def _admin(monkeypatch, database_url):
    at = sign_in(new_app(monkeypatch, database_url), "admin")
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _frame(at, column):
    return next(d.value for d in at.dataframe if d.value is not None and column in d.value.columns)


def _webhook(db):
    with db.read() as s:
        return s.scalar(select(Delivery).where(Delivery.channel == "webhook"))


def test_admin_sees_deliveries_and_replays_a_failed_one(db, database_url, monkeypatch,
                                                       failing_receiver):
    at = _admin(monkeypatch, database_url)
    assert [m.value for m in at.metric] == ["0", "0", "1", "1"]  # pending delivered failed skipped
    table = _frame(at, "Attempts")
    assert sorted(table["State"]) == ["failed", "skipped"]
    failed_row = list(table["State"]).index("failed")
    assert table["Target"][failed_row] == failing_receiver.url
    assert table["Last status"][failed_row] == "500"

    at.session_state[at.session_state["dl_table_key"]] = {
        "selection": {"rows": [failed_row], "columns": [], "cells": []}}
    at.run()
    attempts = _frame(at, "Outcome")
    assert len(attempts) == 8 and set(attempts["Status"]) == {"500"}
    first_id = _webhook(db).message_id
    assert any(first_id in t for t in texts(at))             # the webhook-id is shown
    assert not at.button(key="dl_replay").disabled
    at.selectbox(key="dl_status").set_value("skipped").run()   # another filter: no stale row
    assert not [b for b in at.button if b.key == "dl_replay"]
    at.selectbox(key="dl_status").set_value("All").run()
    at.session_state[at.session_state["dl_table_key"]] = {
        "selection": {"rows": [failed_row], "columns": [], "cells": []}}
    at.run()
    at.button(key="dl_replay").click().run()
    assert not errors(at), errors(at)
    assert any("queued again" in s.value for s in at.success)
    assert _webhook(db).state == "pending"

    failing_receiver.answer["status"] = 200
    drain(db, fast_config())
    assert _webhook(db).state == "delivered"
    ids = {r["id"] for r in failing_receiver.all()}
    assert ids == {first_id}                                  # the same webhook-id throughout
    assert failing_receiver.ok()[-1]["verified"]


def test_filters_and_replay_all_failed(db, database_url, monkeypatch, failing_receiver):
    at = _admin(monkeypatch, database_url)
    at.selectbox(key="dl_status").set_value("failed").run()
    assert list(_frame(at, "Attempts")["State"]) == ["failed"]
    at.selectbox(key="dl_status").set_value("delivered").run()
    assert _frame(at, "Attempts").empty
    at.selectbox(key="dl_status").set_value("All").run()
    at.text_input(key="dl_case").input("C-404").run()
    assert _frame(at, "Attempts").empty
    at.text_input(key="dl_case").input("").run()
    endpoint_id = ep.list_endpoints(db)[0].id
    at.selectbox(key="dl_endpoint").set_value(endpoint_id).run()
    assert list(_frame(at, "Attempts")["Channel"]) == ["webhook"]

    button = at.button(key="dl_replay_failed")
    assert button.label == "Replay all failed (1)" and not button.disabled
    button.click().run()
    assert any("1 failed deliveries queued again" in s.value for s in at.success)
    assert _webhook(db).state == "pending"
    assert at.button(key="dl_replay_failed").label == "Replay all failed (0)"


def test_endpoint_health_add_disable_enable_rotate(db, database_url, monkeypatch,
                                                  failing_receiver):
    at = _admin(monkeypatch, database_url)
    health = _frame(at, "Delivered")
    assert list(health["Failed"]) == [1] and list(health["Enabled"]) == [True]
    assert "500" in health["Last error"][0]

    at.text_input(key="dl_new_url").input("http://127.0.0.1:9/hook")
    at.multiselect(key="dl_new_events").set_value(["case.approved"])
    at.button(key="FormSubmitter:dl_add-Add endpoint").click().run()
    assert not errors(at), errors(at)
    shown = [c.value for c in at.code]
    assert len(shown) == 1 and shown[0].startswith("whsec_")
    secret = shown[0]
    with db.read() as s:
        assert s.scalars(select(WebhookEndpoint.secrets).order_by(WebhookEndpoint.id.desc())
                         ).first() == [secret]
    at.run()                                                    # shown once only
    assert not at.code and not any(secret in t for t in texts(at))

    new_id = ep.list_endpoints(db)[-1].id
    at.selectbox(key="dl_manage").set_value(new_id).run()
    at.text_input(key="dl_disable_reason").input("maintenance")
    at.button(key="dl_disable").click().run()
    assert ep.get_endpoint(db, new_id).disabled_reason == "maintenance"
    at.button(key="dl_enable").click().run()
    assert ep.get_endpoint(db, new_id).enabled

    at.button(key="dl_rotate").click().run()
    rotated = [c.value for c in at.code]
    assert len(rotated) == 1 and rotated[0].startswith("whsec_") and rotated[0] != secret
    assert ep.get_endpoint(db, new_id).active_secrets == 2
    at.run()
    at.button(key="dl_drop_secrets").click().run()
    assert ep.get_endpoint(db, new_id).active_secrets == 1


def test_a_refused_endpoint_url_is_explained(db, database_url, monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", "")
    at = _admin(monkeypatch, database_url)
    at.text_input(key="dl_new_url").input("http://169.254.169.254/latest")
    at.button(key="FormSubmitter:dl_add-Add endpoint").click().run()
    assert errors(at) and not at.code
    assert ep.list_endpoints(db) == []


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_reviewers_and_analysts_cannot_reach_the_deliveries_page(db, database_url, monkeypatch,
                                                                role):
    assert "Deliveries" not in [p.title for p in specs_for(role)]
    assert "Deliveries" in [p.title for p in specs_for("admin")]
    at = sign_in(new_app(monkeypatch, database_url), role)
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page(PAGE)


def _many_deliveries(db, n: int) -> None:
    """n deliveries, alternately webhooks and SMS, written straight into the tables."""
    from core.store.models import OutboxMessage, utcnow
    with db.unit_of_work() as s:
        for i in range(1, n + 1):
            box = OutboxMessage(message_id=f"msg_page_{i}", case_id=f"P-{i}", channel="webhook",
                                event_type="case.approved", payload={}, state="delivered",
                                created_at=utcnow())
            s.add(box)
            s.flush()
            channel = "sms" if i % 2 else "webhook"
            s.add(Delivery(outbox_id=box.id, message_id=box.message_id, case_id=box.case_id,
                           channel=channel, event_type="case.approved", target=channel,
                           state="delivered", attempts=1, created_at=utcnow()))


def test_the_list_is_paged_in_the_database_newest_first(db, database_url, monkeypatch):
    _many_deliveries(db, 120)
    at = _admin(monkeypatch, database_url)
    assert any("120 deliveries" in c.value and "showing 1–50" in c.value for c in at.caption)
    assert list(_frame(at, "Attempts")["Case"])[:2] == ["P-120", "P-119"]
    assert any(m.value == "Page 1 of 3" for m in at.markdown)
    assert at.button(key="dl_page_previous").disabled
    at.button(key="dl_page_next").click().run()
    at.button(key="dl_page_next").click().run()
    cases = list(_frame(at, "Attempts")["Case"])
    assert cases[0] == "P-20" and cases[-1] == "P-1" and len(cases) == 20
    assert at.button(key="dl_page_next").disabled
    at.selectbox(key="dl_channel").set_value("sms").run()  # a new filter: back to page 1
    frame = _frame(at, "Attempts")
    assert set(frame["Channel"]) == {"sms"} and list(frame["Case"])[0] == "P-119"
    assert any("60 deliveries" in c.value for c in at.caption)
    assert any(m.value == "Page 1 of 2" for m in at.markdown)


def test_beyond_the_count_cap_the_page_says_so_and_still_pages(db, database_url, monkeypatch):
    from core.notifications import deliveries as dl
    _many_deliveries(db, 120)
    monkeypatch.setattr(dl, "COUNT_CAP", 100)
    at = _admin(monkeypatch, database_url)
    assert any("100+ deliveries" in c.value for c in at.caption)
    assert [m.value for m in at.metric] == ["0", "100+", "0", "0"]
    assert any(m.value == "Page 1 of 2+" for m in at.markdown)
    for _ in range(2):
        at.button(key="dl_page_next").click().run()
    assert list(_frame(at, "Attempts")["Case"])[-1] == "P-1"  # the last page is reachable
    assert any(m.value == "Page 3 of 3+" for m in at.markdown)
    page = dl.delivery_page(db, actor="admin", count_cap=100)
    assert (page.total, page.total_capped) == (100, True)
    exact = dl.delivery_page(db, actor="admin")
    assert (exact.total, exact.total_capped) == (120, False)
    assert dl.count_deliveries(db, cap=100)["delivered"] == 101
    assert dl.count_deliveries(db)["delivered"] == 120
