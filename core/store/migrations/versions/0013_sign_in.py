"""sign-in: server-side sessions, a second factor, recovery codes, sign-in events by kind

`sign_in_sessions`: one row per browser session (core/signin/sessions.py), by the SHA-256 of
the token in the signed cookie; idle timeout, lifetime and "end this session" are checked
against it on every run, in every app process. `users` gains the TOTP secret, when it was
enrolled and the last time step accepted (no code is accepted twice). `mfa_recovery_codes`:
hashed single-use codes. `ix_audit_kind`: the Sign-ins tab reads audit events by kind.
Nothing to fill in: no session or second factor existed before; the cookies issued before
carry no session and sign in again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-13 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('mfa_secret', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('mfa_enrolled_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('mfa_last_step', sa.Integer(), nullable=True))
    op.create_table('sign_in_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('end_reason', sa.String(length=32), nullable=True),
    sa.Column('ended_by', sa.String(length=64), nullable=True),
    sa.Column('client_addr', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('pending_secret', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_sign_in_sessions_user', 'sign_in_sessions', ['username', 'ended_at'],
                    unique=False)
    op.create_index('ix_sign_in_sessions_open', 'sign_in_sessions', ['ended_at', 'last_seen_at'],
                    unique=False)
    op.create_table('mfa_recovery_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['username'], ['users.username'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_mfa_recovery_codes_user', 'mfa_recovery_codes', ['username'],
                    unique=False)
    op.create_index('ix_audit_kind', 'audit_events', ['kind', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_kind', table_name='audit_events')
    op.drop_index('ix_mfa_recovery_codes_user', table_name='mfa_recovery_codes')
    op.drop_table('mfa_recovery_codes')
    op.drop_index('ix_sign_in_sessions_open', table_name='sign_in_sessions')
    op.drop_index('ix_sign_in_sessions_user', table_name='sign_in_sessions')
    op.drop_table('sign_in_sessions')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('mfa_last_step')
        batch.drop_column('mfa_enrolled_at')
        batch.drop_column('mfa_secret')
