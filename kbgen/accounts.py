"""Accounts: organizations, their users, sign-in sessions and the sign-in rate limit.

Plain functions over a SQLAlchemy session (`db`); the caller owns the transaction
(`with sessionmaker.begin() as db: ...`), so the CLI, the HTTP layer and the tests
share one definition of who may sign in and for how long.

Everything that must hold across service replicas (sessions, failed sign-ins) is
in the database, never in process memory.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, ForeignKey, Index, String, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kbgen.db import Base

# customer and partner people open requests for their organization; agents are the support team.
ROLES: tuple[str, ...] = ("customer", "partner", "agent")

# The browser's session cookie (HttpOnly) and the JS-readable cookie with that session's CSRF token.
SESSION_COOKIE = "kbgen_session"
CSRF_COOKIE = "kbgen_csrf"

SESSION_IDLE = dt.timedelta(days=14)  # signed out after two weeks without a visit
SESSION_LIFETIME = dt.timedelta(days=90)  # and after three months whatever happens
_TOUCH_EVERY = dt.timedelta(minutes=5)  # one write per five minutes of activity, not per request

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps a request from costing seconds
MAX_EMAIL = 320
MAX_NAME = 200

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+$")
_hasher = PasswordHasher()
_dummy_hash: str | None = None


class AccountError(ValueError):
    """A request the accounts model refuses; the message says what to change."""


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite keeps no time zones, so every timestamp here is UTC without one."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


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
        return self.role == "agent"

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


# -- passwords --

def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password: use at most {MAX_PASSWORD} characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


# -- organizations and users --

def normalize_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not value or len(value) > MAX_EMAIL or not _EMAIL.match(value):
        raise AccountError(f"email: {email!r} is not an email address like name@example.com")
    return value


def find_organization(db: Session, name: str) -> Organization | None:
    wanted = (name or "").strip()
    found = db.scalar(select(Organization).where(Organization.name == wanted))
    return found or db.scalar(select(Organization).where(func.lower(Organization.name) == wanted.lower()))


def add_organization(db: Session, name: str) -> Organization:
    clean = (name or "").strip()
    if not clean or len(clean) > MAX_NAME:
        raise AccountError(f"organization name: give 1 to {MAX_NAME} characters")
    existing = find_organization(db, clean)
    if existing is not None:
        raise AccountError(f"organization {existing.name!r} already exists")
    org = Organization(name=clean)
    db.add(org)
    _flush(db, f"organization {clean!r} already exists")
    return org


def add_user(db: Session, *, organization: str, email: str, role: str, password: str, name: str = "") -> User:
    """Add a person who can sign in. `organization` is the organization's name (case-insensitive)."""
    if role not in ROLES:
        raise AccountError(f"role: {role!r} is not one of {', '.join(ROLES)}")
    address = normalize_email(email)
    org = find_organization(db, organization)
    if org is None:
        raise AccountError(f"organization {organization!r} does not exist: add it first with 'kbgen orgs add'")
    if len(name) > MAX_NAME:
        raise AccountError(f"name: use at most {MAX_NAME} characters")
    if db.scalar(select(User.id).where(User.email == address)) is not None:
        raise AccountError(f"a user with email {address} already exists")
    user = User(organization=org, email=address, name=name.strip(), role=role, password_hash=hash_password(password))
    db.add(user)
    _flush(db, f"a user with email {address} already exists")
    return user


def set_password(db: Session, email: str, password: str) -> User:
    user = db.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise AccountError(f"no user with email {email!r}: see 'kbgen users list'")
    user.password_hash = hash_password(password)
    # A new password ends every open session: that is why people change it.
    db.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    return user


def list_organizations(db: Session) -> list[tuple[Organization, int]]:
    """Organizations by name with their number of users."""
    counts = (select(Organization, func.count(User.id)).outerjoin(User, User.organization_id == Organization.id)
              .group_by(Organization.id).order_by(func.lower(Organization.name)))
    return [(org, count) for org, count in db.execute(counts)]


def list_users(db: Session, organization: str | None = None) -> list[User]:
    query = select(User).join(User.organization).order_by(func.lower(Organization.name), User.email)
    if organization is not None:
        org = find_organization(db, organization)
        if org is None:
            raise AccountError(f"organization {organization!r} does not exist")
        query = query.where(User.organization_id == org.id)
    return list(db.scalars(query).unique())


def authenticate(db: Session, email: str, password: str, now: dt.datetime | None = None) -> User | None:
    """The user these credentials belong to, or None; an unknown email costs the same hash as a wrong password."""
    try:
        address = normalize_email(email)
    except AccountError:
        address = None
    user = db.scalar(select(User).where(User.email == address)) if address else None
    if user is None or len(password) > MAX_PASSWORD:
        _verify(_dummy(), password[:MAX_PASSWORD])
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = now or utcnow()
    return user


# -- sign-in sessions --

def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(db: Session, user: User, now: dt.datetime | None = None) -> tuple[str, LoginSession]:
    """Start a session; returns the cookie token (shown once, never stored) and the stored row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    login = LoginSession(token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now)
    db.add(login)
    db.flush()
    return token, login


def find_session(db: Session, token: str | None, now: dt.datetime | None = None) -> LoginSession | None:
    """The live session for a cookie token; refreshes its idle clock now and then."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    login = db.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token)))
    if login is None:
        return None
    if login.expired(now):
        db.delete(login)
        return None
    if now - login.last_seen_at > _TOUCH_EVERY:
        login.last_seen_at = now
    return login


def session_csrf_token(db: Session, token: str | None) -> str | None:
    login = find_session(db, token)
    return login.csrf_token if login else None


def close_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


# -- sign-in rate limit --

@dataclass(frozen=True)
class RateLimit:
    attempts: int  # failed sign-ins allowed per key within the window
    window: dt.timedelta


def login_keys(email: str, client: str | None) -> list[str]:
    """What failures are counted against: the typed email and the client address."""
    keys = ["email:" + (email or "").strip().lower()]
    if client:
        keys.append("ip:" + client)
    return keys


def retry_after(db: Session, keys: list[str], limit: RateLimit, now: dt.datetime | None = None) -> int | None:
    """Seconds until another attempt is allowed, or None when these keys are within the limit."""
    now = now or utcnow()
    since = now - limit.window
    wait = 0.0
    for key in keys:
        count, oldest = db.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.failed_at))
            .where(LoginFailure.key_hash == _digest(key), LoginFailure.failed_at > since)).one()
        if count >= limit.attempts and oldest is not None:
            wait = max(wait, (oldest + limit.window - now).total_seconds())
    return max(1, int(wait + 0.999)) if wait > 0 else None


def record_failure(db: Session, keys: list[str], now: dt.datetime | None = None) -> None:
    now = now or utcnow()
    db.add_all(LoginFailure(key_hash=_digest(key), failed_at=now) for key in keys)


def forget_failures(db: Session, key: str) -> None:
    """After a successful sign-in its email starts afresh (the client address does not)."""
    db.execute(delete(LoginFailure).where(LoginFailure.key_hash == _digest(key)))


def purge(db: Session, limit: RateLimit, now: dt.datetime | None = None) -> None:
    """Drop expired sessions and failures older than the window; called on sign-in, so no cron is needed."""
    now = now or utcnow()
    db.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - limit.window))
    db.execute(delete(LoginSession).where(
        (LoginSession.last_seen_at < now - SESSION_IDLE) | (LoginSession.created_at < now - SESSION_LIFETIME)))


def _flush(db: Session, duplicate: str) -> None:
    """Turns the unique-constraint race of two concurrent adds into the same message as the check before it."""
    try:
        db.flush()
    except IntegrityError:
        raise AccountError(duplicate) from None
