"""Invitations: an admin (or `kbgen users invite`) asks someone by email to join an organization with a role;
the person opens the emailed link, chooses a name and a password, and is signed in.

Plain functions over the caller's transaction, like the rest of kbgen.accounts; the admin pages, the CLI
and the account pages (kbgen/web/routes/account.py) call them. Refusals are AccountError, whose message
starts with the field at fault ("email: ...") and says what to do. The link's token is only emailed;
the database keeps its hash (kbgen/accounts/tokens.py).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen.accounts import audit, tokens
from kbgen.accounts.models import MAX_NAME, AccountError, AccountToken, Organization, User
from kbgen.accounts.passwords import check_new_password, hash_password
from kbgen.accounts.people import normalize_email
from kbgen.accounts.roles import ROLES, role_of
from kbgen.db import utcnow
from kbgen.mail import account_mail
from kbgen.settings import Settings


def clean_name(name: str | None) -> str:
    """A person's name as typed, trimmed; AccountError("name: ...") past MAX_NAME."""
    value = " ".join((name or "").split())
    if len(value) > MAX_NAME:
        raise AccountError(f"name: use at most {MAX_NAME} characters")
    return value


def _organization(db: Session, organization_id: int | None) -> Organization:
    org = db.get(Organization, organization_id) if isinstance(organization_id, int) else None
    if org is None:
        raise AccountError(f"organization: there is no organization with id {organization_id!r}; "
                           "choose one from the list of organizations")
    if not org.active:
        raise AccountError(f"organization: {org.name} is deactivated; reactivate it before inviting people to it")
    return org


def _no_account_yet(db: Session, address: str, org: Organization) -> None:
    existing = db.scalar(select(User).where(User.email == address))
    if existing is None:
        return
    if existing.organization_id == org.id:
        raise AccountError(f"email: {address} is already a member of {org.name}")
    raise AccountError(f"email: {address} is already a member of another organization: "
                       "move them from the admin pages instead")


def inviter_words(row: AccountToken) -> str:
    """Who invited, as the email and the invitation page say it: "Sam Agent at Vendor Support"."""
    person = row.created_by
    if person is None:
        return "The support team"
    return f"{person.display_name} at {person.organization.name}"


def _send(db: Session, settings: Settings, *, address: str, org: Organization, role: str, name: str,
          created_by_id: int | None) -> tuple[AccountToken, str]:
    tokens.revoke_open(db, tokens.INVITATION, email=address)  # the newest link is the only one that works
    token, row = tokens.issue(db, tokens.INVITATION, email=address,
                              lifetime=dt.timedelta(days=settings.invitation_days), name=name, role=str(role),
                              organization_id=org.id, created_by_id=created_by_id)
    db.refresh(row)  # loads created_by for the email's words
    chosen = role_of(role)
    account_mail.queue_account_email(
        db, settings, "invitation", to_email=address, to_name=name,
        link=account_mail.link(settings, "invitation", token=token), inviter=inviter_words(row), org=org.name,
        role=chosen.label, role_description=chosen.description, expires=account_mail.moment(row.expires_at))
    return row, token


def invite(db: Session, settings: Settings, *, email: str, organization_id: int, role: str, name: str = "",
           invited_by: User | None = None, client: str | None = None) -> AccountToken:
    """Invite `email` to join an organization with `role`: revokes their older open invitations, emails a
    link that works settings.invitation_days, and records invitation.sent."""
    address = normalize_email(email)
    if role_of(role) is None:
        raise AccountError(f"role: {role!r} is not a role; choose one of {', '.join(ROLES)}")
    org = _organization(db, organization_id)
    person = clean_name(name)
    _no_account_yet(db, address, org)
    row, _ = _send(db, settings, address=address, org=org, role=role, name=person,
                   created_by_id=invited_by.id if invited_by is not None else None)
    audit.record(db, "invitation.sent", actor=invited_by, target=address, organization=org, client=client,
                 role=str(role), expires_at=row.expires_at.isoformat(timespec="seconds"))
    return row


def _invitation(db: Session, invitation_id: int) -> AccountToken:
    row = db.get(AccountToken, invitation_id) if isinstance(invitation_id, int) else None
    if row is None or row.purpose != tokens.INVITATION:
        raise AccountError(f"invitation: there is no invitation with id {invitation_id!r}; "
                           "see the list of open invitations")
    if row.used_at is not None:
        raise AccountError(f"invitation: {row.email} already accepted this invitation; they can sign in")
    return row


def resend(db: Session, settings: Settings, invitation_id: int, *, by: User | None = None,
           client: str | None = None) -> AccountToken:
    """Email the invitation again with a new link (the old link stops working); records invitation.resent."""
    old = _invitation(db, invitation_id)
    org = _organization(db, old.organization_id)
    if role_of(old.role) is None:
        raise AccountError(f"role: {old.role!r} is no longer a role; invite {old.email} again with a role")
    _no_account_yet(db, old.email, org)
    row, _ = _send(db, settings, address=old.email, org=org, role=old.role, name=old.name,
                   created_by_id=by.id if by is not None else old.created_by_id)
    audit.record(db, "invitation.resent", actor=by, target=old.email, organization=org, client=client,
                 role=old.role, expires_at=row.expires_at.isoformat(timespec="seconds"))
    return row


def revoke(db: Session, invitation_id: int, *, by: User | None = None, client: str | None = None) -> AccountToken:
    """Withdraw an invitation: its link stops working at once; records invitation.revoked."""
    row = _invitation(db, invitation_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(db, "invitation.revoked", actor=by, target=row.email, organization=row.organization_id,
                     client=client, role=row.role)
    return row


def open_invitations(db: Session, organization_id: int | None = None) -> list[AccountToken]:
    """Invitations neither accepted nor revoked, newest first; expired ones too (row.state(now) says)."""
    query = (select(AccountToken).where(AccountToken.purpose == tokens.INVITATION, AccountToken.used_at.is_(None),
                                        AccountToken.revoked_at.is_(None))
             .order_by(AccountToken.created_at.desc(), AccountToken.id.desc()))
    if organization_id is not None:
        query = query.where(AccountToken.organization_id == organization_id)
    return list(db.scalars(query).unique())


def refusal(row: AccountToken | None, now: dt.datetime | None = None) -> str | None:
    """Why this invitation's link cannot be used ("unknown", "used", "revoked", "expired"), or None."""
    return tokens.refusal(row, tokens.INVITATION, now)


def accept(db: Session, token_row: AccountToken, *, password: str, name: str, client: str | None = None) -> User:
    """Create the invited person's account in the invitation's organization with its role, with the chosen
    password (check_new_password) and name; the link is used up atomically; records invitation.accepted."""
    state = refusal(token_row)
    if state is not None:
        raise AccountError(f"invitation: this invitation is {state}; ask for a new one")
    person = clean_name(name)
    if not person:
        raise AccountError("name: enter your name, as the support team and your colleagues will see it")
    check_new_password(password, email=token_row.email, name=person)
    org = _organization(db, token_row.organization_id)
    if role_of(token_row.role) is None:
        raise AccountError("invitation: its role no longer exists; ask for a new invitation")
    if db.scalar(select(User.id).where(User.email == token_row.email)) is not None:
        raise AccountError(f"email: {token_row.email} already has an account: sign in, or reset your password")
    password_hash = hash_password(password)  # before the first write: no lock is held while argon2 runs
    if not tokens.use(db, token_row):
        raise AccountError("invitation: this invitation was just used; sign in, or reset your password")
    user = User(organization=org, email=token_row.email, name=person, role=token_row.role,
                password_hash=password_hash)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise AccountError(f"email: {token_row.email} already has an account: sign in, or reset your password") \
            from None
    audit.record(db, "invitation.accepted", actor=user, target=user.email, organization=org, client=client,
                 role=user.role, invited_by=token_row.created_by.email if token_row.created_by else audit.SYSTEM)
    return user
