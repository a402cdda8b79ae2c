"""The embedded worker's threads: with DOCKET_EMBEDDED_WORKER on (the default) an app server
runs the worker's loops itself — the notification dispatcher, the built-in screener, the daily
audit checkpoint, the daily retention dry run — one daemon thread per process, database and
loop."""
from __future__ import annotations

import threading
from typing import Callable

from core import config

Loop = Callable[[threading.Event], None]  # runs until its stop event is set


def embedded_worker_on() -> bool:
    return config.setting("DOCKET_EMBEDDED_WORKER").strip().lower() not in ("off", "0", "false",
                                                                             "no")


class EmbeddedThreads:
    """One loop's threads, by database URL: `start` again returns the running one."""

    def __init__(self, name: str):
        self.name = name
        self._running: dict[str, tuple[threading.Thread, threading.Event]] = {}
        self._lock = threading.Lock()

    def start(self, url: str, make_loop: Callable[[], Loop]) -> threading.Thread | None:
        """The loop `make_loop()` gives, in a daemon thread for `url` (made only when none is
        running); None when the embedded worker is off."""
        if not embedded_worker_on():
            return None
        with self._lock:
            running = self._running.get(url)
            if running is not None and running[0].is_alive():
                return running[0]
            stop = threading.Event()
            thread = threading.Thread(target=make_loop(), args=(stop,), daemon=True,
                                      name=self.name)
            thread.start()
            self._running[url] = (thread, stop)
            return thread

    def stop_all(self, timeout: float = 15.0) -> None:
        """Stops every thread of this loop in the process (tests, shutdown)."""
        with self._lock:
            items = list(self._running.values())
            self._running.clear()
        for thread, stop in items:
            stop.set()
            thread.join(timeout)
