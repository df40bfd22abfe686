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
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import DateTime, ForeignKey, Index, String, delete, func, select, text
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


def find_user(db: Session, email: str) -> User | None:
    """The user with this email (any case), or None, also for text that is not an email at all."""
    try:
        address = normalize_email(email)
    except AccountError:
        return None
    return db.scalar(select(User).where(User.email == address))


def password_matches(password_hash: str | None, password: str) -> bool:
    """One argon2 verification whatever the input: an unknown email (no hash) or an overlong password
    costs the same as a wrong password, so the answer's timing tells nobody who has an account."""
    if password_hash is None or len(password) > MAX_PASSWORD:
        _verify(_dummy(), password[:MAX_PASSWORD])
        return False
    return _verify(password_hash, password)


def rehashed(password_hash: str, password: str) -> str | None:
    """A new hash of a password that just matched, when the stored one has weaker parameters than today's."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None


def signed_in(user: User, new_hash: str | None = None, now: dt.datetime | None = None) -> None:
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = now or utcnow()


def authenticate(db: Session, email: str, password: str, now: dt.datetime | None = None) -> User | None:
    """The user these credentials belong to, or None; an unknown email costs the same hash as a wrong password.

    Hashes inside the caller's transaction: fine for the CLI; the service instead splits this around
    its rate limit (kbgen/web/auth.py) so no transaction stays open while argon2 runs."""
    user = find_user(db, email)
    if not password_matches(user.password_hash if user else None, password):
        return None
    signed_in(user, rehashed(user.password_hash, password), now)
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
#
# A browser that once signed in to an account carries a device cookie for it (OWASP "device
# cookies"): its sign-ins to that account are counted against that browser alone, so strangers'
# failures never lock the owner out. Every other attempt counts against the account (all untrusted
# browsers together) and against its client address, which has its own, higher limit because a
# whole office may share one address.

DEVICE_COOKIE = "kbgen_device"
DEVICE_LIFETIME = dt.timedelta(days=365)
_DEVICE_ACCOUNTS = 4  # accounts one browser is remembered for (a shared office computer)
_DEVICE_TOKEN = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{64}$")
_LOCK_SPACE = zlib.crc32(b"kbgen.login_failures") - 2**31  # advisory lock namespace, a signed int4


@dataclass(frozen=True)
class RateLimit:
    attempts: int  # failed sign-ins allowed per account (its untrusted browsers together) and per device
    window: dt.timedelta
    address_attempts: int = 50  # failed sign-ins allowed per client address, whatever the accounts


@dataclass(frozen=True)
class Attempt:
    """A sign-in counted as failed before its password is checked: the count and its record are one
    step, so concurrent attempts cannot all pass the check before any of them is recorded."""

    keys: tuple[str, ...]
    ids: tuple[int, ...]


def login_keys(email: str, client: str | None, device: str | None = None) -> list[str]:
    """What an attempt is counted against: the trusted device alone, else the typed email and the address."""
    if device:
        return ["device:" + device]
    keys = ["email:" + (email or "").strip().lower()]
    if client:
        keys.append("ip:" + client)
    return keys


def _allowed(key: str, limit: RateLimit) -> int:
    return limit.address_attempts if key.startswith("ip:") else limit.attempts


def retry_after(db: Session, keys: list[str], limit: RateLimit, now: dt.datetime | None = None) -> int | None:
    """Seconds until another attempt is allowed, or None when these keys are within the limit."""
    return _wait(db, keys, limit, now or utcnow(), pending=0)


def _wait(db: Session, keys: list[str], limit: RateLimit, now: dt.datetime, pending: int) -> int | None:
    """Like retry_after, with `pending` rows per key of this very attempt already stored."""
    since = now - limit.window
    wait = 0.0
    for key in keys:
        count, oldest = db.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.failed_at))
            .where(LoginFailure.key_hash == _digest(key), LoginFailure.failed_at > since)).one()
        if count - pending >= _allowed(key, limit) and oldest is not None:
            wait = max(wait, (oldest + limit.window - now).total_seconds())
    return max(1, int(wait + 0.999)) if wait > 0 else None


def reserve_attempt(db: Session, keys: list[str], limit: RateLimit,
                    now: dt.datetime | None = None) -> Attempt | int:
    """Count an attempt as failed before its password is checked; the seconds to wait instead when a
    key is at its limit (then nothing is stored). Commit before checking the password: the hash
    takes long, and no lock or transaction should wait on it.

    Insert first, count second, under a lock per key: on PostgreSQL an advisory lock, on SQLite
    the write lock the insert takes (so the count sees every attempt committed before)."""
    now = now or utcnow()
    if db.get_bind().dialect.name == "postgresql":
        for digest in sorted({_digest(key) for key in keys}):  # one order everywhere: no deadlocks
            db.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                       {"space": _LOCK_SPACE, "key": int(digest[:8], 16) - 2**31})
    rows = [LoginFailure(key_hash=_digest(key), failed_at=now) for key in keys]
    db.add_all(rows)
    db.flush()
    wait = _wait(db, keys, limit, now, pending=1)
    if wait is not None:
        db.execute(delete(LoginFailure).where(LoginFailure.id.in_([row.id for row in rows])))
        return wait
    return Attempt(keys=tuple(keys), ids=tuple(row.id for row in rows))


def cancel_attempt(db: Session, attempt: Attempt) -> None:
    """The password was never checked (the service was too busy): the attempt does not count."""
    db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.ids)))


def accept_attempt(db: Session, attempt: Attempt) -> None:
    """The password was right: the account (or the device) starts afresh; the address keeps the
    others' failures and loses only this attempt."""
    forget_failures(db, attempt.keys[0])
    cancel_attempt(db, attempt)


def recent_failures(db: Session, key: str, limit: RateLimit, now: dt.datetime | None = None) -> int:
    """Failed sign-ins counted against `key` within the window: each is a password check the service ran."""
    since = (now or utcnow()) - limit.window
    return db.scalar(select(func.count(LoginFailure.id))
                     .where(LoginFailure.key_hash == _digest(key), LoginFailure.failed_at > since)) or 0


def record_failure(db: Session, keys: list[str], now: dt.datetime | None = None) -> None:
    """Store a failure without the limit's check (reserve_attempt is the check and the record in one)."""
    now = now or utcnow()
    db.add_all(LoginFailure(key_hash=_digest(key), failed_at=now) for key in keys)


def forget_failures(db: Session, key: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key_hash == _digest(key)))


def _device_signature(secret_key: str, email: str, nonce: str) -> str:
    # The cookie names its account only through this signature, so it shows nobody the email.
    message = f"kbgen device cookie\n{email}\n{nonce}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _device_tokens(cookie: str | None) -> list[str]:
    return [t for t in (cookie or "").split("~")[: _DEVICE_ACCOUNTS * 2] if _DEVICE_TOKEN.match(t)]


def trusted_device(secret_key: str, cookie: str | None, email: str) -> str | None:
    """The id of the device whose cookie was signed for this email, or None (forged, another account's,
    or no cookie)."""
    try:
        address = normalize_email(email)
    except AccountError:
        return None
    for token in _device_tokens(cookie):
        nonce, signature = token.split(".")
        if hmac.compare_digest(signature, _device_signature(secret_key, address, nonce)):
            return nonce
    return None


def remember_device(secret_key: str, cookie: str | None, email: str) -> str:
    """The device cookie after a successful sign-in to `email`: a fresh token for it first, then the
    tokens this browser holds for other accounts."""
    address = normalize_email(email)
    others = [t for t in _device_tokens(cookie)
              if not hmac.compare_digest(t.split(".")[1], _device_signature(secret_key, address, t.split(".")[0]))]
    nonce = secrets.token_hex(16)
    return "~".join([f"{nonce}.{_device_signature(secret_key, address, nonce)}", *others][:_DEVICE_ACCOUNTS])


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
