"""Organizations and the people in them: adding, finding, listing, and signing in with a password.

Plain functions over a SQLAlchemy session (`db`); the caller owns the transaction.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen.accounts.models import MAX_EMAIL, MAX_NAME, AccountError, LoginSession, Organization, User
from kbgen.accounts.passwords import hash_password, password_matches, rehashed
from kbgen.accounts.refusals import DEACTIVATED_MESSAGE, PENDING_MESSAGE
from kbgen.accounts.roles import ROLES, role_of
from kbgen.db import utcnow
from kbgen.mail.addresses import EMAIL_RE, is_email_address

_EMAIL = EMAIL_RE  # the one email check is kbgen/mail/addresses.py; the old name stays for importers


def normalize_email(email: str) -> str:
    value = (email or "").strip().lower()
    if not value or len(value) > MAX_EMAIL or not is_email_address(value):
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
    if role_of(role) is None:
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




def sign_in_refusal(user: User) -> str | None:
    """Why a person whose password matched still cannot sign in, in their words; None when they can."""
    if user.deactivated_at is not None or user.organization.deactivated_at is not None:
        return DEACTIVATED_MESSAGE
    if user.awaiting_approval:
        return PENDING_MESSAGE
    return None


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


def signed_in(user: User, new_hash: str | None = None, now: dt.datetime | None = None) -> None:
    if new_hash:
        user.password_hash = new_hash
    user.last_login_at = now or utcnow()


def authenticate(db: Session, email: str, password: str, now: dt.datetime | None = None) -> User | None:
    """The user these credentials belong to, or None; an unknown email costs the same hash as a wrong password.

    Hashes inside the caller's transaction: fine for the CLI; the service instead splits this around
    its rate limit (kbgen/web/routes/session.py) so no transaction stays open while argon2 runs."""
    user = find_user(db, email)
    if not password_matches(user.password_hash if user else None, password) or not user.can_sign_in:
        return None
    signed_in(user, rehashed(user.password_hash, password), now)
    return user


def _flush(db: Session, duplicate: str) -> None:
    """Turns the unique-constraint race of two concurrent adds into the same message as the check before it."""
    try:
        db.flush()
    except IntegrityError:
        raise AccountError(duplicate) from None
