"""What every start does: schema up to date, default workflows and views, demo data if asked."""
from __future__ import annotations

import threading
from functools import partial

from core import config
from core.access.auth_settings import existing_cookie_key
from core.demo.generate import seed_demo_if_empty
from core.embedded import EmbeddedThreads
from core.notifications.dispatcher import start_background_dispatcher
from core.records.checkpoint import run_daily_checkpoints
from core.records.retention_daily import run_daily_reviews
from core.screening.runner import start_background_screener
from core.signin.sessions import end_sessions_of_other_keys, key_fingerprint
from core.store.db import Database, get_database
from core.store.statistics import planner_statistics
from core.workflows.definitions import ensure_default_workflows
from core.worklist.views import ensure_default_views


def prepare_database(db: Database, *, demo: bool) -> bool:
    """Upgrades the schema and adds the defaults; seeds demo data into an empty database when
    `demo` is true. Returns whether demo data was seeded."""
    db.upgrade_schema()
    with db.unit_of_work() as s:
        ensure_default_workflows(s)
        ensure_default_views(s)
    if demo:
        return seed_demo_if_empty(db)
    return False


def start_server(url: str | None = None) -> Database:
    """What a server process does once at start: the database prepared (demo data in demo
    mode) and the embedded notification dispatcher, screening runner, daily audit
    checkpoint and daily retention dry run running (unless turned off)."""
    url = url or config.database_url()
    db = get_database(url)
    prepare_database(db, demo=config.demo_mode(url))
    key = existing_cookie_key()
    if key:  # sessions signed with another (rotated) key end now, not at their next action
        end_sessions_of_other_keys(db, key_fingerprint(key))
    planner_statistics(db)  # SQLite: before the first list query needs a good plan
    start_background_dispatcher(db)
    start_background_screener(db)
    start_background_checkpoints(db)
    start_background_retention_reviews(db)
    return db


_checkpoints = EmbeddedThreads("docket-audit-checkpoint")


def start_background_checkpoints(db: Database) -> threading.Thread | None:
    """The embedded worker's daily signed audit checkpoint (docs/RECORDS.md), as
    `python -m core worker` writes it; None when DOCKET_EMBEDDED_WORKER is off (a team's
    workers write them then)."""
    return _checkpoints.start(db.url, lambda: partial(run_daily_checkpoints, db))


_retention_reviews = EmbeddedThreads("docket-retention-review")


def start_background_retention_reviews(db: Database) -> threading.Thread | None:
    """The embedded worker's daily retention dry run (docs/RECORDS.md, "The run"), as
    `python -m core worker` runs it; None when DOCKET_EMBEDDED_WORKER is off."""
    return _retention_reviews.start(db.url, lambda: partial(run_daily_reviews, db))


def stop_background_retention_reviews(timeout: float = 15.0) -> None:
    """Stops the process's daily retention dry run threads (tests, shutdown)."""
    _retention_reviews.stop_all(timeout)
