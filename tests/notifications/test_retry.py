"""The retry schedule (DOCKET_RETRY_SCHEDULE), the jitter and Retry-After (delta-seconds and
HTTP-date), as units and through a real HTTP receiver and the dispatcher."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from sqlalchemy import select

from core import config
from core.cases import actions as ca
from core.errors import InvalidInput
from core.notifications import channels, safe_http
from core.notifications import deliveries as dl
from core.notifications import endpoints as ep
from core.notifications.dispatcher import Dispatcher
from core.notifications.redact import Redactor
from core.notifications.retry import (
    DEFAULT_SCHEDULE,
    JITTER,
    MAX_RETRY_AFTER,
    configured_schedule,
    next_delay,
    parse_retry_after,
    parse_schedule,
)
from core.store.models import Delivery
from tests.factories import make_case, version_of
from tests.receivers import LOOPBACK_ALLOWLIST, Receiver, fast_config

NOW = datetime(2030, 5, 17, 12, 0, 0, tzinfo=timezone.utc)

# --- parse_schedule / configured_schedule -------------------------------------------------


@pytest.mark.parametrize("text, steps", [
    ("5,300,1800", (5.0, 300.0, 1800.0)),
    (" 5, 300 ,1800 ", (5.0, 300.0, 1800.0)),
    ("0.05,0.5,0", (0.05, 0.5, 0.0)),
    ("5,300,", (5.0, 300.0)),          # a trailing comma is tolerated
    ("60", (60.0,)),
    ("", ()),                          # no step: a failed delivery is not retried
])
def test_parse_schedule_accepts_comma_separated_seconds(text, steps):
    assert parse_schedule(text) == steps


def test_default_schedule_matches_the_documented_setting():
    default = next(s.default for s in config.SETTINGS if s.env == "DOCKET_RETRY_SCHEDULE")
    assert parse_schedule(default) == DEFAULT_SCHEDULE


@pytest.mark.parametrize("text", ["a,b", "5;300", "5s,300", "5,x", "1,2,three", "0x10", "5m"])
def test_parse_schedule_refuses_what_is_not_seconds(text):
    with pytest.raises(InvalidInput) as err:
        parse_schedule(text)
    assert str(err.value) == f"DOCKET_RETRY_SCHEDULE must be comma-separated seconds, got {text!r}"


@pytest.mark.parametrize("text", ["-1", "5,-300", "5,300,-0.5"])
def test_parse_schedule_refuses_negative_steps(text):
    with pytest.raises(InvalidInput, match="DOCKET_RETRY_SCHEDULE steps cannot be negative"):
        parse_schedule(text)


@pytest.mark.parametrize("text", ["nan", "5,nan", "inf", "5,Infinity", "1e400"])
def test_parse_schedule_refuses_non_finite_steps(text):
    """float() takes nan/inf; a nan or infinite step would only blow up later, in
    timedelta(seconds=...) inside the dispatcher, instead of when the setting is read."""
    with pytest.raises(InvalidInput, match="DOCKET_RETRY_SCHEDULE"):
        parse_schedule(text)


def test_parse_schedule_does_not_glue_space_separated_numbers():
    """"5 300" is not comma-separated seconds; it must not silently become 5300 s."""
    with pytest.raises(InvalidInput, match="comma-separated seconds"):
        parse_schedule("5 300")


def test_configured_schedule_reads_the_environment(monkeypatch):
    monkeypatch.delenv("DOCKET_RETRY_SCHEDULE", raising=False)
    assert configured_schedule() == DEFAULT_SCHEDULE
    monkeypatch.setenv("DOCKET_RETRY_SCHEDULE", "1, 2.5")
    assert configured_schedule() == (1.0, 2.5)
    monkeypatch.setenv("DOCKET_RETRY_SCHEDULE", "1,two")
    with pytest.raises(InvalidInput, match="'1,two'"):
        configured_schedule()


# --- next_delay ---------------------------------------------------------------------------

def test_next_delay_follows_the_schedule_within_the_jitter_then_gives_up():
    schedule = (5.0, 300.0, 1800.0)
    rng = random.Random(7)
    for attempt, base in enumerate(schedule, start=1):
        for _ in range(200):
            delay = next_delay(attempt, schedule, rng=rng)
            assert base * (1 - JITTER) <= delay <= base * (1 + JITTER)
    assert next_delay(len(schedule) + 1, schedule, rng=rng) is None
    assert next_delay(len(schedule) + 1, schedule, retry_after=10.0, rng=rng) is None
    assert next_delay(1, (), rng=rng) is None


def test_next_delay_jitter_spreads_retries_and_is_reproducible():
    delays = [next_delay(2, (100.0, 100.0), rng=random.Random(seed)) for seed in range(50)]
    assert min(delays) < 95 and max(delays) > 105  # both sides of the step, not lockstep
    assert len(set(delays)) == 50
    assert next_delay(2, (100.0, 100.0), rng=random.Random(3)) == \
        next_delay(2, (100.0, 100.0), rng=random.Random(3))


def test_next_delay_honours_a_longer_retry_after_only():
    schedule = (10.0, 10.0)
    assert next_delay(1, schedule, retry_after=3600.0, rng=random.Random(1)) == 3600.0
    short = next_delay(1, schedule, retry_after=1.0, rng=random.Random(1))
    assert short == next_delay(1, schedule, rng=random.Random(1)) and 8.0 <= short <= 12.0
    assert next_delay(1, schedule, retry_after=0.0, rng=random.Random(1)) >= 8.0


# --- parse_retry_after: delta-seconds ------------------------------------------------------

@pytest.mark.parametrize("value, seconds", [
    ("120", 120.0), (" 120 ", 120.0), ("0", 0.0), ("86400", 86400.0),
    ("86401", MAX_RETRY_AFTER), ("31536000", MAX_RETRY_AFTER), ("9" * 400, MAX_RETRY_AFTER),
])
def test_retry_after_delta_seconds_capped_at_a_day(value, seconds):
    assert MAX_RETRY_AFTER == 86400.0
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("value", [None, "", "   ", "-5", "+5", "1.5", "1e3", "0x10", "soon",
                                   "120 seconds", "12 0"])
def test_retry_after_malformed_values_are_ignored(value):
    assert parse_retry_after(value, NOW) is None


@pytest.mark.parametrize("value", ["\u00b2", "3\u00b2", "\u00b9\u00b2\u00b3"])
def test_retry_after_latin1_superscript_digits_are_ignored_not_a_crash(value):
    """Header values arrive decoded as latin-1, which has superscript digits ¹ ² ³:
    str.isdigit() says yes, float() says no. A receiver's odd header must give None."""
    assert parse_retry_after(value, NOW) is None


# --- parse_retry_after: HTTP-date --------------------------------------------------------

def test_retry_after_http_date_in_the_future_and_the_past():
    future = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert future.endswith(" GMT")
    assert parse_retry_after(future, NOW) == 90.0
    past = format_datetime(NOW - timedelta(hours=3), usegmt=True)
    assert parse_retry_after(past, NOW) == 0.0
    assert parse_retry_after(format_datetime(NOW, usegmt=True), NOW) == 0.0
    far = format_datetime(NOW + timedelta(days=30), usegmt=True)
    assert parse_retry_after(far, NOW) == MAX_RETRY_AFTER


def test_retry_after_http_date_with_an_offset_or_no_zone():
    plus_two = timezone(timedelta(hours=2))
    assert parse_retry_after(format_datetime((NOW + timedelta(minutes=5)).astimezone(plus_two)),
                             NOW) == 300.0
    assert parse_retry_after("Fri, 17 May 2030 12:01:00 -0000", NOW) == 60.0  # no zone: UTC


def test_retry_after_obsolete_http_date_formats():
    """RFC 9110 5.6.7: recipients accept the RFC 850 and asctime forms too."""
    now = datetime(1994, 11, 6, 8, 0, 0, tzinfo=timezone.utc)
    for value in ("Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                  "Sun Nov  6 08:49:37 1994"):
        assert parse_retry_after(value, now) == 49 * 60 + 37.0


def test_retry_after_http_date_without_now_uses_the_clock():
    assert parse_retry_after("Wed, 01 Jan 2199 00:00:00 GMT") == MAX_RETRY_AFTER
    assert parse_retry_after("Fri, 01 Jan 1999 00:00:00 GMT") == 0.0


@pytest.mark.parametrize("value", [
    "Wed, 32 Oct 2030 07:28:00 GMT",     # no such day
    "Wed, 21 Oct 2030 25:28:00 GMT",     # no such hour
    "Wed, 21 Oct 99999 07:28:00 GMT",    # year out of range
    "Wed, 21 Foo 2030 07:28:00 GMT",     # no such month
    "21 Oct",
    "Wed, 21 Oct 2030",
])
def test_retry_after_malformed_http_dates_are_ignored(value):
    assert parse_retry_after(value, NOW) is None


# --- through a real HTTP receiver and the dispatcher --------------------------------------

@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("DOCKET_OUTBOUND_ALLOWLIST", LOOPBACK_ALLOWLIST)
    monkeypatch.setenv("DOCKET_SMTP_HOST", "")  # emails skipped: this is about HTTP


@pytest.mark.parametrize("header, expected", [
    ("7", 7.0),
    ("Wed, 01 Jan 2199 00:00:00 GMT", MAX_RETRY_AFTER),
    ("Fri, 01 Jan 1999 00:00:00 GMT", 0.0),
    ("whenever", None),
    ("\u00b2", None),
])
def test_retry_after_from_a_real_503(loopback, header, expected):
    receiver = Receiver(behaviour=lambda rec: (503, {"Retry-After": header}, b"busy")).start()
    try:
        result = safe_http.request("POST", receiver.url, body=b"{}", timeout=(2.0, 5.0))
        assert result.headers["retry-after"] == header
        outcome = channels.from_http(result, Redactor([]), gone_disables=False)
    finally:
        receiver.stop()
    assert (outcome.kind, outcome.error, outcome.retry_after) == ("retry", "HTTP 503", expected)


def test_dispatcher_waits_as_long_as_an_http_date_retry_after_asks(db, loopback):
    receiver = Receiver(behaviour=lambda rec: (
        503, {"Retry-After": "Wed, 01 Jan 2199 00:00:00 GMT"}, b"busy")).start()
    try:
        created = ep.create_endpoint(db, receiver.url, actor="admin")
        receiver.secrets.append(created.secret)
        make_case(db, "C-1", assignee="reviewer", reviewed=True)
        ca.approve_case(db, "C-1", actor="reviewer", expected_version=version_of(db, "C-1"))
        Dispatcher(db, fast_config()).run_once()  # the webhook (and the skipped email)
    finally:
        receiver.stop()
    with db.read() as s:
        (d,) = s.scalars(select(Delivery).where(Delivery.channel == "webhook"))
    assert d.state == "pending" and d.attempts == 1 and d.last_error == "HTTP 503"
    (attempt,) = dl.delivery_attempts(db, d.id)
    wait = (attempt.next_attempt_at - attempt.started_at).total_seconds()
    assert MAX_RETRY_AFTER <= wait < 2 * MAX_RETRY_AFTER  # the day cap, not 2199, not 0.05 s
    assert receiver.all()[0]["verified"]
