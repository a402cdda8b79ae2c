"""indexes for the Deliveries page at 1M deliveries: newest first within a state, a channel
or an endpoint

The page lists deliveries newest first (`ORDER BY id DESC`) filtered by state, channel,
endpoint or case. With an index on the filter column followed by `id`, page 1 reads 50 index
entries instead of sorting every matching row (docs/PERFORMANCE.md, "Deliveries page").
The endpoint index gains `id`; the case index already ends in the row id on SQLite and is
small per case.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 08:40:00
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_deliveries_state_id', 'deliveries', ['state', 'id'])
    op.create_index('ix_deliveries_channel_state_id', 'deliveries', ['channel', 'state', 'id'])
    op.drop_index('ix_deliveries_endpoint', table_name='deliveries')
    op.create_index('ix_deliveries_endpoint', 'deliveries', ['endpoint_id', 'state', 'id'])


def downgrade() -> None:
    op.drop_index('ix_deliveries_endpoint', table_name='deliveries')
    op.create_index('ix_deliveries_endpoint', 'deliveries', ['endpoint_id', 'state'])
    op.drop_index('ix_deliveries_channel_state_id', table_name='deliveries')
    op.drop_index('ix_deliveries_state_id', table_name='deliveries')
