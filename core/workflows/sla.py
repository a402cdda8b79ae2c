"""Service levels (SLAs): how long a case may stay in a status, per workflow, and its due time.

A workflow's definition carries (docs/WORKLIST.md shows it in YAML):

    sla:
      hours: {manual_review: 24}        # status -> hours allowed from entering it
      hours_by_risk:                    # optional: a risk level's own hours, over `hours`
        high: {manual_review: 8}        # (the case's level when it enters the status)
      business_hours:                   # optional (null: the clock always runs)
        days: [mon, tue, wed, thu, fri] # the days the clock runs
        start: 9                        # local hour it starts (0-23)
        end: 17                         # local hour it stops (1-24), after start
        time_zone: Europe/London        # an IANA name (zoneinfo)

A status without hours has no due time. `hours_by_risk` gives a risk level (low, medium, high:
the case's explained risk level, core/cases/risk.py) hours of its own for some statuses; a
status it leaves out keeps `hours`; it is left out of the stored shape when empty. The level
is read when the case enters the status: a case keeps its due time when only its level moves
(as it keeps it when the SLA changes). With business hours the hours count only inside the
working window of the working days, in the calendar's time zone (a window is wall-clock
time: on a daylight-saving change day it is an hour shorter or longer). Times stored and
passed here are naive UTC, as everywhere in Docket (`core.store.models.utcnow`).

`due_at(entered_at, sla)` is pure; `due_at_for(session, workflow, status, entered_at)` reads the
workflow's definition and is what every writer of a status calls (`core.cases.state`, the
importer, the demo loader).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from core.workflows.definitions import DEFAULT_WORKFLOWS, definition_of
from core.workflows.risk_model import LEVELS

# The statuses a due time can be set for: every status but the final ones (Approved, Rejected).
# The same list as core.cases.status (a test checks; workflows sits below cases).
OPEN_STATUSES = ("collection_flow", "pending_process", "pending_id_verification",
                 "manual_review", "revisions")
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_HOURS = 1000  # about six weeks round the clock
SLA_KEYS = ("hours", "hours_by_risk", "business_hours")
CALENDAR_KEYS = ("days", "start", "end", "time_zone")
NO_SLA: dict[str, Any] = {"hours": {}, "business_hours": None}


@dataclass(frozen=True)
class BusinessHours:
    days: frozenset[int]  # 0 = Monday
    start: int            # local hour, 0-23
    end: int              # local hour, 1-24, > start
    time_zone: str


@dataclass(frozen=True)
class Sla:
    hours: float
    business_hours: BusinessHours | None = None


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _zone_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        return "an IANA time zone name such as Europe/London or UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name[:64]!r} (an IANA name such as Europe/London or UTC)"
    return None


def _hours_problems(hours: dict, where: str) -> list[str]:
    problems = []
    for status, h in hours.items():
        if status not in OPEN_STATUSES:
            problems.append(f"{where}: {str(status)[:60]!r} is not a status with a due "
                            f"time (statuses: {', '.join(OPEN_STATUSES)})")
        elif not _is_number(h) or not 0 < h <= MAX_HOURS:
            problems.append(f"{where}.{status}: a number of hours above 0 and at "
                            f"most {MAX_HOURS}")
    return problems


def validate_sla(value: Any, where: str = "sla") -> list[str]:
    """Every problem of a workflow's `sla` setting, as sentences; [] when it is good."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return [f"{where}: a mapping with hours (and optionally business_hours)"]
    problems = []
    unknown = [str(k)[:60] for k in value if k not in SLA_KEYS]
    if unknown:
        problems.append(f"{where}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(SLA_KEYS)})")
    hours = value.get("hours", {})
    if not isinstance(hours, dict):
        problems.append(f"{where}.hours: a mapping of status: hours, e.g. manual_review: 24")
    else:
        problems.extend(_hours_problems(hours, f"{where}.hours"))
    by_risk = value.get("hours_by_risk") or {}
    if not isinstance(by_risk, dict):
        problems.append(f"{where}.hours_by_risk: a mapping of risk level: {{status: hours}}, "
                        "e.g. high: {manual_review: 8}")
    else:
        for level, level_hours in by_risk.items():
            if level not in LEVELS:
                problems.append(f"{where}.hours_by_risk: {str(level)[:60]!r} is not a risk "
                                f"level ({', '.join(LEVELS)})")
            elif not isinstance(level_hours, dict):
                problems.append(f"{where}.hours_by_risk.{level}: a mapping of status: hours")
            else:
                problems.extend(_hours_problems(level_hours, f"{where}.hours_by_risk.{level}"))
    cal = value.get("business_hours")
    if cal is None:
        return problems
    w = f"{where}.business_hours"
    if not isinstance(cal, dict):
        return problems + [f"{w}: a mapping with days, start, end and time_zone (or null)"]
    unknown = [str(k)[:60] for k in cal if k not in CALENDAR_KEYS]
    if unknown:
        problems.append(f"{w}: unknown field(s) {', '.join(unknown)} "
                        f"(fields: {', '.join(CALENDAR_KEYS)})")
    days = cal.get("days")
    if (not isinstance(days, list) or not days or any(d not in DAY_NAMES for d in days)
            or len(set(days)) != len(days)):
        problems.append(f"{w}.days: a list of distinct days among {', '.join(DAY_NAMES)}")
    start, end = cal.get("start"), cal.get("end")
    if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start <= 23:
        problems.append(f"{w}.start: a whole hour from 0 to 23")
    elif not isinstance(end, int) or isinstance(end, bool) or not start < end <= 24:
        problems.append(f"{w}.end: a whole hour after start ({start}), at most 24")
    zone = _zone_problem(cal.get("time_zone"))
    if zone:
        problems.append(f"{w}.time_zone: {zone}")
    return problems


def normalized_sla(value: Any) -> dict[str, Any]:
    """A checked `sla` setting with both fields present, statuses and days in a stable order."""
    value = value or {}
    hours = value.get("hours") or {}
    cal = value.get("business_hours")
    by_risk = {level: {s: h for s in OPEN_STATUSES
                       for h in [(value.get("hours_by_risk") or {}).get(level, {}).get(s)]
                       if h is not None}
               for level in LEVELS}
    normal = {"hours": {s: hours[s] for s in OPEN_STATUSES if s in hours}}
    if any(by_risk.values()):  # left out when empty: the shape stored before it existed
        normal["hours_by_risk"] = {level: h for level, h in by_risk.items() if h}
    normal["business_hours"] = None if cal is None else {
        "days": [d for d in DAY_NAMES if d in cal["days"]], "start": cal["start"],
        "end": cal["end"], "time_zone": cal["time_zone"].strip()}
    return normal


def default_sla(workflow: str) -> dict[str, Any]:
    """The SLA a workflow has when its definition names none (a new workflow: onboarding's)."""
    base = DEFAULT_WORKFLOWS.get(workflow, DEFAULT_WORKFLOWS["onboarding"])
    return copy.deepcopy(base.get("sla", NO_SLA))


def sla_of(definition: dict[str, Any], status: str, risk_level: str | None = None
           ) -> Sla | None:
    """The SLA of `status` in a workflow definition (for a case at `risk_level`: its own
    hours when `hours_by_risk` has them), or None (no due time)."""
    setting = definition.get("sla") or {}
    hours = ((setting.get("hours_by_risk") or {}).get(risk_level) or {}).get(status)
    if hours is None:
        hours = (setting.get("hours") or {}).get(status)
    if hours is None:
        return None
    cal = setting.get("business_hours")
    return Sla(float(hours), None if cal is None else BusinessHours(
        frozenset(DAY_NAMES.index(d) for d in cal["days"]), int(cal["start"]), int(cal["end"]),
        cal["time_zone"]))


def _utc(local: datetime) -> datetime:
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def business_window(day: date, cal: BusinessHours) -> tuple[datetime, datetime]:
    """(opens, closes) of a local calendar day's working window, as naive UTC."""
    tz = ZoneInfo(cal.time_zone)
    opens = datetime.combine(day, time(cal.start), tzinfo=tz)
    closes = (datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz) if cal.end == 24
              else datetime.combine(day, time(cal.end), tzinfo=tz))
    return _utc(opens), _utc(closes)


def due_at(entered_at: datetime, sla: Sla) -> datetime:
    """When a case that entered a status at `entered_at` (naive UTC) is due under `sla`.
    Round the clock: `entered_at + hours`. With business hours: the hours are spent only
    inside working windows, starting at `entered_at` or the next window's opening."""
    if sla.business_hours is None:
        return entered_at + timedelta(hours=sla.hours)
    cal = sla.business_hours
    remaining = timedelta(hours=sla.hours)
    day = entered_at.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(cal.time_zone)).date()
    for _ in range(7 * (int(sla.hours) + 3)):  # every week has at least one working hour
        if day.weekday() in cal.days:
            opens, closes = business_window(day, cal)
            start = max(entered_at, opens)
            if start < closes:
                if start + remaining <= closes:
                    return start + remaining
                remaining -= closes - start
        day += timedelta(days=1)
    raise AssertionError("a calendar with working days always ends")


def due_at_for(session: Session, workflow: str, status: str, entered_at: datetime,
               risk_level: str | None = None) -> datetime | None:
    """The due time of a case of `workflow` (at `risk_level`) that entered `status` at
    `entered_at`, from the workflow's stored definition; None when the status has no SLA."""
    sla = sla_of(definition_of(session, workflow), status, risk_level)
    return None if sla is None else due_at(entered_at, sla)


def due_times(session: Session, workflows: list[str]) -> dict[tuple[str, str], Sla]:
    """(workflow, status) -> SLA for the named workflows: for writers of many cases at once
    (the importer, the demo loader), read once."""
    found = {}
    for name in dict.fromkeys(workflows):
        definition = definition_of(session, name)
        for status in OPEN_STATUSES:
            sla = sla_of(definition, status)
            if sla is not None:
                found[(name, status)] = sla
    return found
