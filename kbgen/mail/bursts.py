"""Quieter email: a burst of updates to a request becomes one email per person.

An agent often moves a request, comments and moves it again within a minute. Each follower
(the requester, the watchers) gets one email for such a burst, listing every update in order,
instead of three. The first update a person hears of opens a burst: a pending Outbox row due
Settings.notify_burst_seconds later. An update within that window joins the row (the email is
written again from every update the row keeps in Outbox.burst). The due time never moves, so an
email waits at most one window: a burst longer than the window goes out as several emails.
A window of 0 sends every update at once, on its own.

Nothing is lost to the sender: an update joins a row only while the row is pending, unclaimed and
never tried. On PostgreSQL the row is locked (SELECT ... FOR UPDATE) so a sender's claim waits for
the joining transaction, then sends the row with the update in it; on SQLite, whose writers take
turns, the ticket's transaction already holds the write lock. The join is also one conditional
UPDATE: when a sender took the row first, it matches nothing, and the update opens a new email.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kbgen.mail import kinds
from kbgen.mail.notifications import (PENDING, Outbox, Recipient, compose_updates, one_line, outbox_row, queue,
                                      thread_id, utcnow)
from kbgen.mail.notifications import _address as header_address
from kbgen.settings import Settings

MAX_UPDATES = 50  # one email lists at most this many; the next update opens another


def window(settings: Settings) -> dt.timedelta:
    return dt.timedelta(seconds=max(0, int(getattr(settings, "notify_burst_seconds", 0) or 0)))


def _open_row(session: Session, recipient: Recipient, key: str, now: dt.datetime, span: dt.timedelta):
    """The recipient's burst about `key` that an update may still join, locked where the database can."""
    query = (select(Outbox).where(Outbox.ticket_key == key, Outbox.to_email == header_address(recipient.email),
                                  Outbox.burst.is_not(None), Outbox.status == PENDING, Outbox.claimed_by.is_(None),
                                  Outbox.attempts == 0, Outbox.next_attempt_at > now,
                                  Outbox.created_at >= now - span)
             .order_by(Outbox.id.desc()).limit(1))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query.execution_options(populate_existing=True)).first()


def add(session: Session, settings: Settings, ticket: Any, recipient: Recipient, change: dict) -> Outbox:
    """Put one update (notifications.describe()) in the recipient's burst, or open one; returns its row."""
    span, now = window(settings), utcnow()
    key = str(ticket.key)
    if span:
        row = _open_row(session, recipient, key, now, span)
        burst = row.burst if row is not None and isinstance(row.burst, dict) else None
        if burst is not None and len(burst.get("updates") or ()) < MAX_UPDATES:
            updates = [*burst["updates"], change]
            email = compose_updates(recipient, ticket, settings, updates)
            joined = session.execute(
                update(Outbox).where(Outbox.id == row.id, Outbox.status == PENDING, Outbox.claimed_by.is_(None),
                                     Outbox.attempts == 0)
                .values(burst={"reason": burst.get("reason", recipient.reason), "updates": updates},
                        event=kinds.BURST_EVENT, subject=one_line(email.subject, 300),
                        body_text=email.text, body_html=email.html)
                .execution_options(synchronize_session=False)).rowcount
            if joined:
                session.expire(row)
                session.info["kbgen_outbox_dirty"] = True
                return row
    email = compose_updates(recipient, ticket, settings, [change])
    row = outbox_row(settings, change["kind"], email, ticket_key=key, thread_id=thread_id(settings, ticket))
    row.created_at, row.next_attempt_at = now, now + span
    row.burst = {"reason": recipient.reason, "updates": [change]}
    row.kbgen_decided = True  # notifications.recipients() applied the preference
    [queued] = queue(session, settings, [row])
    return queued


def updates_of(row: Outbox) -> list[dict]:
    """The updates an email lists (for tests and the CLI): each {kind, at, who, old, new, text}."""
    return list((row.burst or {}).get("updates") or []) if isinstance(row.burst, dict) else []
