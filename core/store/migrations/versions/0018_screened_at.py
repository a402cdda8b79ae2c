"""screened at: what each case was last screened against by the built-in screener

`screening_case_states` (case_id primary key, references cases; lists JSON: the lists'
[name, version] pairs; threshold int; subjects JSON: per subject the hash of what the
matcher was asked and the matcher's memo; screened_at). Written by the screening worker
with every case it screens (core/screening/rescreen.py); a list reload then rescreens a case
against the entries that changed only. No backfill: a case without a row is screened in
full the next time, as before this revision.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screening_case_states',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('lists', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('subjects', sa.JSON(), nullable=False),
    sa.Column('screened_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('screening_case_states')
