"""Satisfaction: the requester rates a closed request once, 1 to 5, with an optional comment.

When a request becomes Closed, `ask()` queues one email to its requester with a link to the
ticket page (`?rate=1`, which opens the rating form); `rate()` records the answer as a Rating
and an internal timeline entry, so agents see it on the ticket and the reports count it.
The scale's words are defined here once: the ticket page's form, the API, the agents' view
of a rating and the reports all read SCALE.
"""
from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen.accounts import User
from kbgen.settings import Settings
from kbgen.tickets import workflow
from kbgen.tickets.errors import CommentRejected, NotAllowed, TicketError
from kbgen.tickets.markup import plain_text_html
from kbgen.tickets.models import RATING, Rating, Ticket, TicketEvent, utcnow

SCALE: tuple[tuple[int, str], ...] = (
    (1, "Very dissatisfied"),
    (2, "Dissatisfied"),
    (3, "Neither satisfied nor dissatisfied"),
    (4, "Satisfied"),
    (5, "Very satisfied"),
)
MIN_SCORE, MAX_SCORE = SCALE[0][0], SCALE[-1][0]
MAX_RATING_COMMENT = 2_000
EMAIL_EVENT = "satisfaction"  # Outbox.event of the email that asks for a rating
RATE_QUERY = "rate=1"  # on the ticket page's address: open the rating form
_SURROGATE = re.compile("[\ud800-\udfff]")


class RatingRefused(TicketError):
    """The request cannot be rated now: not closed yet, or rated already."""

    status = 409


def label(score: int) -> str:
    return dict(SCALE).get(score, str(score))


def can_rate(ticket: Ticket, user: User | None) -> bool:
    """Whether `user` is asked to rate `ticket` now: its requester, once it is closed, until they have."""
    return (user is not None and user.id == ticket.requester_id and ticket.status == workflow.CLOSED.name
            and ticket.rating is None)


def rate(session: Session, settings: Settings, ticket: Ticket, user: User, score: object,
         comment: object = "") -> Rating:
    """Record the requester's rating of a closed request, once; refusals say why and what to do."""
    if user.id != ticket.requester_id:
        raise NotAllowed(f"Only the person who opened request {ticket.key} can rate it.")
    if ticket.status != workflow.CLOSED.name:
        raise RatingRefused(f"Request {ticket.key} is '{ticket.status}'; you can rate it once it is closed.")
    if ticket.rating is not None:
        raise RatingRefused(f"You already rated request {ticket.key}; a request is rated once.")
    if isinstance(score, bool) or not isinstance(score, int) or not MIN_SCORE <= score <= MAX_SCORE:
        raise CommentRejected(f"Choose a score from {MIN_SCORE} to {MAX_SCORE}.", field="score")
    if not isinstance(comment, str):
        raise CommentRejected("The comment must be text.", field="comment")
    text = comment.strip()
    if "\x00" in text or _SURROGATE.search(text):
        raise CommentRejected("The comment holds a NUL character or a lone surrogate, which are not text; "
                              "remove them.", field="comment")
    if len(text) > MAX_RATING_COMMENT:
        raise CommentRejected(f"The comment has {len(text)} characters; at most {MAX_RATING_COMMENT} are "
                              "accepted. Shorten it.", field="comment")
    from kbgen.tickets.service import _writing  # one writer at a time, as for every change of a ticket

    try:
        with _writing(session):
            now = utcnow()
            rating = Rating(ticket=ticket, user_id=user.id, score=score, comment=text, created_at=now)
            session.add(rating)
            session.add(TicketEvent(ticket=ticket, kind=RATING, internal=True, author_id=user.id, author=user,
                                    title=f"Rated {score} of {MAX_SCORE}: {label(score)}", body=text,
                                    html=plain_text_html(text) if text else "", created_at=now))
            ticket.updated_at = now
            session.flush()
    except IntegrityError:
        # Two sends racing each other: the unique ticket_id lets one in.
        raise RatingRefused(f"You already rated request {ticket.key}; a request is rated once.") from None
    return rating


def rating_link(settings: Settings, ticket: Ticket) -> str:
    """The ticket page's public address, opening the rating form."""
    from kbgen.mail.notifications import ticket_link

    return f"{ticket_link(settings, ticket)}?{RATE_QUERY}"


def ask(session: Session, settings: Settings, ticket: Ticket) -> None:
    """Queue the one email that asks the requester to rate the request, in the caller's transaction.

    Called where a request becomes Closed (kbgen.tickets.service), which happens once: Closed is final.
    """
    from kbgen.mail.notifications import Email, mail_domain, one_line, outbox_row, queue
    from kbgen.site.brand import for_settings
    from kbgen.templates import render

    requester = ticket.requester
    if requester is None or not requester.email or ticket.rating is not None:
        return
    name = one_line(getattr(requester, "name", "") or "", 200)
    lines = render("mail/satisfaction.requester.txt", key=ticket.key, summary=one_line(ticket.summary),
                   low=MIN_SCORE, high=MAX_SCORE).splitlines()
    parts = {"greeting": f"Hello {name}," if name else "Hello,", "lead": lines[1],
             "action": lines[2] if len(lines) > 2 else "", "link": rating_link(settings, ticket),
             "notes": [line for line in lines[3:] if line.strip()],
             "no_reply_note": "Please do not reply to this email: replies to this address are not read.",
             "support_email": one_line(settings.support_team_email, 320), "brand": for_settings(settings)}
    # The account emails' frame (greeting, why, the link with its label, notes) fits a request for one action.
    email = Email(to_email=requester.email, to_name=name, subject=lines[0],
                  text=render("mail/account_body.txt", **parts), html=render("mail/account_body.html", **parts))
    queue(session, settings, [outbox_row(settings, EMAIL_EVENT, email, ticket_key=ticket.key,
                                         thread_id=f"<ticket.{ticket.key}@{mail_domain(settings)}>")])
