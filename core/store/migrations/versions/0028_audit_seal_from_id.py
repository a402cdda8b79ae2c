"""PostgreSQL's seal reads the transaction's rows from its first id (issue #15: appends)

Replaces migration 0024's `docket_audit_seal()` with `docket_audit_seal(from_id)`, called by
the commit's trigger with the id of the transaction's first row
(core/store/audit_chain_pg.py): the seal then reads a range of `ix_audit_unchained` instead of
every `seq IS NULL` entry, dead versions of rows sealed since the last VACUUM included (the
seal, with the head locked, had grown by about 1 ms per 1,000 of them). Same chain, same
hashes. SQLite: nothing.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-06 04:30:00
"""
from alembic import op

from core.store.audit_chain_pg import install_seal_trigger

revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        install_seal_trigger(conn)


def downgrade() -> None:
    # The seal with `from_id` chains exactly as 0024's did (without an argument it reads
    # every unchained row, as 0024's read them): it stays; 0024's downgrade drops it.
    pass
