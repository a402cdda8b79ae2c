"""Service levels (core/workflows/sla.py): the due time as a pure function of the time a case
entered its status (properties, with hypothesis), the setting's checks, the defaults, and
editing it through the workflow admin functions (nothing written on a bad setting)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.cases.status import FINAL_STATUSES, CaseStatus
from core.errors import InvalidInput, NotAllowed
from core.workflows import admin as wa
from core.workflows.sla import (
    DAY_NAMES,
    OPEN_STATUSES,
    BusinessHours,
    Sla,
    business_window,
    due_at,
    sla_of,
    validate_sla,
)
from tests.factories import row_counts

MOMENTS = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31))
HOURS = st.one_of(st.integers(1, 400).map(float),
                  st.floats(0.01, 400, allow_nan=False, allow_infinity=False))
# Zones without a daylight-saving change take any window; those with one take windows clear
# of the small hours, where the change happens (a window is wall-clock time).
FIXED_ZONES = ("UTC", "Asia/Hong_Kong", "Asia/Kolkata", "Asia/Tokyo")
DST_ZONES = ("Europe/London", "America/New_York", "Australia/Sydney", "Europe/Berlin")


@st.composite
def calendars(draw) -> BusinessHours:
    days = draw(st.sets(st.integers(0, 6), min_size=1))
    if draw(st.booleans()):
        zone = draw(st.sampled_from(FIXED_ZONES))
        start = draw(st.integers(0, 23))
        end = draw(st.integers(start + 1, 24))
    else:
        zone = draw(st.sampled_from(DST_ZONES))
        start = draw(st.integers(4, 22))
        end = draw(st.integers(start + 1, 23))
    return BusinessHours(frozenset(days), start, end, zone)


SLAS = st.builds(Sla, HOURS, st.one_of(st.none(), calendars()))


@settings(max_examples=300, deadline=None)
@given(MOMENTS, SLAS)
def test_due_at_is_never_before_entering(entered, sla):
    assert due_at(entered, sla) >= entered


@settings(max_examples=300, deadline=None)
@given(MOMENTS, MOMENTS, SLAS)
def test_due_at_is_monotonic_in_entered_at(a, b, sla):
    early, late = sorted((a, b))
    assert due_at(early, sla) <= due_at(late, sla)


@settings(max_examples=300, deadline=None)
@given(MOMENTS, HOURS, calendars())
def test_business_hours_due_times_fall_inside_business_hours(entered, hours, cal):
    due = due_at(entered, Sla(hours, cal))
    local = due.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(cal.time_zone))
    at_midnight_end = cal.end == 24 and local.time() == datetime.min.time()
    if at_midnight_end:  # 24:00 is the next day's 00:00
        local -= timedelta(microseconds=1)
    assert local.weekday() in cal.days
    hour = local.hour + (local.minute * 60 + local.second + local.microsecond / 1e6) / 3600
    assert cal.start <= hour <= cal.end, (entered, due, local)


@settings(max_examples=200, deadline=None)
@given(MOMENTS, HOURS, calendars())
def test_business_hours_spend_exactly_the_hours_inside_windows(entered, hours, cal):
    """Walking the windows between entering and the due time adds up to the SLA's hours."""
    due = due_at(entered, Sla(hours, cal))
    tz = ZoneInfo(cal.time_zone)
    day = entered.replace(tzinfo=timezone.utc).astimezone(tz).date()
    spent = timedelta(0)
    while True:
        if day.weekday() in cal.days:
            opens, closes = business_window(day, cal)
            lo, hi = max(opens, entered), min(closes, due)
            if hi > lo:
                spent += hi - lo
        if business_window(day, cal)[0] > due:
            break
        day += timedelta(days=1)
    assert abs(spent - timedelta(hours=hours)) < timedelta(microseconds=10)


def test_round_the_clock_is_plain_addition():
    assert due_at(datetime(2026, 12, 4, 17, 30), Sla(24.0)) == datetime(2026, 12, 5, 17, 30)


def test_business_hours_skip_nights_and_weekends():
    week = BusinessHours(frozenset(range(5)), 9, 17, "Europe/London")
    # Friday 4 December 2026, 16:00 London (GMT): 1 h left today, 7 h on Monday
    assert due_at(datetime(2026, 12, 4, 16, 0), Sla(8.0, week)) == datetime(2026, 12, 7, 16, 0)
    # Saturday: the clock starts Monday 09:00
    assert due_at(datetime(2026, 12, 5, 12, 0), Sla(2.0, week)) == datetime(2026, 12, 7, 11, 0)
    # a summer day: 09:00 London is 08:00 UTC
    assert due_at(datetime(2026, 7, 1, 7, 0), Sla(1.0, week)) == datetime(2026, 7, 1, 9, 0)


def test_every_open_status_may_have_an_sla_and_no_final_one():
    assert set(OPEN_STATUSES) == {s.value for s in CaseStatus if s not in FINAL_STATUSES}


def test_defaults_onboarding_manual_review_24_hours(db):
    onboarding = wa.get_workflow(db, "onboarding")
    assert onboarding["sla"] == {"hours": {"manual_review": 24}, "business_hours": None}
    assert sla_of(onboarding, "manual_review") == Sla(24.0)
    assert sla_of(onboarding, "revisions") is None
    assert wa.get_workflow(db, "ongoing_monitoring")["sla"]["hours"] == {"manual_review": 72}


@pytest.mark.parametrize("sla, problem", [
    ([24], "sla: a mapping with hours"),
    ({"hours": {"approved": 4}}, "'approved' is not a status with a due time"),
    ({"hours": {"manual_review": 0}}, "a number of hours above 0"),
    ({"hours": {"manual_review": "24"}}, "a number of hours above 0"),
    ({"hours": {"manual_review": 5000}}, "at most 1000"),
    ({"hours": {}, "colour": 1}, "unknown field(s) colour"),
    ({"hours": {}, "business_hours": {"days": [], "start": 9, "end": 17, "time_zone": "UTC"}},
     "business_hours.days: a list of distinct days"),
    ({"hours": {}, "business_hours": {"days": ["monday"], "start": 9, "end": 17,
                                       "time_zone": "UTC"}}, "days among mon"),
    ({"hours": {}, "business_hours": {"days": ["mon"], "start": 17, "end": 9,
                                       "time_zone": "UTC"}}, "end: a whole hour after start"),
    ({"hours": {}, "business_hours": {"days": ["mon"], "start": 24, "end": 24,
                                       "time_zone": "UTC"}}, "start: a whole hour from 0 to 23"),
    ({"hours": {}, "business_hours": {"days": ["mon"], "start": 9, "end": 17,
                                       "time_zone": "Mars/Olympus"}}, "unknown time zone"),
])
def test_a_bad_sla_is_refused_with_its_reason_and_nothing_changes(db, sla, problem):
    assert any(problem in p for p in validate_sla(sla)), validate_sla(sla)
    before = row_counts(db), wa.get_workflow(db, "onboarding")
    with pytest.raises(InvalidInput) as e:
        wa.set_sla(db, "onboarding", sla, actor="admin")
    assert any(problem in p for p in e.value.problems), e.value.problems
    assert (row_counts(db), wa.get_workflow(db, "onboarding")) == before


def test_set_sla_saves_business_hours_and_round_trips_through_yaml(db):
    sla = {"hours": {"manual_review": 8, "pending_process": 48},
           "business_hours": {"days": ["fri", "mon"], "start": 9, "end": 17,
                              "time_zone": "Europe/London"}}
    notes = wa.change_notes(db, {**wa.get_workflow(db, "onboarding"), "sla": sla})
    assert any("keep the due time they have" in n for n in notes)
    saved = wa.set_sla(db, "onboarding", sla, actor="admin")["sla"]
    assert saved == {"hours": {"pending_process": 48, "manual_review": 8},
                     "business_hours": {"days": ["mon", "fri"], "start": 9, "end": 17,
                                        "time_zone": "Europe/London"}}
    assert sla_of({"sla": saved}, "manual_review").business_hours.days == frozenset({0, 4})
    text = wa.export_yaml(db, ["onboarding"])
    wa.set_sla(db, "onboarding", None, actor="admin")
    assert wa.get_workflow(db, "onboarding")["sla"]["hours"] == {}
    wa.import_yaml(db, text, actor="admin")
    assert wa.get_workflow(db, "onboarding")["sla"] == saved


def test_an_analyst_cannot_change_an_sla(db):
    with pytest.raises(NotAllowed):
        wa.set_sla(db, "onboarding", {"hours": {"manual_review": 1}}, actor="analyst")


def test_a_definition_without_sla_keeps_the_default_and_days_are_named_in_order():
    d = {"name": "kyb_eu", "title": "KYB EU", "reupload_reasons": ["Blurry"]}
    assert wa.validate_definition(d) == []
    assert wa.normalized(d)["sla"] == {"hours": {"manual_review": 24}, "business_hours": None}
    assert wa.normalized({**d, "sla": None})["sla"]["hours"] == {}
    assert list(DAY_NAMES)[:5] == ["mon", "tue", "wed", "thu", "fri"]
