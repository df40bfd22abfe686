"""Who a person is to the portal: the roles, defined once (CLI help, API enums and the pages read them here).

A role is a string in the database (users.role) and compares equal to it, so `user.role == Role.AGENT`
and `user.role in ROLES` work on stored rows; what a role may do is its attributes, never a compare
with its name elsewhere.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    # customer and partner people open requests for their organization; agents are the support team.
    CUSTOMER = ("customer", "Customer", "opens and follows their organization's requests", False)
    PARTNER = ("partner", "Partner", "opens and follows their organization's requests, for a customer", False)
    AGENT = ("agent", "Agent", "the support team: sees every request, answers, moves, assigns, writes internal "
                               "notes", True)

    label: str
    description: str
    can_answer_tickets: bool

    def __new__(cls, slug: str, label: str, description: str, can_answer_tickets: bool) -> "Role":
        member = str.__new__(cls, slug)
        member._value_ = slug
        member.label, member.description, member.can_answer_tickets = label, description, can_answer_tickets
        return member


ROLES: tuple[Role, ...] = tuple(Role)  # each is its slug: ", ".join(ROLES) == "customer, partner, agent"
SUPPORT_ROLES: tuple[Role, ...] = tuple(r for r in Role if r.can_answer_tickets)


def role_of(slug: str | None) -> Role | None:
    """The Role of a stored slug, or None for a slug no role has."""
    try:
        return Role(slug)
    except ValueError:
        return None
