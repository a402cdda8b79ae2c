"""delivery circuits: every worker's circuit breakers, for the Deliveries page

`delivery_circuits`: one row per (target, worker) whose circuit opened, written by the
dispatcher when a circuit opens or closes and deleted when the worker stops
(core/store/circuit_models.py, core/notifications/circuit_board.py). No backfill.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 00:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'delivery_circuits',
        sa.Column('target', sa.String(length=64), nullable=False),
        sa.Column('worker_id', sa.String(length=120), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('open_until', sa.DateTime(), nullable=True),
        sa.Column('opened', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('target', 'worker_id'),
    )


def downgrade() -> None:
    op.drop_table('delivery_circuits')
