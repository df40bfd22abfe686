"""The accounts tables: organizations (and their sign-up domains), their users (and a partner's further
organizations), sign-in sessions, failed sign-ins, and the single-use links of invitations, password
resets and sign-up verifications."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kbgen.accounts.roles import role_of
from kbgen.db import Base, utcnow

MAX_EMAIL = 320
MAX_NAME = 200
MAX_DOMAIN = 253  # the longest DNS name

SESSION_IDLE = dt.timedelta(days=14)  # signed out after two weeks without a visit
SESSION_LIFETIME = dt.timedelta(days=90)  # and after three months whatever happens


class AccountError(ValueError):
    """A request the accounts model refuses; the message says what to change."""


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)
    # Set: nobody of this organization signs in; its requests stay, readable by the support team.
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(), default=None)
    # People with an address at one of its domains may sign up on their own (off by default) ...
    signup_enabled: Mapped[bool] = mapped_column(Boolean(), default=False)
    # ... and then wait for an admin's approval before they can sign in.
    signup_requires_approval: Mapped[bool] = mapped_column(Boolean(), default=False)

    users: Mapped[list["User"]] = relationship(back_populates="organization", lazy="raise_on_sql")
    domains: Mapped[list["OrganizationDomain"]] = relationship(
        back_populates="organization", lazy="selectin", order_by="OrganizationDomain.domain",
        cascade="all, delete-orphan")

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


class OrganizationDomain(Base):
    """An email domain an organization claims (acme.example): one organization per domain."""

    __tablename__ = "organization_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(MAX_DOMAIN), unique=True)  # lower-cased, no leading "@"

    organization: Mapped[Organization] = relationship(back_populates="domains")


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
    # Set: cannot sign in; their requests and comments stay and still show their name.
    deactivated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(), default=None)
    # Signed up by email domain for an organization that wants an admin's approval first.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean(), default=False)
    # Which ticket emails they get: kbgen.mail.preferences.PREFERENCES (all, replies, none).
    notify: Mapped[str] = mapped_column(String(16), default="all")

    # Joined, so a User handed to a request handler still knows its organization after the db session closed.
    organization: Mapped[Organization] = relationship(back_populates="users", lazy="joined")
    # A partner's further customer organizations (Membership); loaded with the user for the same reason.
    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="user", lazy="selectin", cascade="all, delete-orphan", order_by="Membership.organization_id")

    @property
    def is_agent(self) -> bool:
        """One of the support team (a role that answers tickets)."""
        role = role_of(self.role)
        return role is not None and role.can_answer_tickets

    @property
    def is_admin(self) -> bool:
        """Runs the accounts (invitations, organizations, roles, the audit log)."""
        role = role_of(self.role)
        return role is not None and role.can_administer

    @property
    def can_sign_in(self) -> bool:
        return self.deactivated_at is None and not self.awaiting_approval and self.organization.deactivated_at is None

    @property
    def organization_ids(self) -> tuple[int, ...]:
        """The organizations whose requests this person opens and follows: their own, then a partner's others."""
        return (self.organization_id, *(m.organization_id for m in self.memberships
                                        if m.organization_id != self.organization_id))

    @property
    def organizations(self) -> list[Organization]:
        """The same, as Organization rows (a partner's further ones are loaded with the memberships)."""
        return [self.organization, *(m.organization for m in self.memberships
                                     if m.organization_id != self.organization_id)]

    @property
    def display_name(self) -> str:
        return self.name or self.email


class Membership(Base):
    """A partner's further customer organization: they see its requests and open requests for it."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", name="uq_memberships_user_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    organization: Mapped[Organization] = relationship(lazy="joined")


class AccountToken(Base):
    """A single-use link sent by email: an invitation, a password reset or a sign-up's address check.

    Only a hash of the link's token is stored, so a database dump opens no account. A token is
    usable while it is neither used, revoked nor expired; using it sets used_at."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_email_purpose", "email", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16))  # kbgen.accounts.tokens.PURPOSES
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(MAX_EMAIL))
    name: Mapped[str] = mapped_column(String(MAX_NAME), default="")
    role: Mapped[str | None] = mapped_column(String(16))  # invitations: the role they join with
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # A sign-up's chosen password waits here, hashed, until the address is confirmed.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime())

    organization: Mapped[Organization | None] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")

    def state(self, now: dt.datetime) -> str:
        """"used", "revoked", "expired" or "valid"."""
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "valid"


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
