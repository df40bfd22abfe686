"""What an administrator does to organizations and people: the admin pages and the CLI call these.

Plain functions over a SQLAlchemy session (`db`); the caller owns the transaction. Each one
checks what it is asked, changes what it says, and records its audit event in the same
transaction (`by` is the admin User doing it, None for the CLI; `client` their address). A
refusal is an AccountError whose message names what is wrong and what to do, and changes nothing.

Choices worth knowing:
- the last active administrator can neither be demoted nor deactivated (nor their organization),
  and nobody deactivates themselves or their own organization: the portal always keeps someone
  who can undo a mistake;
- anyone may be moved to another (active) organization: for customers and partners that decides
  whose requests they see; agents and admins see every request anyway, so moving them only
  corrects where the team is filed. A partner's membership of the new organization becomes
  their own organization instead of a second copy of it;
- a role that cannot join several organizations ends the person's further memberships.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from kbgen.accounts import audit
from kbgen.accounts.models import (MAX_DOMAIN, MAX_NAME, AccountError, Membership, Organization,
                                   OrganizationDomain, User)
from kbgen.accounts.people import _flush, add_organization, find_organization
from kbgen.accounts.roles import ADMIN_ROLES, ROLES, Role, role_of
from kbgen.accounts.sessions import end_sessions
from kbgen.db import utcnow

_DOMAIN = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
USER_STATES = {"active": "Active", "deactivated": "Deactivated", "awaiting": "Awaiting approval"}
USERS_PER_PAGE = 50
MAX_SEARCH = 200


def _shown(text: str, limit: int = 60) -> str:
    """What a person typed, short enough to quote in a message."""
    text = str(text)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


# -- organizations ---------------------------------------------------------------------------------

def clean_name(name: str, what: str = "organization name") -> str:
    clean = (name or "").strip()
    if not clean or len(clean) > MAX_NAME:
        raise AccountError(f"{what}: give 1 to {MAX_NAME} characters")
    return clean


def create_organization(db: Session, name: str, *, by: User | None = None, client: str | None = None) -> Organization:
    org = add_organization(db, clean_name(name))
    audit.record(db, "organization.created", actor=by, target=org.name, organization=org, client=client)
    return org


def rename_organization(db: Session, org: Organization, name: str, *, by: User | None = None,
                        client: str | None = None) -> Organization:
    clean = clean_name(name)
    if clean == org.name:
        raise AccountError(f"organization name: {org.name!r} is already its name; type the new name")
    other = find_organization(db, clean)
    if other is not None and other.id != org.id:
        raise AccountError(f"organization name: {other.name!r} is the name of another organization; choose another")
    old, org.name = org.name, clean
    db.flush()
    audit.record(db, "organization.renamed", actor=by, target=clean, organization=org, client=client,
                 old=old, new=clean)
    return org


def normalize_domain(text: str) -> str:
    """acme.example from " @ACME.example ", or an AccountError saying what a domain looks like."""
    value = (text or "").strip().lower().lstrip("@").rstrip(".")
    if not value:
        raise AccountError("domain: type the part of your people's email addresses after the @, like acme.example")
    if len(value) > MAX_DOMAIN or not _DOMAIN.fullmatch(value):
        raise AccountError(f"domain: {_shown(value)} is not a domain name; type one like acme.example "
                           "(letters, digits and hyphens, dots between the parts)")
    return value


def add_domain(db: Session, org: Organization, domain: str, *, by: User | None = None,
               client: str | None = None) -> OrganizationDomain:
    value = normalize_domain(domain)
    claimed = db.scalar(select(OrganizationDomain).where(OrganizationDomain.domain == value))
    if claimed is not None:
        if claimed.organization_id == org.id:
            raise AccountError(f"domain: {value} is already a domain of {org.name}")
        raise AccountError(f"domain: {value} already belongs to organization {claimed.organization.name}; "
                           "remove it there first")
    row = OrganizationDomain(organization=org, domain=value)
    db.add(row)
    _flush(db, f"domain: {value} was just claimed by another organization; reload the page")
    audit.record(db, "organization.domain_added", actor=by, target=org.name, organization=org, client=client,
                 domain=value)
    return row


def remove_domain(db: Session, org: Organization, domain: str, *, by: User | None = None,
                  client: str | None = None) -> None:
    value = (domain or "").strip().lower().lstrip("@")
    row = next((d for d in org.domains if d.domain == value), None)
    if row is None:
        raise AccountError(f"domain: {_shown(value)} is not a domain of {org.name}")
    org.domains.remove(row)
    db.flush()
    audit.record(db, "organization.domain_removed", actor=by, target=org.name, organization=org, client=client,
                 domain=value)


def set_sign_up(db: Session, org: Organization, *, enabled: bool, requires_approval: bool, by: User | None = None,
                client: str | None = None) -> Organization:
    old = (org.signup_enabled, org.signup_requires_approval)
    if old == (enabled, requires_approval):
        raise AccountError("sign-up: nothing changed; choose another setting")
    if enabled and not org.domains:
        raise AccountError(f"sign-up: {org.name} has no domain yet; add one first, then turn sign-up on")
    org.signup_enabled, org.signup_requires_approval = enabled, requires_approval
    audit.record(db, "organization.signup_changed", actor=by, target=org.name, organization=org, client=client,
                 old=_sign_up_words(*old), new=_sign_up_words(enabled, requires_approval))
    return org


def _sign_up_words(enabled: bool, requires_approval: bool) -> str:
    if not enabled:
        return "off"
    return "on, with an admin's approval" if requires_approval else "on"


def deactivate_organization(db: Session, org: Organization, *, by: User | None = None,
                            client: str | None = None) -> int:
    """Nobody of `org` signs in any more (their sessions end now); returns how many sessions ended."""
    if org.deactivated_at is not None:
        raise AccountError(f"{org.name} is already deactivated")
    if by is not None and by.organization_id == org.id:
        raise AccountError(f"{org.name} is your own organization: deactivating it would sign you out for good")
    if _other_admins(db, organization_id=org.id) == 0:
        raise AccountError(f"{org.name} holds the last active administrator; make someone else admin first")
    org.deactivated_at = utcnow()
    member_ids = list(db.scalars(select(User.id).where(User.organization_id == org.id)))
    ended = sum(end_sessions(db, user_id) for user_id in member_ids)
    audit.record(db, "organization.deactivated", actor=by, target=org.name, organization=org, client=client,
                 sessions_ended=ended)
    return ended


def reactivate_organization(db: Session, org: Organization, *, by: User | None = None,
                            client: str | None = None) -> Organization:
    if org.deactivated_at is None:
        raise AccountError(f"{org.name} is active already")
    org.deactivated_at = None
    audit.record(db, "organization.reactivated", actor=by, target=org.name, organization=org, client=client)
    return org


@dataclass(frozen=True)
class Member:
    user: User
    through_membership: bool  # a partner of another organization who also belongs to this one


def members(db: Session, org: Organization) -> list[Member]:
    """The people of `org`: its own, then partners who belong to it through a membership."""
    own = db.scalars(select(User).where(User.organization_id == org.id).order_by(User.email)).unique()
    partners = db.scalars(select(User).join(Membership, Membership.user_id == User.id)
                          .where(Membership.organization_id == org.id, User.organization_id != org.id)
                          .order_by(User.email)).unique()
    return [Member(u, False) for u in own] + [Member(u, True) for u in partners]


def organizations(db: Session) -> list[tuple[Organization, int]]:
    """Every organization by name with its number of people (own and through memberships)."""
    own = dict(db.execute(select(User.organization_id, func.count(User.id)).group_by(User.organization_id)).all())
    joined = dict(db.execute(select(Membership.organization_id, func.count(Membership.id))
                             .join(User, User.id == Membership.user_id)
                             .where(User.organization_id != Membership.organization_id)
                             .group_by(Membership.organization_id)).all())
    orgs = db.scalars(select(Organization).order_by(func.lower(Organization.name)))
    return [(org, own.get(org.id, 0) + joined.get(org.id, 0)) for org in orgs]


# -- people ----------------------------------------------------------------------------------------

def _can_administer_now():
    return (User.role.in_([str(r) for r in ADMIN_ROLES]), User.deactivated_at.is_(None),
            User.awaiting_approval.is_(False), Organization.deactivated_at.is_(None))


def _active_admins(db: Session):
    return (select(func.count(User.id)).join(Organization, Organization.id == User.organization_id)
            .where(*_can_administer_now()))


def active_admins(db: Session) -> list[User]:
    """The admins who can sign in now: those told of a sign-up that awaits approval."""
    return list(db.scalars(select(User).join(Organization, Organization.id == User.organization_id)
                           .where(*_can_administer_now()).order_by(User.id)))


def _other_admins(db: Session, *, user_id: int | None = None, organization_id: int | None = None) -> int:
    """Active admins once this user (or this organization's people) no longer count."""
    query = _active_admins(db)
    if user_id is not None:
        query = query.where(User.id != user_id)
    if organization_id is not None:
        query = query.where(User.organization_id != organization_id)
    return db.scalar(query) or 0


def _is_active_admin(user: User) -> bool:
    return user.is_admin and user.can_sign_in


def check_role(role: str) -> Role:
    found = role_of(role)
    if found is None:
        raise AccountError(f"role: {_shown(role)} is not a role; choose one of {', '.join(ROLES)}")
    return found


def change_role(db: Session, user: User, role: str, *, by: User | None = None, client: str | None = None) -> User:
    new = check_role(role)
    if new == user.role:
        raise AccountError(f"role: {user.email} is already {new.label}; choose another role")
    if _is_active_admin(user) and not new.can_administer and _other_admins(db, user_id=user.id) == 0:
        who = "you are" if by is not None and by.id == user.id else f"{user.email} is"
        raise AccountError(f"role: {who} the last active administrator; make someone else admin first")
    old = user.role
    user.role = str(new)
    removed = []
    if not new.can_join_several_organizations:
        removed = [m.organization.name for m in user.memberships if m.organization_id != user.organization_id]
        user.memberships.clear()
    db.flush()
    details = {"memberships_ended": removed} if removed else {}
    audit.record(db, "user.role_changed", actor=by, target=user.email, organization=user.organization_id,
                 client=client, old=role_of(old).label if role_of(old) else old, new=new.label, **details)
    return user


def move_user(db: Session, user: User, organization: Organization, *, by: User | None = None,
              client: str | None = None) -> User:
    if organization.id == user.organization_id:
        raise AccountError(f"organization: {user.email} is already in {organization.name}; choose another")
    if organization.deactivated_at is not None:
        raise AccountError(f"organization: {organization.name} is deactivated; reactivate it first or choose another")
    old = user.organization.name
    db.execute(delete(Membership).where(Membership.user_id == user.id, Membership.organization_id == organization.id)
               .execution_options(synchronize_session=False))
    user.organization_id = organization.id
    db.flush()
    db.expire(user)
    audit.record(db, "user.moved", actor=by, target=user.email, organization=organization, client=client,
                 old=old, new=organization.name)
    return user


def deactivate_user(db: Session, user: User, *, by: User | None = None, client: str | None = None) -> int:
    """`user` cannot sign in any more and is signed out everywhere now; returns how many sessions ended.
    Their requests and comments stay, under their name."""
    if by is not None and by.id == user.id:
        raise AccountError("You cannot deactivate your own account; ask another administrator")
    if user.deactivated_at is not None:
        raise AccountError(f"{user.email} is already deactivated")
    if _is_active_admin(user) and _other_admins(db, user_id=user.id) == 0:
        raise AccountError(f"{user.email} is the last active administrator; make someone else admin first")
    user.deactivated_at = utcnow()
    ended = end_sessions(db, user.id)
    audit.record(db, "user.deactivated", actor=by, target=user.email, organization=user.organization_id,
                 client=client, sessions_ended=ended)
    return ended


def reactivate_user(db: Session, user: User, *, by: User | None = None, client: str | None = None) -> User:
    if user.deactivated_at is None:
        raise AccountError(f"{user.email} is active already")
    user.deactivated_at = None
    audit.record(db, "user.reactivated", actor=by, target=user.email, organization=user.organization_id,
                 client=client)
    return user


def end_user_sessions(db: Session, user: User, *, by: User | None = None, client: str | None = None,
                      keep_token: str | None = None) -> int:
    """Sign `user` out everywhere (an admin ending their own keeps the browser they use: `keep_token`)."""
    ended = end_sessions(db, user.id, keep_token=keep_token)
    audit.record(db, "user.sessions_ended", actor=by, target=user.email, organization=user.organization_id,
                 client=client, sessions_ended=ended)
    return ended


# -- finding people --------------------------------------------------------------------------------

@dataclass(frozen=True)
class UserSearch:
    """The users list's filters, each optional."""
    text: str = ""  # part of an email or a name
    organization_id: int | None = None
    role: str = ""
    state: str = ""  # a key of USER_STATES
    page: int = 1


def search_users(db: Session, wanted: UserSearch) -> tuple[list[User], int]:
    """One page of the users matching `wanted` (by email), and how many match in all."""
    query = select(User)
    text = wanted.text.strip().lower()[:MAX_SEARCH]
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(User.email).like(pattern, escape="\\"),
                                func.lower(User.name).like(pattern, escape="\\")))
    if wanted.organization_id is not None:
        query = query.where(or_(User.organization_id == wanted.organization_id,
                                User.id.in_(select(Membership.user_id)
                                            .where(Membership.organization_id == wanted.organization_id))))
    if wanted.role:
        query = query.where(User.role == wanted.role)
    if wanted.state == "active":
        query = query.where(User.deactivated_at.is_(None), User.awaiting_approval.is_(False))
    elif wanted.state == "deactivated":
        query = query.where(User.deactivated_at.is_not(None))
    elif wanted.state == "awaiting":
        query = query.where(User.awaiting_approval.is_(True), User.deactivated_at.is_(None))
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(1, wanted.page)
    rows = db.scalars(query.order_by(User.email).offset((page - 1) * USERS_PER_PAGE).limit(USERS_PER_PAGE)).unique()
    return list(rows), total


def user_state(user: User) -> str:
    """A key of USER_STATES."""
    if user.deactivated_at is not None:
        return "deactivated"
    return "awaiting" if user.awaiting_approval else "active"
