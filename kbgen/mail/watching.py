"""Following a request: its requester by default, and whoever watches it (Watcher rows).

Anyone who may see a request may watch it: a colleague of its organization (a partner of it too)
or a member of the support team. Watchers get the same emails as the requester (bursts included),
within their own preference. Someone who can no longer see the request (moved to another
organization, deactivated) is no longer told about it, row or not.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen.accounts import User
from kbgen.tickets.models import Ticket, Watcher, utcnow


class RequesterFollows(ValueError):
    """The requester follows their request by default; they choose which emails they get instead."""


def may_follow(ticket: Any, user: Any) -> bool:
    """Whether `user` may still see, and so hear about, `ticket`."""
    if user is None or getattr(user, "deactivated_at", None) is not None:
        return False
    if getattr(user, "is_agent", False):
        return True
    return getattr(ticket, "organization_id", None) in tuple(getattr(user, "organization_ids", ()) or ())


def watchers(ticket: Any) -> list[User]:
    """The people watching `ticket` who may still see it, in the order they started."""
    rows = getattr(ticket, "watchers", None) or ()
    return [row.user for row in rows if may_follow(ticket, row.user)]


def is_following(ticket: Any, user: Any) -> bool:
    """The requester, or a watcher who may still see it."""
    if user is None:
        return False
    if user.id == ticket.requester_id:
        return True
    return any(w.id == user.id for w in watchers(ticket))


def watch(session: Session, ticket: Ticket, user: User) -> bool:
    """Start watching (the caller made sure `user` may see `ticket`); False when they already did."""
    if user.id == ticket.requester_id or any(row.user_id == user.id for row in ticket.watchers):
        return False
    from kbgen.tickets.service import _writing  # one writer at a time, as for every change of a ticket

    try:
        with _writing(session):
            session.add(Watcher(ticket_id=ticket.id, user_id=user.id, created_at=utcnow()))
    except IntegrityError:  # the same person's two clicks racing: the unique pair lets one in
        session.expire(ticket, ["watchers"])
        return False
    session.expire(ticket, ["watchers"])
    return True


def unwatch(session: Session, ticket: Ticket, user: User) -> bool:
    """Stop watching; False when they were not. The requester cannot (RequesterFollows)."""
    if user.id == ticket.requester_id:
        raise RequesterFollows(f"You opened request {ticket.key}, so you follow it. To get fewer emails, choose "
                               "which ones you get in your notification settings.")
    from kbgen.tickets.service import _writing

    with _writing(session):
        gone = session.execute(delete(Watcher).where(Watcher.ticket_id == ticket.id, Watcher.user_id == user.id)
                               .execution_options(synchronize_session=False)).rowcount
    session.expire(ticket, ["watchers"])
    return bool(gone)


def watched_by(session: Session, user: User) -> list[str]:
    """The keys of the requests `user` watches (for the CLI and tests)."""
    return list(session.scalars(select(Ticket.key).join(Watcher, Watcher.ticket_id == Ticket.id)
                                .where(Watcher.user_id == user.id).order_by(Ticket.key)))
