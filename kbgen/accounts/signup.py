"""Sign-up by email domain: people with an address at a domain an organization claims (OrganizationDomain)
create their own customer account, when that organization turned sign-up on (off by default).

`request_sign_up` answers nothing whatever happens ("if sign-up is open for your address, we sent you a
link"): it emails a confirmation link only when the domain's organization takes sign-ups and the address
has no account yet, within the hourly limits (kbgen/accounts/mail_limits.py). The chosen password waits,
hashed, in the link's row until `verify_sign_up` creates the account; an organization that wants to
approve sign-ups gets it `awaiting_approval` until an admin calls `approve`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen.accounts import audit, mail_limits, tokens
from kbgen.accounts.admin import active_admins
from kbgen.accounts.invitations import clean_name
from kbgen.accounts.models import AccountError, AccountToken, Organization, OrganizationDomain, User
from kbgen.accounts.passwords import check_new_password, hash_password
from kbgen.accounts.people import normalize_email
from kbgen.accounts.roles import Role
from kbgen.mail import account_mail
from kbgen.settings import Settings

SIGN_UP_ROLE = Role.CUSTOMER  # who signs up on their own opens and follows their organization's requests


def organization_for_email(db: Session, email: str) -> Organization | None:
    """The active organization that takes sign-ups from this address's domain, or None."""
    try:
        address = normalize_email(email)
    except AccountError:
        return None
    domain = address.rpartition("@")[2]
    org = db.scalar(select(Organization).join(OrganizationDomain)
                    .where(OrganizationDomain.domain == domain))
    return org if org is not None and org.active and org.signup_enabled else None


def request_sign_up(db: Session, settings: Settings, *, email: str, name: str, password: str,
                    client: str | None) -> None:
    """Check what the person typed (AccountError naming the field), then, only when the address's domain
    takes sign-ups and has no account for it, email a confirmation link; records signup.requested."""
    address = normalize_email(email)
    person = clean_name(name)
    if not person:
        raise AccountError("name: enter your name, as the support team and your colleagues will see it")
    check_new_password(password, email=address, name=person)
    org = organization_for_email(db, address)
    if org is None:
        return
    # Hashed whether or not the address has an account: the answer takes as long either way.
    password_hash = hash_password(password)
    if not mail_limits.may_send(db, settings, email=address, client=client):
        return
    if db.scalar(select(User.id).where(User.email == address)) is not None:
        return  # they can sign in, or reset their password: the page told them so
    tokens.revoke_open(db, tokens.VERIFICATION, email=address)
    token, row = tokens.issue(db, tokens.VERIFICATION, email=address, name=person, role=str(SIGN_UP_ROLE),
                              organization_id=org.id, password_hash=password_hash,
                              lifetime=dt.timedelta(hours=settings.verification_hours))
    account_mail.queue_account_email(
        db, settings, "verify_sign_up", to_email=address, to_name=person,
        link=account_mail.link(settings, "verify_sign_up", token=token), org=org.name,
        expires=account_mail.moment(row.expires_at))
    audit.record(db, "signup.requested", target=address, organization=org, client=client)


def refusal(row: AccountToken | None, now: dt.datetime | None = None) -> str | None:
    """Why this confirmation link cannot be used ("unknown", "used", "revoked", "expired"), or None."""
    state = tokens.refusal(row, tokens.VERIFICATION, now)
    if state is None and not row.password_hash:
        return "unknown"  # no sign-up of ours: its password would be missing
    return state


def verify_sign_up(db: Session, settings: Settings, token_row: AccountToken, *, client: str | None) -> User:
    """Create the customer account a confirmation link stands for (awaiting approval when its organization
    wants that, with an email saying so); the link is used up atomically; records signup.verified."""
    state = refusal(token_row)
    if state is not None:
        raise AccountError(f"link: this confirmation link is {state}; sign up again")
    org = organization_for_email(db, token_row.email)
    if org is None or org.id != token_row.organization_id:
        raise AccountError("link: sign-up for this address is closed now; ask your organization's administrator "
                           "or the support team for an invitation")
    if db.scalar(select(User.id).where(User.email == token_row.email)) is not None:
        raise AccountError(f"email: {token_row.email} already has an account: sign in, or reset your password")
    if not tokens.use(db, token_row):
        raise AccountError("link: this confirmation link was just used; sign in")
    user = User(organization=org, email=token_row.email, name=token_row.name, role=str(SIGN_UP_ROLE),
                password_hash=token_row.password_hash, awaiting_approval=org.signup_requires_approval)
    token_row.password_hash = None  # the account holds it now
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise AccountError(f"email: {token_row.email} already has an account: sign in, or reset your password") \
            from None
    audit.record(db, "signup.verified", actor=user, target=user.email, organization=org, client=client,
                 awaiting_approval=user.awaiting_approval)
    if user.awaiting_approval:
        account_mail.queue_account_email(db, settings, "sign_up_awaiting_approval", to_email=user.email,
                                         to_name=user.name, org=org.name)
        review = account_mail.link(settings, "admin_user", id=user.id)
        for admin in active_admins(db):  # someone has to approve it: they learn of it without checking a page
            account_mail.queue_account_email(db, settings, "sign_up_needs_approval", to_email=admin.email,
                                             to_name=admin.name, link=review, org=org.name,
                                             person=user.email, person_name=user.name)
    return user


def approve(db: Session, settings: Settings, user: User, *, by: User | None, client: str | None = None) -> User:
    """Let a person whose sign-up awaits approval sign in, and tell them by email; records signup.approved."""
    if not user.awaiting_approval:
        raise AccountError(f"user: {user.email} is not waiting for approval")
    user.awaiting_approval = False
    account_mail.queue_account_email(db, settings, "sign_up_approved", to_email=user.email, to_name=user.name,
                                     link=account_mail.site_link(settings, "sign_in"), org=user.organization.name)
    audit.record(db, "signup.approved", actor=by, target=user.email, organization=user.organization_id,
                 client=client)
    return user
