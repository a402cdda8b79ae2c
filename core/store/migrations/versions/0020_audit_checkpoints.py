"""audit checkpoints: signed notes committing to the audit chain's Merkle root

`audit_checkpoints`: one row per checkpoint (core/store/audit_checkpoint_models.py,
core/records/checkpoint.py): when, how many chained events it covers (`tree_size`), their
RFC 6962 Merkle root (hex), the last covered event's seq and hash, the signing key's id, why
it was written, and the signed note itself. Index `ix_audit_checkpoints_created_at` for "the
last checkpoint" and the worker's daily one. No backfill: the first checkpoint is written on
demand, by the worker or with a case file.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_checkpoints',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('tree_size', sa.BigInteger(), nullable=False),
        sa.Column('root_hash', sa.String(length=64), nullable=False),
        sa.Column('head_seq', sa.BigInteger(), nullable=True),
        sa.Column('head_hash', sa.String(length=64), nullable=True),
        sa.Column('key_id', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_checkpoints_created_at', 'audit_checkpoints', ['created_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_checkpoints_created_at', table_name='audit_checkpoints')
    op.drop_table('audit_checkpoints')
