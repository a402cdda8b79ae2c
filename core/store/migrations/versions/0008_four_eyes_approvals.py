"""four-eyes approvals: `case_approvals`

A workflow's four-eyes rule (core/workflows/four_eyes.py) makes a case need two approvers:
the first Approve is kept here as step 1 while the case stays in Manual review; the final
one as step 2 beside the decision. A first approval that no longer holds is kept with
`withdrawn_at` and why. No existing case needs a row: no workflow had the rule before.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('approver', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('rule', sa.String(length=300), nullable=False),
    sa.Column('facts_digest', sa.String(length=64), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawn_because', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_case_approvals_case', 'case_approvals', ['case_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_case_approvals_case', table_name='case_approvals')
    op.drop_table('case_approvals')
