"""single-use CSV download links: `export_links`

The Cases page's export streams the CSV from a route of the server
(core/worklist/export_links.py): one row per link, the SHA-256 of its random token (never the
token), who made it, the filter (JSON), the sort, when it expires (10 minutes) and when it was
used (once). Nothing to fill in: there were no links before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-12 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('export_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('sort', sa.String(length=20), nullable=False),
    sa.Column('descending', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index('ix_export_links_expires_at', 'export_links', ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_export_links_expires_at', table_name='export_links')
    op.drop_table('export_links')
