"""risk levels: the explained risk score stored on each case

`cases.risk_points` (int, 0 until scored), `cases.risk_level` (low | medium | high,
String(8); null until scored) and
`cases.risk_factors` (JSON: the inputs scored and the factors that added points), written by
the application with every change to a case (core/cases/risk.py, docs/RISK.md). Two indexes:
`ix_cases_risk_level` (risk_level, created_at, id) for the level filter newest first, and
`ix_cases_risk_points` (risk_points, id) for the Risk sort.

Backfill: every existing case scored under its workflow's model (the default models: no
workflow has one stored before this revision) by the application's own set-based reader
(`core.cases.risk.score_cases`), BATCH cases at a time in id order, before the indexes are
built. It reads only columns that exist at this revision. docs/PERFORMANCE.md ("Risk
scores") has the time measured at 1M cases.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 19:00:00
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from core.cases.risk import score_cases

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('cases', sa.Column('risk_points', sa.Integer(), server_default='0',
                                     nullable=False))
    op.add_column('cases', sa.Column('risk_level', sa.String(length=8), nullable=True))
    op.add_column('cases', sa.Column('risk_factors', sa.JSON(), nullable=True))
    session = Session(bind=op.get_bind())
    score_cases(session)
    session.close()  # the migration's own transaction stays open: Alembic commits it
    op.create_index('ix_cases_risk_level', 'cases', ['risk_level', 'created_at', 'id'],
                    unique=False)
    op.create_index('ix_cases_risk_points', 'cases', ['risk_points', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_cases_risk_points', table_name='cases')
    op.drop_index('ix_cases_risk_level', table_name='cases')
    op.drop_column('cases', 'risk_factors')
    op.drop_column('cases', 'risk_level')
    op.drop_column('cases', 'risk_points')
