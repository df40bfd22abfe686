"""Reading tickets: who may see which, one ticket, the filtered and sorted requests list.

Another organization's ticket is "not found", never "forbidden": nobody learns which keys exist.
`viewer` None is the support team at the command line, trusted by having the database.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

from kbgen.accounts import SUPPORT_ROLES, Organization, User
from kbgen.site.catalog import PRODUCTS, find_product
from kbgen.db import utcnow
from kbgen.tickets import workflow
from kbgen.tickets.errors import FilterInvalid, TicketNotFound
from kbgen.tickets.limits import (COUNT_CAP, MAX_ID, MAX_PAGE, MAX_PER_PAGE, SORT_CHOICES, SORT_COLUMNS,  # noqa: F401
                                  TicketFilter)
from kbgen.tickets.models import Attachment, Ticket, TicketEvent


def is_agent(user: User | None) -> bool:
    return user is not None and user.is_agent


def sees_everything(viewer: User | None) -> bool:
    """Agents, and None: the support team at the command line, trusted by having the database."""
    return viewer is None or is_agent(viewer)


def visible_to(viewer: User):
    """The condition on Ticket for someone who is not of the support team: one of their organizations
    (their own, and a partner's further ones)."""
    ids = viewer.organization_ids
    return Ticket.organization_id == ids[0] if len(ids) == 1 else Ticket.organization_id.in_(ids)


def get_ticket(session: Session, viewer: User | None, key: str) -> Ticket:
    """The ticket, if `viewer` may see it; another organization's ticket is 'not found', never 'forbidden'."""
    query = select(Ticket).where(Ticket.key == str(key).strip().upper())
    if not sees_everything(viewer):
        query = query.where(visible_to(viewer))
    ticket = session.scalars(query).first()
    if ticket is None:
        raise TicketNotFound(f"No request {key} here. Check the key, or sign in with the account that opened it.")
    return ticket


def visible_events(ticket: Ticket, viewer: User | None) -> list[TicketEvent]:
    return [e for e in ticket.events if sees_everything(viewer) or not e.internal]


def visible_attachments(ticket: Ticket, viewer: User | None) -> list[Attachment]:
    return [a for a in ticket.attachments if sees_everything(viewer) or not a.internal]


def get_attachment(session: Session, viewer: User, key: str, attachment_id: int) -> Attachment:
    ticket = get_ticket(session, viewer, key)
    for attachment in visible_attachments(ticket, viewer):
        if attachment.id == attachment_id:
            return attachment
    raise TicketNotFound(f"No attachment {attachment_id} on request {ticket.key}.")


SORTS = {name: tuple(getattr(Ticket, column) for column in columns) for name, columns in SORT_COLUMNS.items()}


@dataclass
class TicketPage:
    items: list[Ticket]
    total: int
    page: int
    per_page: int
    more: bool = False  # there are more than `total` (= COUNT_CAP): counting stopped there

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_ID = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() is also true for '²', which int() refuses


def _user_ids(session: Session, values: Iterable[str], field: str = "requester") -> list[int]:
    ids, emails = [], []
    for value in values:
        value = str(value).strip()
        if _ID.fullmatch(value) and int(value) <= MAX_ID:
            ids.append(int(value))
        elif "@" in value:
            emails.append(value.lower())
        elif value:
            raise FilterInvalid(f"{field} {value[:40]!r} is neither a user id (digits 0-9, at most {MAX_ID}) "
                                "nor an email; give one of them", field=field)
    if emails:
        ids += session.scalars(select(User.id).where(func.lower(User.email).in_(emails))).all()
    return ids or [-1]


def _paging(value: Any, default: int, high: int, field: str) -> int:
    """A page number or size from any caller (the API checks its own first): whole, clamped to 1..high."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _ID.fullmatch(value))):
        raise FilterInvalid(f"{field} must be a whole number from 1 to {high} (digits 0-9)", field=field)
    return max(1, min(int(value), high))


# A person in a list or a choice is a name and an organization's name: neither the organization's domains
# nor a partner's further organizations are read (two queries per person otherwise; they load if asked).
PERSON_ONLY = (lazyload(User.memberships), joinedload(User.organization).lazyload(Organization.domains))
LISTED_PEOPLE = (joinedload(Ticket.organization).lazyload(Organization.domains),
                 *(joinedload(person).options(*PERSON_ONLY) for person in (Ticket.requester, Ticket.assignee)))


def list_tickets(session: Session, viewer: User | None, filters: TicketFilter | None = None,
                 levels: Any = None) -> TicketPage:
    """One page of the tickets `viewer` may see: their organizations', or every one for agents.
    `levels` (kbgen.sla.ServiceLevels) sets what "due soon" means for the views."""
    f = filters or TicketFilter()
    query = select(Ticket)
    view = None
    if not sees_everything(viewer):
        query = query.where(visible_to(viewer))
    if f.view:
        if not sees_everything(viewer):
            raise FilterInvalid("Views are the support team's queues; customers filter their requests instead.",
                                field="view")
        from kbgen.sla.definitions import NONE
        from kbgen.tickets.views import find_view

        view = find_view(f.view)
        if viewer is None and view.slug == "mine":
            raise FilterInvalid("The view 'mine' needs to know who you are: give --as EMAIL or set KBGEN_AGENT_EMAIL.",
                                field="view")
        query = query.where(view.where(viewer, utcnow(), levels or NONE))
    if f.organization is not None:  # for a partner, one of theirs (another's simply finds nothing)
        query = query.where(Ticket.organization_id == f.organization)
    if f.status:
        try:
            names = [workflow.find_status(s).name for s in f.status]
        except workflow.UnknownStatus as exc:
            raise FilterInvalid(str(exc), field="status") from None
        query = query.where(Ticket.status.in_(names))
    if f.product:
        slugs = []
        for value in f.product:
            product = find_product(value)
            if product is None:
                raise FilterInvalid(f"unknown product {value!r}; use one of: "
                                    + ", ".join(p.name for p in PRODUCTS), field="product")
            slugs.append(product.slug)
        query = query.where(Ticket.product.in_(slugs))
    if f.priority:
        query = query.where(Ticket.priority.in_([p.strip().lower() for p in f.priority]))
    if f.mine and viewer is not None:
        query = query.where(Ticket.requester_id == viewer.id)
    if f.requester:
        query = query.where(Ticket.requester_id.in_(_user_ids(session, f.requester)))
    if f.assignee and sees_everything(viewer):
        if f.assignee == "none":
            query = query.where(Ticket.assignee_id.is_(None))
        else:
            query = query.where(Ticket.assignee_id.in_(_user_ids(session, [f.assignee], "assignee")))
    text = (f.q or "").strip()[:200]
    if text:
        query = query.where(_text_match(session, text))
    sort = f.sort or (view.sort if view is not None else TicketFilter.sort)
    descending = sort.startswith("-")
    columns = SORTS.get(sort.lstrip("-"))
    if columns is None:
        raise FilterInvalid(f"unknown sort {sort!r}; use one of: " + ", ".join(SORTS)
                            + " (prefix '-' for descending)", field="sort")
    per_page = _paging(f.per_page, 25, MAX_PER_PAGE, "per_page")
    page = _paging(f.page, 1, MAX_PAGE, "page")
    # Counting stops past COUNT_CAP: a queue of 75,000 open tickets says "10,000+" in milliseconds.
    counted = query.with_only_columns(Ticket.id).order_by(None).limit(COUNT_CAP + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    more = total > COUNT_CAP
    total = min(total, COUNT_CAP)
    if total <= (page - 1) * per_page:  # nothing to show: spare the second scan (a search that found nothing)
        return TicketPage([], total, page, per_page, more)
    order = [c.desc() if descending else c.asc() for c in columns]
    # The page's ids from the tickets table alone, then those tickets with their people: planned together,
    # the eager joins lead the planner away from the index that reads the queue in order.
    ids = session.scalars(query.with_only_columns(Ticket.id).order_by(*order).limit(per_page)
                          .offset((page - 1) * per_page)).all()
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)).options(*LISTED_PEOPLE))
             .unique()} if ids else {}
    return TicketPage([found[i] for i in ids if i in found], total, page, per_page, more)


def _text_match(session: Session, text: str):
    """The key or the summary contains `text`, ignoring case."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE already ignores (ASCII) case, as its lower() does: no function call per row.
        contains = lambda column: column.like(pattern, escape="\\")  # noqa: E731
    else:
        contains = lambda column: column.ilike(pattern, escape="\\")  # noqa: E731
    return or_(contains(Ticket.key), contains(Ticket.summary))


MAX_REQUESTER_CHOICES = 500


MAX_REQUESTER_CHOICES_FOR_AGENTS = 100  # every organization's people are many: the API takes any email


def requesters_of(session: Session, viewer: User) -> list[User]:
    """People whose tickets `viewer` can filter by: their organizations' members and whoever opened one of
    their requests; for agents, the first customers and partners by name (the filter takes any email)."""
    if sees_everything(viewer):
        query = select(User).where(User.role.not_in(SUPPORT_ROLES))
        limit = MAX_REQUESTER_CHOICES_FOR_AGENTS
    else:
        # Their organizations' members, and whoever opened one of their organizations' requests (a partner).
        query = select(User).where(or_(User.organization_id.in_(viewer.organization_ids),
                                       User.id.in_(select(Ticket.requester_id).where(visible_to(viewer)).distinct())))
        limit = MAX_REQUESTER_CHOICES
    return list(session.scalars(query.order_by(User.name, User.email).limit(limit)
                                .options(*PERSON_ONLY)).all())


def agents(session: Session) -> list[User]:
    """The support team people can assign tickets to: agents and admins who can still sign in."""
    return list(session.scalars(select(User).where(User.role.in_(SUPPORT_ROLES), User.deactivated_at.is_(None))
                                .order_by(User.name).options(*PERSON_ONLY)).all())


def user_named(session: Session, wanted: str, field: str) -> User | None:
    """The user `wanted` names: an id (ASCII digits, in range) or else an email."""
    if wanted.isascii() and wanted.isdigit():
        if len(wanted) > 10 or int(wanted) > MAX_ID:
            raise FilterInvalid(f"{wanted[:40]} is not an id (ids go up to {MAX_ID}); give an agent's email or id.",
                                field=field)
        return session.get(User, int(wanted))
    return session.scalars(select(User).where(User.email == wanted.lower())).first()
