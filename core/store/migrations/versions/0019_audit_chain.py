"""audit chain: every audit event hashed into one chain (docs/RECORDS.md)

`audit_events` gains `seq` (unique), `prev_hash` (unique), `hash`, `body` (the canonical JSON
hashed) and `case_prev_seq` (the case's previous event); two tables: `audit_chain_head` (one
row, the last sealed seq and hash, which writers lock) and `audit_subject_keys` (a key per case
for the commitments of its personal data in the bodies).

Backfill: the rows already there are chained in id order by the application's own sealer
(`core.store.audit_chain.seal_connection`, BATCH rows at a time, creating each case's key),
then `audit.chain_started` is appended (after: {"chained_from_id", "existing_events"}): the
events before it are proven unchanged since this migration, those after it since they were
written. The unique indexes are built after the backfill, and so is the partial index of
unchained rows (`seq IS NULL`, which the seal scans at every commit; built before, every
backfill batch would walk the entries of the rows already chained); the (case_id, seq) index
before it, since the sealer reads each case's last seq. docs/PERFORMANCE.md ("Audit chain") has the time
measured at about 1M events.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 20:30:00
"""
import sqlalchemy as sa
from alembic import op

from core.store.audit_chain import seal_connection
from core.store.audit_chain_format import GENESIS
from core.store.base import utcnow

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_events', sa.Column('seq', sa.BigInteger(), nullable=True))
    op.add_column('audit_events', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('hash', sa.String(length=64), nullable=True))
    op.add_column('audit_events', sa.Column('body', sa.Text(), nullable=True))
    op.add_column('audit_events', sa.Column('case_prev_seq', sa.BigInteger(), nullable=True))
    op.create_index('ix_audit_case_seq', 'audit_events', ['case_id', 'seq'], unique=False)
    head = op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_table(
        'audit_subject_keys',
        sa.Column('case_id', sa.String(length=64), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('destroyed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('case_id'))
    conn = op.get_bind()
    conn.execute(head.insert().values(id=1, seq=0, hash=GENESIS))
    events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('case_id'),
                      sa.column('at', sa.DateTime), sa.column('actor'), sa.column('kind'),
                      sa.column('after', sa.JSON))
    first_id = conn.scalar(sa.select(sa.func.min(events.c.id)))
    existing = seal_connection(conn, lock=False)
    conn.execute(events.insert().values(
        case_id=None, at=utcnow(), actor="system", kind="audit.chain_started",
        after={"chained_from_id": first_id, "existing_events": existing}))
    seal_connection(conn, lock=False)
    op.create_index('ux_audit_seq', 'audit_events', ['seq'], unique=True)
    op.create_index('ux_audit_prev_hash', 'audit_events', ['prev_hash'], unique=True)
    op.create_index('ix_audit_unchained', 'audit_events', ['id'], unique=False,
                    postgresql_where=sa.text('seq IS NULL'), sqlite_where=sa.text('seq IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_audit_unchained', table_name='audit_events')
    op.drop_index('ux_audit_prev_hash', table_name='audit_events')
    op.drop_index('ux_audit_seq', table_name='audit_events')
    op.drop_index('ix_audit_case_seq', table_name='audit_events')
    op.drop_table('audit_subject_keys')
    op.drop_table('audit_chain_head')
    op.execute("DELETE FROM audit_events WHERE kind = 'audit.chain_started'")
    for column in ('case_prev_seq', 'body', 'hash', 'prev_hash', 'seq'):
        op.drop_column('audit_events', column)
