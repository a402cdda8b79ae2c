"""PostgreSQL: the export's next batch read while this batch's lines are made.

Why: the export is a loop of two halves — the database answers a batch's query, then Python
makes its CSV lines (core/worklist/export_cells.py) — and done one after the other the
download's time is their sum. A thread reads ahead: while the consumer makes this batch's
lines, the thread waits on the database for the next (psycopg releases the GIL while it
waits), so on a machine with a core to spare the server's and the client's work overlap
(docs/PERFORMANCE.md, "Export streamed"). SQLite's reads are this process's own CPU, so
there is nothing to overlap: the export does not use it there.
"""
from __future__ import annotations

import queue
import threading
from typing import Iterator, TypeVar

T = TypeVar("T")


def read_ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, each made in a thread of its own one step ahead of the consumer: the next
    batch's query runs (the thread waits on the database, the GIL released) while the
    consumer makes this batch's lines. At most two items are alive at once besides the one
    consumed; an error in the thread is raised here; closing the iterator stops the thread
    after the item it is making."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as e:  # handed to the consumer, raised there
            put((False, e))
        finally:
            close = getattr(items, "close", None)
            if close:
                close()

    thread = threading.Thread(target=run, name="export-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = ready.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join()

