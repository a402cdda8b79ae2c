"""saved filters ("My views"): `saved_filters`

A reviewer keeps the case list's sidebar filters under a name (core/worklist/saved_filters.py):
one row per saved filter, its owner's username, the filters as a JSON object, the name unique
per owner. Nothing to fill in: no one had saved a filter before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('saved_filters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['owner'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner', 'name', name='uq_saved_filters_owner_name')
    )


def downgrade() -> None:
    op.drop_table('saved_filters')
