"""The support team's queues: named views over the tickets, defined once here.

The requests page (agents open on them, with live counts), GET /api/views, the `view` parameter of
GET /api/tickets and `kbgen tickets list --view` all read VIEWS. A view is a condition on Ticket
for a viewer at a moment (Assigned to me, Due soon) and the order it opens in; the requests list's
own filters narrow it further. One view per product is made from the catalog.

Each view's count is its own small query that stops at COUNT_CAP matches ("999+"), so counting
the queues costs the same with 100,000 tickets as with 1,000.

A condition is written over the ticket table it is given (`t`), with SQL's & and |: the static build
reads the views' names and orders from here without loading the database layer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from kbgen.site.catalog import PRODUCTS
from kbgen.tickets import workflow
from kbgen.tickets.errors import FilterInvalid
from kbgen.tickets.limits import SORT_COLUMNS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from kbgen.accounts import User
    from kbgen.sla.definitions import ServiceLevels

# Where the support team still has work: every status but Resolved and Closed.
DONE = (workflow.RESOLVED.name, workflow.CLOSED.name)
EPOCH = dt.datetime(1970, 1, 1)
OPEN = tuple(s.name for s in workflow.STATUSES if s.name not in DONE)

# (the Ticket table, the viewer, now, the service levels) -> the SQL condition of the view
Condition = Callable[[Any, "User", dt.datetime, "ServiceLevels"], Any]
DUE_FIRST = next(k for k, columns in SORT_COLUMNS.items() if columns[0] == "sla_due_at")  # earliest due time first
LEAST_RECENT = next(k for k, columns in SORT_COLUMNS.items() if columns[0] == "updated_at")  # longest waiting first


@dataclass(frozen=True)
class View:
    slug: str
    name: str
    description: str
    condition: Condition
    sort: str = DUE_FIRST  # a key of kbgen.tickets.limits.SORT_COLUMNS, '-' for descending

    def where(self, viewer: User | None, now: dt.datetime, levels: ServiceLevels):
        """The view's SQL condition on the tickets table, for this viewer now."""
        from kbgen.tickets.models import Ticket

        return self.condition(Ticket, viewer, now, levels)


def _open(t):
    # Written as "not done": most tickets of a busy queue are open, so an index on the status would not
    # narrow it, and the planner then walks the due-time index in order and stops after one page.
    return t.status.not_in(DONE)


def _breached(t, now: dt.datetime):
    return _open(t) & ((t.sla_due_at <= now) | t.response_breached_at.is_not(None)
                       | t.resolution_breached_at.is_not(None))


VIEWS: tuple[View, ...] = (
    View("open", "All open", "Every request the support team still has to work on.",
         lambda t, viewer, now, levels: _open(t)),
    View("unassigned", "Unassigned", "Open requests nobody has taken yet.",
         lambda t, viewer, now, levels: _open(t) & t.assignee_id.is_(None)),
    View("mine", "Assigned to me", "Open requests assigned to you.",
         lambda t, viewer, now, levels: _open(t) & (t.assignee_id == viewer.id)),
) + tuple(
    # A queue per status the team waits on: named and described as the status is.
    View(status.slug, status.name, status.meaning,
         (lambda name: lambda t, viewer, now, levels: t.status == name)(status.name), sort=order)
    for status, order in ((workflow.WAITING_FOR_SUPPORT, DUE_FIRST), (workflow.WAITING_FOR_CUSTOMER, LEAST_RECENT))
) + (
    View("reopened", "Reopened", "Reopened by the customer, and no agent has acted since.",
         # A range rather than IS NOT NULL: the planner then reads the few reopened ones from their index.
         lambda t, viewer, now, levels: t.reopened_at >= EPOCH),
    View("due-soon", "Due soon", "A response or resolution target falls due soon (sla.yml's due_soon).",
         lambda t, viewer, now, levels: _open(t) & (t.sla_due_at > now)
         & (t.sla_due_at <= now + dt.timedelta(seconds=levels.due_soon))),
    View("breached", "Breached", "Open requests that missed a response or resolution target.",
         lambda t, viewer, now, levels: _breached(t, now)),
) + tuple(
    View(f"product-{p.slug}", p.name, f"Open {p.name} requests.",
         (lambda slug: lambda t, viewer, now, levels: _open(t) & (t.product == slug))(p.slug))
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
    from sqlalchemy import func, select

    from kbgen.tickets.models import Ticket

    found = {}
    for view in VIEWS:
        capped = select(Ticket.id).where(view.where(viewer, now, levels)).limit(COUNT_CAP + 1).subquery()
        found[view.slug] = int(session.scalar(select(func.count()).select_from(capped)) or 0)
    return found
