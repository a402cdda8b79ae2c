"""case keys: the normalised values each case may share with others (related cases)

`case_keys` (case_id, kind, value, shown): one row per (case, kind, normalised value) with
kind email | phone | registration | person | address | document, primary key in that order
(a case's keys), and `ix_case_keys_value` (kind, value, case_id) for "the other cases with
this value" (core/cases/related.py). The application keeps the rows current in the same
transaction as every write of the data they come from (core/cases/case_keys.py).

Backfill: every existing case's keys, computed by the same function the application uses
(`core.cases.case_keys.keys_of`) from the data read here with this revision's own table
shapes, BATCH cases at a time in id order (each JSON document parsed once), the rows
written by the driver (SQLite executemany, PostgreSQL COPY), and the value index
built once at the end.
docs/PERFORMANCE.md ("Related cases") has the time measured at 1M cases.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 18:00:00
"""
import sqlalchemy as sa
from alembic import op

from core.cases.case_keys import CaseSources, keys_of

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BATCH = 5_000

CASES = sa.table("cases", sa.column("id", sa.String), sa.column("entity_id", sa.Integer),
                 sa.column("user_data", sa.JSON), sa.column("registry_data", sa.JSON))
ENTITIES = sa.table("entities", sa.column("id", sa.Integer), sa.column("kind", sa.String),
                    sa.column("name", sa.String), sa.column("email", sa.String),
                    sa.column("phone", sa.String), sa.column("country", sa.String),
                    sa.column("registration_number", sa.String))
UBOS = sa.table("ubos", sa.column("id", sa.Integer), sa.column("case_id", sa.String),
                sa.column("full_name", sa.String), sa.column("date_of_birth", sa.String))
DOCUMENTS = sa.table("documents", sa.column("id", sa.Integer), sa.column("case_id", sa.String))
FILES = sa.table("document_files", sa.column("id", sa.Integer),
                 sa.column("document_id", sa.Integer), sa.column("blob_sha256", sa.String),
                 sa.column("filename", sa.String))
COLUMNS = ("case_id", "kind", "value", "shown")


def _create_table() -> None:
    op.create_table('case_keys',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('shown', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id', 'kind', 'value')
    )


def _batch_sources(conn, low: str | None, high: str) -> dict[str, CaseSources]:
    """The sources of the cases with low < id <= high (low None: from the first)."""
    def in_range(column):
        return column <= high if low is None else sa.and_(column > low, column <= high)
    rows = conn.execute(
        sa.select(CASES.c.id, ENTITIES.c.kind, ENTITIES.c.name, ENTITIES.c.email,
                  ENTITIES.c.phone, ENTITIES.c.country, ENTITIES.c.registration_number,
                  CASES.c.user_data, CASES.c.registry_data)
        .select_from(CASES.outerjoin(ENTITIES, ENTITIES.c.id == CASES.c.entity_id))
        .where(in_range(CASES.c.id))).mappings().all()
    ubos: dict[str, list] = {}
    for case_id, name, born in conn.execute(
            sa.select(UBOS.c.case_id, UBOS.c.full_name, UBOS.c.date_of_birth)
            .where(in_range(UBOS.c.case_id)).order_by(UBOS.c.id)):
        ubos.setdefault(case_id, []).append((name, born))
    files: dict[str, list] = {}
    for case_id, sha256, filename in conn.execute(
            sa.select(DOCUMENTS.c.case_id, FILES.c.blob_sha256, FILES.c.filename)
            .select_from(DOCUMENTS.join(FILES, FILES.c.document_id == DOCUMENTS.c.id))
            .where(in_range(DOCUMENTS.c.case_id)).order_by(FILES.c.id)):
        files.setdefault(case_id, []).append((sha256, filename))
    return {r["id"]: CaseSources(
        r["kind"] or "", r["name"] or "", r["email"] or "", r["phone"] or "",
        r["country"] or "", r["registration_number"] or "", r["user_data"], r["registry_data"],
        ubos.get(r["id"], []), files.get(r["id"], [])) for r in rows}


def _write(conn, rows: list[tuple]) -> None:
    """Rows in at the driver's speed: COPY on PostgreSQL, executemany on SQLite."""
    if conn.dialect.name == "postgresql":
        with conn.connection.driver_connection.cursor() as cursor, cursor.copy(
                f"COPY case_keys ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    else:
        conn.exec_driver_sql(f"INSERT INTO case_keys ({', '.join(COLUMNS)}) "
                             f"VALUES ({', '.join('?' * len(COLUMNS))})", rows)


def backfill(conn) -> int:
    """Writes every case's keys; returns the number of cases read."""
    low, done = None, 0
    while True:
        ids = conn.execute(sa.select(CASES.c.id).where(
            sa.true() if low is None else CASES.c.id > low)
            .order_by(CASES.c.id).limit(BATCH)).scalars().all()
        if not ids:
            return done
        rows = [(case_id, k.kind, k.value, k.shown)
                for case_id, src in _batch_sources(conn, low, ids[-1]).items()
                for k in keys_of(src)]
        if rows:
            _write(conn, rows)
        low, done = ids[-1], done + len(ids)


def upgrade() -> None:
    _create_table()
    backfill(op.get_bind())
    op.create_index('ix_case_keys_value', 'case_keys', ['kind', 'value', 'case_id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_keys_value', table_name='case_keys')
    op.drop_table('case_keys')
