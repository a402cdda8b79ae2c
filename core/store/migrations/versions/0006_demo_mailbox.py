"""demo mailbox: emails kept in the app instead of sent, while no SMTP server is configured

With DOCKET_DEMO_MAILBOX on (auto: in demo mode) and no SMTP host set, an email notification
is rendered as usual, its re-upload link minted, and the message kept in `captured_emails`
for admins to read on the Sent emails page (a mail catcher inside the app).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 01:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('captured_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=64), nullable=False),
    sa.Column('case_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('to_name', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=1000), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('link', sa.Text(), nullable=False),
    sa.Column('captured_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id')
    )
    op.create_index('ix_captured_emails_at', 'captured_emails', ['captured_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_captured_emails_at', table_name='captured_emails')
    op.drop_table('captured_emails')
