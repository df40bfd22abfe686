"""The accounts tables: organizations, their users, sign-in sessions and failed sign-ins."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kbgen.accounts.roles import role_of
from kbgen.db import Base, utcnow

MAX_EMAIL = 320
MAX_NAME = 200

SESSION_IDLE = dt.timedelta(days=14)  # signed out after two weeks without a visit
SESSION_LIFETIME = dt.timedelta(days=90)  # and after three months whatever happens


class AccountError(ValueError):
    """A request the accounts model refuses; the message says what to change."""


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)

    users: Mapped[list["User"]] = relationship(back_populates="organization", lazy="raise_on_sql")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(MAX_NAME), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(), default=None)  # migration 2

    # Joined, so a User handed to a request handler still knows its organization after the db session closed.
    organization: Mapped[Organization] = relationship(back_populates="users", lazy="joined")

    @property
    def is_agent(self) -> bool:
        """One of the support team (a role that answers tickets)."""
        role = role_of(self.role)
        return role is not None and role.can_answer_tickets

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginSession(Base):
    """A signed-in browser. Only a hash of its cookie token is stored, so a database dump signs nobody in."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow, index=True)

    user: Mapped[User] = relationship(lazy="joined")

    def expired(self, now: dt.datetime) -> bool:
        return now - self.last_seen_at > SESSION_IDLE or now - self.created_at > SESSION_LIFETIME


class LoginFailure(Base):
    """One failed sign-in, counted per email and per client address for the rate limit."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_time", "key_hash", "failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64))  # hashed: typed emails of strangers are nobody's business
    failed_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)
