"""Partners in several organizations: a partner's further customer organizations (Membership rows).

A partner belongs to their own organization (User.organization) and may be added to customer
organizations they work for. They see the requests of all of them and nothing else, and pick one
when they open a request (kbgen.tickets.service.create_ticket). Whether a role may join several
organizations is the role's definition (Role.can_join_several_organizations).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kbgen.accounts import audit
from kbgen.accounts.models import AccountError, Membership, Organization, User
from kbgen.accounts.roles import ROLES, role_of


def add_membership(db: Session, user: User, organization: Organization, *, by: User | None = None,
                   client: str | None = None) -> Membership:
    """Add `organization` to a partner's organizations (idempotent: an existing one is returned)."""
    role = role_of(user.role)
    if role is None or not role.can_join_several_organizations:
        several = ", ".join(r.label.lower() for r in ROLES if r.can_join_several_organizations)
        raise AccountError(f"organization: only a {several} can belong to several organizations; "
                           f"{user.email} is a {role.label.lower() if role else user.role}")
    if organization.deactivated_at is not None:
        raise AccountError(f"organization: {organization.name} is deactivated; reactivate it first")
    if organization.id == user.organization_id:
        raise AccountError(f"organization: {organization.name} is already {user.email}'s own organization")
    existing = db.scalar(select(Membership).where(Membership.user_id == user.id,
                                                  Membership.organization_id == organization.id))
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, organization_id=organization.id)
    membership.organization = organization
    user.memberships.append(membership)
    db.flush()
    audit.record(db, "user.membership_added", actor=by, target=user.email, organization=organization, client=client)
    return membership


def remove_membership(db: Session, user: User, organization: Organization, *, by: User | None = None,
                      client: str | None = None) -> bool:
    """Remove one of a partner's further organizations; False when they did not belong to it that way."""
    for membership in list(user.memberships):
        if membership.organization_id == organization.id:
            user.memberships.remove(membership)
            db.delete(membership)
            db.flush()
            audit.record(db, "user.membership_removed", actor=by, target=user.email, organization=organization,
                         client=client)
            return True
    return False
