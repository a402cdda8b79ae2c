"""Deliveries over HTTP: the list (paged, filtered) and replay, for integrations admins only,
never showing an endpoint's secret or URL.

The test server runs without its embedded dispatcher; this process delivers instead
(`tests.receivers.drain` on the same database) to a real webhook receiver on loopback."""
from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from core.notifications import endpoints as ep
from core.store.models import AuditEvent, Delivery
from tests.api.conftest import a_case, new_id, push
from tests.factories import row_counts
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, drain


class Hook:
    """A webhook receiver whose answer the test sets, and the endpoint pointing at it."""

    def __init__(self, api):
        self.status = 500
        self.receiver = Receiver(behaviour=lambda rec: (self.status, {}, b"answer")).start()
        created = ep.create_endpoint(api.db, self.receiver.url, actor="svc",
                                     description="API delivery tests")
        self.secret, self.endpoint_id = created.secret, created.endpoint.id
        self.receiver.secrets.append(self.secret)


@pytest.fixture(scope="module")
def hook(api):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
        mp.setenv("DOCKET_PUBLIC_URL", "https://docket.example")
        h = Hook(api)
        yield h
        h.receiver.stop()


def approved(api, prefix: str) -> str:
    """A case approved over the API (by the admin key's user): its notifications wait."""
    case_id = push(api, a_case(new_id(prefix)))
    with api.client("all-admin") as c:
        c.post(f"/cases/{case_id}/actions/assign", json={"expected_version": 1})
        r = c.post(f"/cases/{case_id}/actions/approve", json={"expected_version": 2})
    assert r.status_code == 200, r.text
    return case_id


def webhook_of(api, case_id: str) -> Delivery:
    with api.db.read() as s:
        return s.scalars(select(Delivery).where(Delivery.case_id == case_id,
                                                Delivery.channel == "webhook")).one()


def failed_webhook(api, hook, prefix: str) -> Delivery:
    hook.status = 500
    case_id = approved(api, prefix)
    drain(api.db)
    delivery = webhook_of(api, case_id)
    assert delivery.state == "failed" and delivery.last_status_code == 500
    return delivery


def secret_free(hook, *texts: str) -> bool:
    bare = hook.secret.removeprefix("whsec_")
    return not any(bare in t or hook.receiver.url in t for t in texts)


def test_a_failed_webhook_is_listed_then_replayed_to_the_receiver(api, hook):
    failed = failed_webhook(api, hook, "DLV")
    with api.client("read-admin") as c:
        listed = c.get("/deliveries", params={"case_id": failed.case_id, "channel": "webhook"})
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert (body["total"], body["page"], body["pages"]) == (1, 1, 1)
    [row] = body["deliveries"]
    assert (row["id"], row["message_id"], row["state"], row["target"], row["endpoint_id"],
            row["last_status_code"], row["attempts"]) == (
        failed.id, failed.message_id, "failed", f"endpoint:{hook.endpoint_id}",
        hook.endpoint_id, 500, failed.attempts)
    assert "endpoint_url" not in row and row["event_type"] == failed.event_type
    assert row["created_at"].endswith(("Z", "+00:00"))  # RFC 3339 with its offset

    with api.client("all-admin") as c:
        replayed = c.post(f"/deliveries/{failed.id}/replay")
    assert replayed.status_code == 202, replayed.text
    assert replayed.json() == {"delivery_id": failed.id, "state": "pending"}
    queued = webhook_of(api, failed.case_id)
    assert (queued.state, queued.attempts) == ("pending", 0)
    with api.db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.case_id == failed.case_id,
                                                   AuditEvent.kind == "notification.replayed")
                          ).one()
    assert (event.actor, event.via) == ("svc", "api key all-admin")

    hook.status = 200
    drain(api.db)
    assert webhook_of(api, failed.case_id).state == "delivered"
    arrived = [r for r in hook.receiver.ok() if r["id"] == failed.message_id]
    assert len(arrived) == 1 and arrived[0]["verified"]  # same webhook-id, signed
    with api.client("read-admin") as c:
        delivered = c.get("/deliveries", params={"case_id": failed.case_id,
                                                 "status": "delivered"})
    assert [d["id"] for d in delivered.json()["deliveries"]] == [failed.id]
    assert secret_free(hook, listed.text, replayed.text, delivered.text)


def test_the_list_is_paged_newest_first_and_filtered(api, hook):
    hook.status = 200
    for _ in range(3):
        approved(api, "PAGE")
    drain(api.db)
    with api.db.read() as s:
        expected = list(s.scalars(select(Delivery.id).where(
            Delivery.endpoint_id == hook.endpoint_id).order_by(Delivery.id.desc())))
        emails = s.scalar(select(func.count()).select_from(Delivery)
                          .where(Delivery.channel == "email"))
    assert len(expected) >= 3
    seen, pages = [], []
    with api.client("read-admin") as c:
        page = 1
        while True:
            r = c.get("/deliveries", params={"endpoint_id": hook.endpoint_id, "page": page,
                                             "page_size": 2})
            assert r.status_code == 200, r.text
            pages.append(r.json())
            seen += [d["id"] for d in r.json()["deliveries"]]
            if page >= r.json()["pages"]:
                break
            page += 1
        by_channel = c.get("/deliveries", params={"channel": "email", "page_size": 1}).json()
        texts = [c.get("/deliveries").text]
    assert seen == expected
    assert {(p["total"], p["pages"], p["page_size"]) for p in pages} == {
        (len(expected), math.ceil(len(expected) / 2), 2)}
    assert by_channel["total"] == emails and len(by_channel["deliveries"]) == 1
    assert by_channel["deliveries"][0]["channel"] == "email"
    assert secret_free(hook, *texts)


def test_bad_filters_are_named_and_change_nothing(api, hook):
    counts = row_counts(api.db)
    with api.client("read-admin") as c:
        answers = {field: c.get("/deliveries", params={field: value}) for field, value in (
            ("status", "lost"), ("channel", "pigeon"), ("page_size", "0"), ("page", "-1"),
            ("endpoint_id", "x"), ("case_id", "A\x00B"))}
    for field, r in answers.items():
        assert r.status_code == 422, (field, r.text)
        assert r.json()["errors"][0]["field"] == field
    assert row_counts(api.db) == counts


def test_a_replay_is_refused_for_a_pending_or_unknown_delivery(api, hook):
    hook.status = 200
    case_id = approved(api, "PEND")  # not drained: its webhook is still pending
    pending = webhook_of(api, case_id)
    counts = row_counts(api.db)
    with api.client("all-admin") as c:
        still = c.post(f"/deliveries/{pending.id}/replay")
        unknown = c.post("/deliveries/2000000000/replay")
        not_an_id = c.post("/deliveries/first/replay")
    assert still.status_code == 422 and "still pending" in still.json()["detail"]
    assert unknown.status_code == 404
    assert not_an_id.status_code == 422
    assert row_counts(api.db) == counts
    drain(api.db)


def test_only_integrations_admins_see_or_replay_deliveries(api, hook):
    failed = failed_webhook(api, hook, "WHO")
    counts = row_counts(api.db)
    lists, replays = {}, {}
    for key in ("read-analyst", "act-reviewer", "events-admin", None):
        with api.client(key) as c:
            lists[key] = c.get("/deliveries")
    for key in ("act-reviewer", "act-analyst", "read-admin", None):
        with api.client(key) as c:
            replays[key] = c.post(f"/deliveries/{failed.id}/replay")
    assert lists[None].status_code == 401 and replays[None].status_code == 401
    for key in ("read-analyst", "act-reviewer"):  # the scope is there, the role is not
        assert lists[key].status_code == 403 and "integrations" in lists[key].json()["detail"]
    assert lists["events-admin"].status_code == 403  # an admin's key without `read`
    assert "read" in lists["events-admin"].json()["detail"]
    for key in ("act-reviewer", "act-analyst"):
        assert replays[key].status_code == 403 and "integrations" in replays[key].json()["detail"]
    assert replays["read-admin"].status_code == 403  # an admin's key without `act`
    assert "act" in replays["read-admin"].json()["detail"]
    assert row_counts(api.db) == counts
    after = webhook_of(api, failed.case_id)
    assert (after.state, after.attempts) == ("failed", failed.attempts)
    texts = [r.text for r in (*lists.values(), *replays.values())]
    assert not any(failed.message_id in t or failed.case_id in t for t in texts)
    assert secret_free(hook, *texts)
