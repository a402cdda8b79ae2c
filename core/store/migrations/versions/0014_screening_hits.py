"""screening hits: list entries a screening returned per subject of a case, and their decisions

`screening_hits`: one row per (case, subject, source, list entry) with the entry, its score
(0-100), the fields that matched, the hash that makes a decision stick across rescreens and
cases, when it was first and last seen (and gone), the reviewer's disposition with its reason,
a lead's sign-off of a true match, and the earlier hit a decision was carried from.
`cases.open_hits`: the case's hits needing work, kept by the screening service in the
command's transaction (the case list's column and filter read it; indexed for "open hits:
yes"). Nothing to fill in: no hit existed before, so every case starts at 0.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-20 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('screening_hits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('subject_key', sa.String(length=40), nullable=False),
    sa.Column('subject_name', sa.String(length=300), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('dataset', sa.String(length=100), nullable=False),
    sa.Column('entry_id', sa.String(length=200), nullable=False),
    sa.Column('entry', sa.JSON(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.Column('matched_fields', sa.JSON(), nullable=False),
    sa.Column('match_hash', sa.String(length=64), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('gone_at', sa.DateTime(), nullable=True),
    sa.Column('disposition', sa.String(length=24), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('disposed_by', sa.String(length=64), nullable=True),
    sa.Column('disposed_at', sa.DateTime(), nullable=True),
    sa.Column('signed_off_by', sa.String(length=64), nullable=True),
    sa.Column('signed_off_at', sa.DateTime(), nullable=True),
    sa.Column('carried_from', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['carried_from'], ['screening_hits.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'subject_key', 'source', 'entry_id',
                        name='uq_screening_hits_entry')
    )
    op.create_index('ix_screening_hits_case', 'screening_hits',
                    ['case_id', 'gone_at', 'disposition'], unique=False)
    op.create_index('ix_screening_hits_match', 'screening_hits',
                    ['match_hash', 'disposition', 'id'], unique=False)
    # plain ALTER TABLE: a batch copy of `cases` would drop its triggers (migrations 0003,
    # 0007, 0011) with the old table
    op.add_column('cases', sa.Column('open_hits', sa.Integer(), server_default='0',
                                     nullable=False))
    op.create_index('ix_cases_open_hits', 'cases', ['open_hits', 'created_at', 'id'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_open_hits', table_name='cases')
    # ALTER TABLE ... DROP COLUMN (SQLite >= 3.35) keeps the table and so its triggers
    op.drop_column('cases', 'open_hits')
    op.drop_index('ix_screening_hits_match', table_name='screening_hits')
    op.drop_index('ix_screening_hits_case', table_name='screening_hits')
    op.drop_table('screening_hits')
