"""When to try a failed delivery again: the retry schedule, jitter and Retry-After.

Attempt n that fails waits schedule[n-1] seconds (+-20% jitter, so a burst of failures does
not retry in lockstep), or longer if the receiver asked for it with Retry-After; after the
last step the delivery fails for good (an admin can replay it).
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from core import config
from core.errors import InvalidInput

DEFAULT_SCHEDULE: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
MAX_RETRY_AFTER = 24 * 3600.0


def parse_schedule(text: str) -> tuple[float, ...]:
    try:
        steps = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise InvalidInput(f"DOCKET_RETRY_SCHEDULE must be comma-separated seconds, got {text!r}") from None
    if any(not math.isfinite(s) for s in steps):
        raise InvalidInput(f"DOCKET_RETRY_SCHEDULE steps must be finite seconds, got {text!r}")
    if any(s < 0 for s in steps):
        raise InvalidInput("DOCKET_RETRY_SCHEDULE steps cannot be negative")
    return steps


def configured_schedule() -> tuple[float, ...]:
    return parse_schedule(config.setting("DOCKET_RETRY_SCHEDULE"))


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


def next_delay(attempt: int, schedule: tuple[float, ...], retry_after: float | None = None,
               rng: random.Random | None = None) -> float | None:
    """Seconds until the next try after failed attempt number `attempt` (1-based); None: give up."""
    if attempt > len(schedule):
        return None
    base = schedule[attempt - 1]
    delay = base * (rng or random).uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay
