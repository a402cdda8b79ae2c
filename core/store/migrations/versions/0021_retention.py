"""retention: relationship end, retention date, legal holds, erasure requests (issue #15.4)

`cases` gains `relationship_ended_at` (a rejection or the `relationship_ended` event sets it),
`retention_until` (that date plus the workflow's `retention_years`, computed then),
`erasure_requested_at` (a pending GDPR erasure request: the case is restricted to admins) and
`erased_at` (the retention run erased its personal data; the row stays as a tombstone), with
indexes for "what falls due" and the restricted cases. Two tables keep the history of legal
holds and erasure requests (core/store/retention_models.py).

Backfill: a case rejected before this revision ended its relationship at its rejection (the
newest `reject` decision): it gets that `relationship_ended_at` and `retention_until` five
years on (the default period; no workflow sets another before this revision;
`core.cases.retention_state.end_relationships_of_rejected`, which the demo loader also runs). Other cases have no relationship end until a rejection or the `relationship_ended`
event gives them one (docs/RECORDS.md).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 18:00:00
"""
import sqlalchemy as sa
from alembic import op

from core.cases.retention_state import end_relationships_of_rejected

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

CASE_COLUMNS = ('relationship_ended_at', 'retention_until', 'erasure_requested_at', 'erased_at')


def upgrade() -> None:
    for name in CASE_COLUMNS:
        op.add_column('cases', sa.Column(name, sa.DateTime(), nullable=True))
    op.create_index('ix_cases_retention_until', 'cases', ['retention_until'], unique=False)
    op.create_index('ix_cases_erasure_requested', 'cases', ['erasure_requested_at'],
                    unique=False)
    op.create_table(
        'legal_holds',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=64), nullable=False),
        sa.Column('placed_by', sa.String(length=64), nullable=False),
        sa.Column('placed_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('until', sa.DateTime(), nullable=True),
        sa.Column('released_by', sa.String(length=64), nullable=True),
        sa.Column('released_at', sa.DateTime(), nullable=True),
        sa.Column('release_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_legal_holds_case', 'legal_holds', ['case_id', 'released_at'],
                    unique=False)
    op.create_table(
        'erasure_requests',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('case_id', sa.String(length=64), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('carried_out_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_erasure_requests_case', 'erasure_requests', ['case_id'], unique=False)
    end_relationships_of_rejected(op.get_bind())


def downgrade() -> None:
    op.drop_index('ix_erasure_requests_case', table_name='erasure_requests')
    op.drop_table('erasure_requests')
    op.drop_index('ix_legal_holds_case', table_name='legal_holds')
    op.drop_table('legal_holds')
    op.drop_index('ix_cases_erasure_requested', table_name='cases')
    op.drop_index('ix_cases_retention_until', table_name='cases')
    for name in reversed(CASE_COLUMNS):
        op.drop_column('cases', name)
