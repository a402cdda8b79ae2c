"""A rate limit per API key (`DOCKET_API_RATE_LIMIT`, e.g. "600/minute"; "off"): a token
bucket per key, in this process.

Each key has a bucket of N tokens, refilled at N per period; a request takes one, and a
request finding the bucket empty is refused with a 429 problem and `Retry-After` (whole
seconds until a token is back, at least 1). A fresh key may send N at once, then N per
period. Counted after authentication (`api/deps.py`), so an unknown key gets its 401 and
costs nothing. Each server process counts on its own: behind a load balancer with P
processes a key may send up to P times the limit.
"""
from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from fastapi import HTTPException

from core import config
from core.access.api_keys import ApiPrincipal

SETTING = "DOCKET_API_RATE_LIMIT"
PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
RATE = re.compile(r"(\d+)\s*/\s*(second|minute|hour|day)")
OFF = ("off", "0", "none", "no", "false")


@dataclass(frozen=True)
class Rate:
    requests: int
    period: str

    @property
    def seconds(self) -> int:
        return PERIODS[self.period]

    def __str__(self) -> str:
        return f"{self.requests} requests per {self.period}"


def parse_rate(text: str) -> Rate | None:
    """"600/minute" -> Rate(600, "minute"); "off" -> None; anything else ValueError."""
    value = (text or "").strip().lower()
    if value in OFF:
        return None
    m = RATE.fullmatch(value)
    if not m or int(m[1]) < 1:
        raise ValueError(f"{SETTING} must be N/second, N/minute, N/hour or N/day with N >= 1, "
                         f"or off; got {text!r}")
    return Rate(int(m[1]), m[2])


class TokenBuckets:
    """One bucket per key. `take(key)` is 0.0 when the request may go, else the seconds until
    it could. `clock` is monotonic seconds (a parameter so tests can turn time)."""

    def __init__(self, rate: Rate, clock: Callable[[], float] = time.monotonic):
        self.rate, self.clock = rate, clock
        self.per_second = rate.requests / rate.seconds
        self.buckets: dict[int | str, tuple[float, float]] = {}  # key -> (tokens, when)
        self.lock = threading.Lock()

    def take(self, key: int | str) -> float:
        with self.lock:
            now = self.clock()
            tokens, then = self.buckets.get(key, (float(self.rate.requests), now))
            tokens = min(float(self.rate.requests), tokens + (now - then) * self.per_second)
            if tokens >= 1.0:
                self.buckets[key] = (tokens - 1.0, now)
                return 0.0
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.per_second


def retry_after(wait: float) -> int:
    """Whole seconds for the Retry-After header: rounded up, at least 1."""
    return max(1, math.ceil(wait))


@lru_cache(maxsize=4)
def _buckets_for(text: str) -> TokenBuckets | None:
    rate = parse_rate(text)
    return TokenBuckets(rate) if rate else None


def limiter() -> TokenBuckets | None:
    """This process's buckets for the configured rate (None: off). Raises ValueError on a bad
    setting, so `create_api` calls it once to refuse to start with one."""
    return _buckets_for(config.setting(SETTING))


def check(p: ApiPrincipal) -> None:
    """Count one request for `p`'s key; 429 with Retry-After when it is over the limit."""
    buckets = limiter()
    wait = buckets.take(p.key_id) if buckets else 0.0
    if wait > 0:
        seconds = retry_after(wait)
        raise HTTPException(429, f"API key {p.key_name!r} is over its rate limit of "
                                 f"{buckets.rate}; retry after {seconds} s",
                            headers={"Retry-After": str(seconds)})
