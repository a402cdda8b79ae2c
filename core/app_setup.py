"""What every start does: schema up to date, default workflows and views, demo data if asked."""
from __future__ import annotations

from core import config
from core.demo.generate import seed_demo_if_empty
from core.notifications.dispatcher import start_background_dispatcher
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
    mode) and the embedded notification dispatcher running (unless turned off)."""
    url = url or config.database_url()
    db = get_database(url)
    prepare_database(db, demo=config.demo_mode(url))
    planner_statistics(db)  # SQLite: before the first list query needs a good plan
    start_background_dispatcher(db)
    return db
