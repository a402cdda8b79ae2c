"""How the export's batches see writes made while it runs: on PostgreSQL the file is the list
at one moment (one query through a server-side cursor, one snapshot); on SQLite each batch is
a read transaction of its own, continuing after the last row read (keyset), so a row already
written stays as it was and a later row is read as it is when its batch comes."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import event, update

import core.worklist.export as export
from core.store.models import Case, Entity
from core.worklist.query import CaseFilter

NOW = datetime(2025, 3, 1, 12, 0, 0)


def _cases(db, n: int) -> None:
    with db.unit_of_work() as s:
        for i in range(n):
            entity = Entity(kind="business", name=f"Name {i}", country="HK")
            s.add(entity)
            s.flush()
            s.add(Case(id=f"SNAP-{i}", workflow="onboarding", entity_id=entity.id,
                       case_status="manual_review", collection_completed=True,
                       created_at=NOW - timedelta(hours=i), updated_at=NOW,
                       status_changed_at=NOW, version=1))


def _names(batches) -> list[str]:
    return [row[1] for rows in batches for row in rows]


def test_a_write_during_the_export_shows_as_each_database_promises(db):
    _cases(db, 4)
    rows = export.export_rows(db, CaseFilter(), sort="created_at", descending=True, batch_size=1)
    first = next(rows)                       # SNAP-0, the newest, read
    with db.unit_of_work() as s:             # meanwhile: the last case renamed, a new case
        last_entity = s.get(Case, "SNAP-3").entity_id
        s.execute(update(Entity).where(Entity.id == last_entity).values(name="Renamed"))
        s.execute(update(Case).where(Case.id == "SNAP-3").values(entity_name="Renamed"))
        entity = Entity(kind="business", name="Late", country="HK")
        s.add(entity)
        s.flush()
        s.add(Case(id="SNAP-LATE", workflow="onboarding", entity_id=entity.id,
                   case_status="manual_review", collection_completed=True,
                   created_at=NOW - timedelta(hours=10), updated_at=NOW,
                   status_changed_at=NOW, version=1))
    names = _names([first, *rows])
    if db.is_sqlite:   # read as each batch came
        assert names == ["Name 0", "Name 1", "Name 2", "Renamed", "Late"]
    else:              # the moment the export began
        assert names == ["Name 0", "Name 1", "Name 2", "Name 3"]


def test_postgresql_reads_in_one_transaction_that_a_stalled_reader_cannot_hold_forever(db):
    if db.is_sqlite:
        return  # SQLite's batches are transactions of their own (the test above)
    _cases(db, 3)
    seen: list[tuple[int, str]] = []

    def statement(conn, cursor, sql, params, context, executemany):
        seen.append((id(conn.connection.dbapi_connection), sql.split()[0].upper()))

    event.listen(db.read_engine, "before_cursor_execute", statement)
    try:
        rows = export.export_rows(db, CaseFilter(), sort="created_at", descending=True,
                            batch_size=1)
        try:
            assert len(_names(rows)) == 3
        finally:
            rows.close()
    finally:
        event.remove(db.read_engine, "before_cursor_execute", statement)
    # one connection: the isolation level, the two settings, then the query
    assert len({conn for conn, _ in seen}) == 1, seen
    assert [kind for _, kind in seen][-3:] == ["SET", "SET", "SELECT"], seen
