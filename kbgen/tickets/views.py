"""The support team's queues: named views over the tickets, defined once here.

The requests page (agents open on them, with live counts), GET /api/views, the `view` parameter of
GET /api/tickets and `kbgen tickets list --view` all read VIEWS. A view is a condition on Ticket
for a viewer at a moment (Assigned to me, Due soon) and the order it opens in; the requests list's
own filters narrow it further. One view per product is made from the catalog.

Each view's count is its own small query that stops at COUNT_CAP matches ("999+"), so counting
the queues costs the same with 100,000 tickets as with 1,000.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kbgen.accounts import User
from kbgen.site.catalog import PRODUCTS
from kbgen.sla.definitions import ServiceLevels
from kbgen.tickets import workflow
from kbgen.tickets.errors import FilterInvalid
from kbgen.tickets.models import Ticket
from kbgen.tickets.queries import SORTS

# Where the support team still has work: every status but Resolved and Closed.
DONE = (workflow.RESOLVED.name, workflow.CLOSED.name)
EPOCH = dt.datetime(1970, 1, 1)
OPEN = tuple(s.name for s in workflow.STATUSES if s.name not in DONE)

Condition = Callable[[User, dt.datetime, ServiceLevels], ColumnElement]
DUE_FIRST = next(k for k in SORTS if SORTS[k][0] is Ticket.sla_due_at)  # the earliest due time first
LEAST_RECENT = next(k for k in SORTS if SORTS[k][0] is Ticket.updated_at)  # the longest waiting first


@dataclass(frozen=True)
class View:
    slug: str
    name: str
    description: str
    condition: Condition
    sort: str = DUE_FIRST  # a key of kbgen.tickets.queries.SORTS, '-' for descending


def _open() -> ColumnElement:
    # Written as "not done": most tickets of a busy queue are open, so an index on the status would not
    # narrow it, and the planner then walks the due-time index in order and stops after one page.
    return Ticket.status.not_in(DONE)


def _breached(now: dt.datetime) -> ColumnElement:
    return and_(_open(), or_(Ticket.sla_due_at <= now, Ticket.response_breached_at.is_not(None),
                             Ticket.resolution_breached_at.is_not(None)))


VIEWS: tuple[View, ...] = (
    View("open", "All open", "Every request the support team still has to work on.",
         lambda viewer, now, levels: _open()),
    View("unassigned", "Unassigned", "Open requests nobody has taken yet.",
         lambda viewer, now, levels: and_(_open(), Ticket.assignee_id.is_(None))),
    View("mine", "Assigned to me", "Open requests assigned to you.",
         lambda viewer, now, levels: and_(_open(), Ticket.assignee_id == viewer.id)),
) + tuple(
    # A queue per status the team waits on: named and described as the status is.
    View(status.slug, status.name, status.meaning, (lambda name: lambda viewer, now, levels: Ticket.status == name)(
        status.name), sort=order)
    for status, order in ((workflow.WAITING_FOR_SUPPORT, DUE_FIRST), (workflow.WAITING_FOR_CUSTOMER, LEAST_RECENT))
) + (
    View("reopened", "Reopened", "Reopened by the customer, and no agent has acted since.",
         # A range rather than IS NOT NULL: the planner then reads the few reopened ones from their index.
         lambda viewer, now, levels: Ticket.reopened_at >= EPOCH),
    View("due-soon", "Due soon", "A response or resolution target falls due soon (sla.yml's due_soon).",
         lambda viewer, now, levels: and_(_open(), Ticket.sla_due_at > now,
                                          Ticket.sla_due_at <= now + dt.timedelta(seconds=levels.due_soon))),
    View("breached", "Breached", "Open requests that missed a response or resolution target.",
         lambda viewer, now, levels: _breached(now)),
) + tuple(
    View(f"product-{p.slug}", p.name, f"Open {p.name} requests.",
         (lambda slug: lambda viewer, now, levels: and_(_open(), Ticket.product == slug))(p.slug))
    for p in PRODUCTS
)
_BY_SLUG = {v.slug: v for v in VIEWS}


def find_view(slug: str) -> View:
    view = _BY_SLUG.get(str(slug or "").strip().lower())
    if view is None:
        raise FilterInvalid(f"unknown view {str(slug)[:40]!r}; use one of: " + ", ".join(_BY_SLUG), field="view")
    return view


COUNT_CAP = 999  # a view's count is exact up to here, then "999+"


def counts(session: Session, viewer: User, levels: ServiceLevels, now: dt.datetime) -> dict[str, int]:
    """How many tickets each view holds now, each counted up to COUNT_CAP + 1 (more means "999+")."""
    found = {}
    for view in VIEWS:
        capped = select(Ticket.id).where(view.condition(viewer, now, levels)).limit(COUNT_CAP + 1).subquery()
        found[view.slug] = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    return found
