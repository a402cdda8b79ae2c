"""screening lists: the built-in screener's list files, their versions and entries, and the
queue of cases to screen

`screening_lists`: one row per list an admin loaded (name, the title hits show as their
dataset, the file format, the current version and its entry count). `screening_list_versions`:
one row per load that changed something (file, its SHA-256, counts added / changed / removed,
up to 50 entry ids per kind). `screening_entries`: every entry ever loaded, kept when a reload
drops it (`removed_version`), so the current entries are those with `removed_version` NULL.
`screening_jobs`: the cases waiting to be screened (one row per case), claimed by a worker
with a lease. `cases.origin_case_id`: a monitoring review opened from an approved customer's
new hits points at the case it reviews. Nothing to fill in: no list existed before, and every
existing case has no origin.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 17:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screening_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('screening_list_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['list_id'], ['screening_lists.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('list_id', 'version', name='uq_screening_list_versions_version')
    )
    op.create_table('screening_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('list_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.String(length=200), nullable=False),
    sa.Column('schema', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('birth_dates', sa.JSON(), nullable=False),
    sa.Column('countries', sa.JSON(), nullable=False),
    sa.Column('programme', sa.String(length=300), nullable=True),
    sa.Column('url', sa.String(length=1000), nullable=True),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('added_version', sa.Integer(), nullable=False),
    sa.Column('changed_version', sa.Integer(), nullable=False),
    sa.Column('removed_version', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['list_id'], ['screening_lists.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('list_id', 'entry_id', name='uq_screening_entries_entry')
    )
    op.create_index('ix_screening_entries_current', 'screening_entries',
                    ['list_id', 'removed_version', 'id'], unique=False)
    op.create_table('screening_jobs',
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('claimed_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('case_id')
    )
    op.create_index('ix_screening_jobs_claim', 'screening_jobs',
                    ['claimed_until', 'queued_at'], unique=False)
    # plain ALTER TABLE ... ADD COLUMN ... REFERENCES (inline, so SQLite takes it): a batch
    # copy of `cases` would drop its triggers (migrations 0003, 0007, 0011) with the old table
    op.add_column('cases', sa.Column('origin_case_id', sa.String(length=64),
                                     sa.ForeignKey('cases.id'), nullable=True),
                  inline_references=True)
    op.create_index('ix_cases_origin', 'cases', ['origin_case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_origin', table_name='cases')
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) keeps the table and so its triggers;
    # PostgreSQL drops the column's foreign key with it
    op.drop_column('cases', 'origin_case_id')
    op.drop_index('ix_screening_jobs_claim', table_name='screening_jobs')
    op.drop_table('screening_jobs')
    op.drop_index('ix_screening_entries_current', table_name='screening_entries')
    op.drop_table('screening_entries')
    op.drop_table('screening_list_versions')
    op.drop_table('screening_lists')
