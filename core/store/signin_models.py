"""What sign-in keeps on the server (core/signin/): one row per browser session, and the
hashed recovery codes of a user's second factor. Migration 0013.

A session row is looked up by the SHA-256 of the random token the browser holds in the signed
sign-in cookie (the token itself is never stored). Each app process checks the row on every
run, so a session ended on one server (by an admin, by "Sign out everywhere") is signed out on
every server at its next action."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.store.base import Base, utcnow


class SignInSession(Base):
    __tablename__ = "sign_in_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)   # SHA-256 of the token
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    method: Mapped[str] = mapped_column(String(16))                 # password | sso
    # mfa: the password was right, the code is still due; enrol: the user must set up a second
    # factor first; active: signed in; ended: see end_reason
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ended_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    client_addr: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # Which cookie key signed the session's cookie (a fingerprint, not the key): a session
    # of another key is ended ("cookie key rotated").
    key_id: Mapped[str] = mapped_column(String(16), default="")
    # The second-factor secret being set up in this session, until the user confirms a code.
    pending_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    __table_args__ = (Index("ix_sign_in_sessions_user", "username", "ended_at"),
                      Index("ix_sign_in_sessions_open", "ended_at", "last_seen_at"))


class RecoveryCode(Base):
    """One of a user's single-use recovery codes (10 at enrolment), as a SHA-256 digest."""
    __tablename__ = "mfa_recovery_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    __table_args__ = (Index("ix_mfa_recovery_codes_user", "username"),)
