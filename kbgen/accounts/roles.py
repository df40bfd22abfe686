"""Who a person is to the portal: the roles, defined once (CLI help, API enums and the pages read them here).

A role is a string in the database (users.role) and compares equal to it, so `user.role == Role.AGENT`
and `user.role in ROLES` work on stored rows; what a role may do is its attributes, never a compare
with its name elsewhere.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    # customer and partner people open requests for their organization(s); agents are the support team;
    # admins are agents who also run the accounts (invitations, organizations, roles, the audit log).
    CUSTOMER = ("customer", "Customer", "opens and follows their organization's requests", False, False, False)
    PARTNER = ("partner", "Partner", "opens and follows the requests of each customer organization they belong to",
               False, False, True)
    AGENT = ("agent", "Agent", "the support team: sees every request, answers, moves, assigns, writes internal "
                               "notes", True, False, False)
    ADMIN = ("admin", "Admin", "an agent who also runs the accounts: invites people, manages organizations, "
                               "roles and sign-up domains, reads the audit log", True, True, False)

    label: str
    description: str
    can_answer_tickets: bool
    can_administer: bool
    can_join_several_organizations: bool

    def __new__(cls, slug: str, label: str, description: str, can_answer_tickets: bool, can_administer: bool,
                can_join_several_organizations: bool) -> "Role":
        member = str.__new__(cls, slug)
        member._value_ = slug
        member.label, member.description, member.can_answer_tickets = label, description, can_answer_tickets
        member.can_administer = can_administer
        member.can_join_several_organizations = can_join_several_organizations
        return member


ROLES: tuple[Role, ...] = tuple(Role)  # each is its slug: ", ".join(ROLES) == "customer, partner, agent"
SUPPORT_ROLES: tuple[Role, ...] = tuple(r for r in Role if r.can_answer_tickets)
ADMIN_ROLES: tuple[Role, ...] = tuple(r for r in Role if r.can_administer)


_BY_SLUG: dict[str, Role] = {str(r): r for r in Role}


def role_of(slug: str | None) -> Role | None:
    """The Role of a stored slug, or None for a slug no role has (a dict look-up: lists call it per person)."""
    return _BY_SLUG.get(slug) if isinstance(slug, str) else None
