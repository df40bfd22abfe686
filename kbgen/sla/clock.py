"""A ticket's service-level clocks, kept in its row so queues can sort and filter by them.

Two targets per priority (sla.yml): the first response and the resolution, in the target's
calendar's working time.

- First response: runs from creation until an agent first answers the customer (a public
  comment, or a move to Waiting for customer or Resolved). It never pauses.
- Resolution: runs while the ticket is with the support team; pauses while it waits for the
  customer and once it is Resolved (the time left is kept); resumes when it comes back; restarts
  with the full target when the customer reopens it.
- A clock whose due time passes is breached once: the time is recorded and the timeline gets an
  internal event (kbgen/tickets/service.py records it, at the next change or the periodic sweep).

`Ticket.sla_due_at` is the earliest running due time, or NO_DUE when no clock runs (never NULL, so
the queues sort by it on a plain index on both databases): what "Due soon" and "Breached" filter on
and what the queues sort by. Every function takes the moment (`now`, naive UTC) so tests can walk
a clock across weekends and holidays.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kbgen.sla.definitions import ServiceLevels, Target
from kbgen.tickets import workflow

# Statuses in which the resolution clock does not run.
PAUSED = frozenset({workflow.WAITING_FOR_CUSTOMER.name, workflow.RESOLVED.name, workflow.CLOSED.name})
RESPONSE, RESOLUTION = "first_response", "resolution"
NO_DUE = dt.datetime(9999, 12, 31)  # sla_due_at when no clock runs: after every real due time
LABELS = {RESPONSE: "First response", RESOLUTION: "Resolution"}


@dataclass(frozen=True)
class Breach:
    clock: str  # RESPONSE or RESOLUTION
    due_at: dt.datetime

    @property
    def title(self) -> str:
        return f"{LABELS[self.clock]} target missed"


def start(ticket: Any, levels: ServiceLevels, now: dt.datetime) -> None:
    """A new ticket: both clocks start now."""
    target = levels.target(ticket.priority)
    ticket.response_due_at = _due(target, "first_response", now)
    ticket.resolution_due_at = _due(target, "resolution", now)
    ticket.resolution_remaining = None
    _refresh(ticket)


def responded(ticket: Any, now: dt.datetime) -> None:
    """An agent answered the customer: the first response clock stops (the first time only)."""
    if ticket.first_response_at is None:
        ticket.first_response_at = now
        ticket.response_due_at = None
        _refresh(ticket)


def status_changed(ticket: Any, levels: ServiceLevels, old: str, new: str, now: dt.datetime,
                   reopened: bool = False) -> None:
    """Pause, resume or restart the resolution clock for a move from `old` to `new`."""
    target = levels.target(ticket.priority)
    if reopened:
        ticket.resolution_due_at = _due(target, "resolution", now)
        ticket.resolution_remaining = None
        ticket.resolution_breached_at = None  # a new cycle, with its own promise
    elif old not in PAUSED and new in PAUSED:
        if ticket.resolution_due_at is not None and target is not None:
            ticket.resolution_remaining = int(target.calendar.between(now, ticket.resolution_due_at))
        ticket.resolution_due_at = None
    elif old in PAUSED and new not in PAUSED and ticket.resolution_remaining is not None:
        ticket.resolution_due_at = _resume(target, now, ticket.resolution_remaining)
        ticket.resolution_remaining = None
    _refresh(ticket)


def priority_changed(ticket: Any, levels: ServiceLevels, old: str, now: dt.datetime) -> None:
    """New targets for a new priority: the time already used counts against the new target."""
    before, after = levels.target(old), levels.target(ticket.priority)
    if ticket.first_response_at is None:
        ticket.response_due_at = _due(after, "first_response", ticket.created_at)
    if after is None or not after.resolution:
        ticket.resolution_due_at = ticket.resolution_remaining = None
    else:
        running = ticket.status not in PAUSED
        if before is not None and before.resolution and (ticket.resolution_due_at or ticket.resolution_remaining
                                                         is not None):
            left = (before.calendar.between(now, ticket.resolution_due_at) if running
                    else ticket.resolution_remaining or 0)
            used = before.resolution - left
        else:
            used = after.calendar.between(ticket.created_at, now)
        left = after.resolution - used
        if running:
            ticket.resolution_due_at, ticket.resolution_remaining = _resume(after, now, left), None
        else:
            ticket.resolution_due_at, ticket.resolution_remaining = None, int(left)
    _refresh(ticket)


def breaches(ticket: Any, now: dt.datetime) -> list[Breach]:
    """The clocks whose due time has passed and were not yet recorded as breached; records them."""
    found = []
    if ticket.response_due_at is not None and ticket.response_due_at <= now and ticket.response_breached_at is None:
        ticket.response_breached_at = ticket.response_due_at
        found.append(Breach(RESPONSE, ticket.response_due_at))
    if ticket.resolution_due_at is not None and ticket.resolution_due_at <= now and \
            ticket.resolution_breached_at is None:
        ticket.resolution_breached_at = ticket.resolution_due_at
        found.append(Breach(RESOLUTION, ticket.resolution_due_at))
    return found


def _due(target: Target | None, which: str, since: dt.datetime) -> dt.datetime | None:
    seconds = getattr(target, which, None) if target is not None else None
    return target.calendar.add(since, seconds) if seconds else None


def _resume(target: Target | None, now: dt.datetime, left: float) -> dt.datetime | None:
    if target is None:
        return None
    if left > 0:
        return target.calendar.add(now, left)
    return now + dt.timedelta(seconds=left)  # already overdue: a due time in the past, by as much


def _refresh(ticket: Any) -> None:
    running = [d for d in (ticket.response_due_at, ticket.resolution_due_at) if d is not None]
    ticket.sla_due_at = min(running) if running else NO_DUE


def due_at(ticket: Any) -> dt.datetime | None:
    """The earliest running due time, or None when no clock runs."""
    due = ticket.sla_due_at
    return None if due is None or due >= NO_DUE else due
