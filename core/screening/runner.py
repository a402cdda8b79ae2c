"""The screening runner: takes queued cases (`screening_jobs`: intake, subject edits, list
reloads) in batches and screens them with the built-in screener. It runs in
`python -m core worker` beside the dispatcher, and as an embedded thread of the app server
(unless DOCKET_EMBEDDED_WORKER is off), like the dispatcher.

The lists' index is built once per process and kept while the lists stay at the same
versions (`lists_fingerprint`); a reload is seen at the next batch and the index rebuilt,
and the entries changed from the index it replaces are kept (`LoadedIndex.since`) so the
reload's rescreen matches each case against those only (core/screening/rescreen.py).
Several runners may work at once: a claim holds a case for a lease, so each case is screened
by one of them; a case queued again while held is screened again after.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from core.embedded import EmbeddedThreads
from core.screening import job_queue
from core.screening.lists import iter_current_entries, lists_fingerprint
from core.screening.matching import ListEntry, ScreeningIndex, changed_since
from core.screening.screener import screen_cases
from core.store.db import Database

log = logging.getLogger("docket.screening")
BATCH = 200
LEASE_SECONDS = 300
IDLE_SECONDS = 2.0
SINCE_KEPT = 8   # list versions back a worker can rescreen from by what changed only


@dataclass
class LoadedIndex:
    fingerprint: tuple
    index: ScreeningIndex
    lists: tuple[str, ...]
    built_seconds: float
    # earlier fingerprints this process indexed -> keys of the entries changed since then
    # (core/screening/rescreen.py: a case screened at one of them is rescreened on those)
    since: dict = field(default_factory=dict)

    def following(self, earlier: "LoadedIndex | None") -> "LoadedIndex":
        """This index's `since`, given the one it replaces: the entries changed from it,
        added to what changed since the ones before (the last SINCE_KEPT fingerprints)."""
        if earlier is None or not earlier.lists or earlier.fingerprint == self.fingerprint:
            return self
        step = changed_since(self.index, earlier.index)
        since = {fp: keys | step for fp, keys in earlier.since.items()}
        since[earlier.fingerprint] = step
        self.since = dict(list(since.items())[-SINCE_KEPT:])
        return self


_indexes: dict[str, LoadedIndex] = {}
_indexes_lock = threading.Lock()


def _entry(row: dict) -> ListEntry:
    return ListEntry(key=row["id"], list_name=row["list_name"], dataset=row["dataset"],
                     entry_id=row["entry_id"], schema=row["schema"], name=row["name"],
                     aliases=tuple(row.get("aliases") or ()),
                     birth_dates=tuple(row.get("birth_dates") or ()),
                     countries=tuple(row.get("countries") or ()),
                     programme=row.get("programme"), url=row.get("url"))


def current_index(db: Database) -> LoadedIndex:
    """The index of every list's current entries, rebuilt when a list was (re)loaded."""
    fingerprint = tuple(lists_fingerprint(db))
    with _indexes_lock:
        loaded = _indexes.get(db.url)
        if loaded is not None and loaded.fingerprint == fingerprint:
            return loaded
        started = time.perf_counter()
        index = ScreeningIndex.build(_entry(r) for r in iter_current_entries(db))
        loaded = LoadedIndex(fingerprint, index, tuple(name for name, version in fingerprint
                                                       if version), time.perf_counter() - started)
        loaded = loaded.following(_indexes.get(db.url))
        _indexes[db.url] = loaded
        log.info("screening index built: %d entries of %d list(s) in %.1f s", len(index),
                 len(loaded.lists), loaded.built_seconds)
        return loaded


def forget_indexes() -> None:
    """Drops every index this process built and what changed since each (as a restart
    would): the next screening rebuilds the index and screens every case in full."""
    with _indexes_lock:
        _indexes.clear()


@dataclass
class ScreeningRunner:
    db: Database
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:"
                                                   f"{threading.get_ident()}")
    batch: int = BATCH
    outcomes: Counter = field(default_factory=Counter)
    delta_subjects: int = 0   # subjects matched against the entries changed since only

    def run_once(self) -> int:
        """Screens one claimed batch; returns how many cases it took (0: nothing queued)."""
        case_ids = job_queue.claim(self.db, self.worker_id, limit=self.batch,
                                   lease_seconds=LEASE_SECONDS)
        if not case_ids:
            return 0
        loaded = current_index(self.db)
        if loaded.lists:
            for result in screen_cases(self.db, case_ids, loaded.index, loaded.lists,
                                       fingerprint=loaded.fingerprint, since=loaded.since):
                self.outcomes[result.outcome] += 1
                self.delta_subjects += result.delta_subjects
        else:
            self.outcomes["no_lists"] += len(case_ids)
        job_queue.done(self.db, self.worker_id, case_ids)
        return len(case_ids)

    def drain(self) -> int:
        """Screens every queued case (the CLI's `screening run`, tests); returns the count."""
        total = 0
        while (n := self.run_once()):
            total += n
        return total

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                if self.run_once():
                    continue
            except Exception as e:  # a database hiccup: the claim's lease gives the cases back
                log.warning("screening batch failed: %s: %s", type(e).__name__, e)
            stop.wait(IDLE_SECONDS)


_embedded = EmbeddedThreads("docket-screener")


def start_background_screener(db: Database) -> threading.Thread | None:
    """The embedded runner: one daemon thread per process and database; None when
    DOCKET_EMBEDDED_WORKER is off."""
    return _embedded.start(db.url, lambda: ScreeningRunner(db).run_forever)


def stop_background_screener(timeout: float = 15.0) -> None:
    _embedded.stop_all(timeout)
