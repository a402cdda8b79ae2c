"""Per-target circuit breakers of a dispatcher (a target: `endpoint:ID`, `sms`, `crm`, `email`).

After `failures` consecutive failed attempts (no answer: connection error, timeout; or a 5xx)
a target's circuit **opens** for `cooldown` seconds: its deliveries are not claimed (the
dispatcher pushes their next attempt to the end of the cool-down, which is not an attempt).
Then it is **half-open**: one delivery goes out as a probe; an answer below 500 closes the
circuit, another failure opens it again. Any answer below 500 (a 4xx included: the receiver is
up) resets the count.

`failures` and `cooldown` are DOCKET_BREAKER_FAILURES and DOCKET_BREAKER_COOLDOWN_SECONDS.

The state lives in the dispatcher's process, not shared: with M worker processes each learns
of a dead target on its own (at most M x `failures` attempts to open every circuit, then one
probe per process and cool-down). Every dispatcher registers its breakers here, so the app
(whose embedded dispatcher shares its process) can show them: `circuits(db_url)`.
"""
from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class Circuit:
    """What one dispatcher knows of one target."""
    target: str
    state: str                 # closed | open | half-open
    failures: int              # consecutive failures so far
    open_until: float | None   # time.time() when an open circuit lets a probe through
    opened: int                # how many times it opened


@dataclass
class _State:
    failures: int = 0
    open_until: float | None = None  # monotonic
    probing: bool = False
    opened: int = 0


def is_failure(kind: str, status_code: int | None) -> bool | None:
    """True: counts towards opening; False: the target answered (resets); None: neither (a
    refused URL, a skipped delivery)."""
    if status_code is not None:
        return status_code >= 500
    if kind == "retry":
        return True
    return None if kind != "delivered" else False


class Breakers:
    def __init__(self, failures: int = 10, cooldown: float = 30.0, db_url: str = ""):
        self.threshold, self.cooldown, self.db_url = max(1, failures), cooldown, db_url
        self._states: dict[str, _State] = {}
        self._changed: set[str] = set()  # opened or closed since the last `changed()`
        self._lock = threading.Lock()
        _registry.add(self)

    def allowed(self, target: str, now: float | None = None) -> int | None:
        """How many deliveries of `target` may be claimed now: None no limit, 0 none (open,
        or half-open with its probe out), 1 the half-open probe."""
        with self._lock:
            st = self._states.get(target)
            if st is None or st.open_until is None:
                return None
            if (now or time.monotonic()) < st.open_until or st.probing:
                return 0
            return 1

    def probe_started(self, target: str) -> None:
        with self._lock:
            st = self._states.get(target)
            if st is not None and st.open_until is not None:
                st.probing = True

    def record(self, target: str, kind: str, status_code: int | None) -> float | None:
        """Counts one attempt's result. Returns the monotonic end of the cool-down when this
        result opened (or reopened) the circuit, else None."""
        failed = is_failure(kind, status_code)
        with self._lock:
            st = self._states.setdefault(target, _State())
            if failed is None:
                if st.probing:  # the probe told nothing: let another one go
                    st.probing = False
                return None
            if not failed:
                if st.open_until is not None:
                    self._changed.add(target)  # closed again
                if st.failures or st.open_until is not None:
                    self._states[target] = _State(opened=st.opened)
                return None
            st.failures += 1
            reopen = st.probing or (st.open_until is None and st.failures >= self.threshold)
            st.probing = False
            if not reopen:
                return None
            st.open_until, st.opened = time.monotonic() + self.cooldown, st.opened + 1
            self._changed.add(target)
            return st.open_until

    def open_until(self, target: str) -> float | None:
        with self._lock:
            st = self._states.get(target)
            return st.open_until if st is not None else None

    def targets(self) -> list[str]:
        """Targets whose circuit is not closed (open or half-open): their claims are limited."""
        with self._lock:
            return [t for t, st in self._states.items() if st.open_until is not None]

    def blocked(self, now: float | None = None) -> list[str]:
        """Targets whose deliveries may not be claimed now."""
        now = now or time.monotonic()
        with self._lock:
            return [t for t, st in self._states.items()
                    if st.open_until is not None and (now < st.open_until or st.probing)]

    def changed(self) -> list[Circuit]:
        """The circuits that opened or closed since the last call (to publish), as they are now."""
        with self._lock:
            targets, self._changed = self._changed, set()
        return [c for c in self.snapshot() if c.target in targets] if targets else []

    def snapshot(self) -> list[Circuit]:
        now_m, now_w = time.monotonic(), time.time()
        with self._lock:
            items = list(self._states.items())
        out = []
        for target, st in items:
            if st.open_until is None:
                state = CLOSED
            else:
                state = OPEN if now_m < st.open_until or st.probing else HALF_OPEN
            until = None if st.open_until is None else now_w + (st.open_until - now_m)
            out.append(Circuit(target, state, st.failures, until, st.opened))
        return out


_registry: "weakref.WeakSet[Breakers]" = weakref.WeakSet()


def circuits(db_url: str | None = None) -> dict[str, Circuit]:
    """The circuits of this process's dispatchers (of the database `db_url`, or all), by
    target; where several dispatchers know one target, the worst state wins."""
    rank = {CLOSED: 0, HALF_OPEN: 1, OPEN: 2}
    out: dict[str, Circuit] = {}
    for breakers in list(_registry):
        if db_url is not None and breakers.db_url != db_url:
            continue
        for c in breakers.snapshot():
            seen = out.get(c.target)
            if seen is None or (rank[c.state], c.failures) > (rank[seen.state], seen.failures):
                out[c.target] = c
    return out
