"""PostgreSQL seals the audit chain itself at COMMIT (issue #15: chained appends)

Installs `docket_audit_seal()` and the deferred constraint trigger `docket_audit_seal` on
`audit_events` (core/store/audit_chain_pg.py): a row written with its body (the app writes
every event so from now on) is chained by the server when its transaction commits, so the
chain's head is locked for no client round trip. Existing rows are already chained and are
not touched; the hash of a new row is the same function of seq, prev_hash and body as before
(`core.store.audit_chain_format.event_hash`), so `audit verify` reads old and new alike.
SQLite: nothing (its seal stays in the client, under the database's write lock).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 00:10:00
"""
from alembic import op

from core.store.audit_chain_pg import install_seal_trigger, uninstall_seal_trigger

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        install_seal_trigger(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        uninstall_seal_trigger(conn)
