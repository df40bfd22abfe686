"""Email notifications about tickets: who is told what, written to an outbox table.

`notify()` runs inside the transaction that changes the ticket and only adds
Outbox rows to it, so an email exists exactly when the change was committed:
a rolled-back change leaves no email behind, and an SMTP server that is down
loses nothing. kbgen/mailer.py delivers the rows later.

Who gets an email:
- ticket_created: the requester (a receipt with the key and link) and the support team;
- comment_added: the requester when an agent comments publicly, the support team
  when a customer or partner comments; internal notes are never emailed;
- status_changed, priority_changed: the requester.
Nobody is emailed about their own action, except the creation receipt, which
is the requester's record of the key and the link.

The words are templates in kbgen/theme/mail/: one plain-text file per event and audience
(`<event>.<audience>.txt`: subject, first paragraph, facts) and the two parts every email
shares (body.txt, body.html); this module decides who is told what and fills them in.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen.accounts.roles import role_of
from kbgen.site.catalog import find_product
from kbgen.db import Base, utcnow  # naive UTC, as every stored time
from kbgen.settings import Settings
from kbgen.templates import render

EVENTS = ("ticket_created", "comment_added", "status_changed", "priority_changed")

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

NO_REPLY_NOTE = ("Please do not reply to this email: replies to this address are not read. "
                 "To answer, add a comment to the request in the support portal.")


def as_naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


class Outbox(Base):
    """One email to one recipient, from the moment it is decided until it is delivered or given up."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    event: Mapped[str] = mapped_column(String(40))
    ticket_key: Mapped[str | None] = mapped_column(String(40), index=True)
    to_email: Mapped[str] = mapped_column(String(320))
    to_name: Mapped[str] = mapped_column(String(200), default="")
    reply_to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    # Set once when the row is written: every retry, by any sender, carries the same
    # Message-ID, so a receiving server or client can drop a duplicate delivery.
    message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    thread_id: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"<Outbox {self.id} {self.event} {self.ticket_key} to {self.to_email} {self.status}>"


@dataclass(frozen=True)
class Email:
    """A composed message, before it is queued."""

    to_email: str
    to_name: str
    subject: str
    text: str
    html: str


# -- composing ------------------------------------------------------------------------------


def mail_domain(settings: Settings) -> str:
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    return domain or "localhost"


def no_reply_address(settings: Settings) -> str:
    return f"no-reply@{mail_domain(settings)}"


def ticket_link(settings: Settings, ticket: Any) -> str:
    return settings.public_url.rstrip("/") + "/" + str(ticket.url).lstrip("/")


def status_meaning(status: str) -> str:
    """What a status means to a customer, from kbgen.workflow; empty when it cannot say."""
    try:
        from kbgen.tickets.workflow import find_status
        return find_status(status).meaning
    except (ImportError, ValueError, AttributeError):  # unknown status: the name alone still informs
        return ""


# C0 controls (CR, LF, NUL, ESC...), DEL, C1 controls and Unicode's line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SURROGATES = re.compile("[\ud800-\udfff]")


def _one_line(text: object, limit: int = 160) -> str:
    """Header-safe: customer text in a header must not smuggle in new header lines (a summary ending in
    CR LF "Bcc: ...") or control characters, which mail software reads each its own way."""
    clean = _SURROGATES.sub("\ufffd", _CONTROLS.sub(" ", str(text or "")))
    flat = " ".join(clean.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


one_line = _one_line  # public names for kbgen/mail/account_mail.py


def _address(text: object) -> str:
    """An address for a header: an address holds no spaces or controls, so they are dropped, not replaced."""
    return "".join(_one_line(text, 320).split())


def _product_name(ticket: Any) -> str:
    product = find_product(getattr(ticket, "product", None))
    return product.name if product else str(getattr(ticket, "product", "") or "")


def _org_name(ticket: Any) -> str:
    return str(getattr(getattr(ticket, "organization", None), "name", "") or "")


def _person(user: Any) -> str:
    if user is None:
        return "The support team"
    return str(getattr(user, "name", "") or getattr(user, "email", "") or "Someone")


def _message(event: str, audience: str, recipient_name: str, quote: str, link: str, **words: str) -> dict:
    """The parts of one email from its words' template (kbgen/theme/mail/<event>.<audience>.txt):
    line 1 the subject, line 2 the lead, then a "Label: value" line per fact. Every value is one
    line, so the lines cannot be confused."""
    lines = render(f"mail/{event}.{audience}.txt", **{k: _one_line(v, 1000) for k, v in words.items()}).splitlines()
    facts = [tuple(line.partition(": ")[::2]) for line in lines[2:] if line]
    greeting = f"Hello {recipient_name}," if audience == "requester" and recipient_name else "Hello,"
    return {"subject": lines[0], "greeting": greeting, "lead": lines[1], "quote": quote, "facts": facts,
            "link": link, "no_reply_note": NO_REPLY_NOTE}


def _status_text(status: str) -> str:
    meaning = status_meaning(status)
    return f"{status} ({meaning})" if meaning else status


def compose(event: str, audience: str, ticket: Any, actor: Any, settings: Settings,
            recipient: tuple[str, str], **details: Any) -> Email:
    """One email about `event` for `audience` ("requester" or "team")."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}; expected one of {', '.join(EVENTS)}")
    words = {"key": ticket.key, "summary": _one_line(ticket.summary), "product": _product_name(ticket), "org": _org_name(ticket),
             "priority": str(ticket.priority or ""), "status": _status_text(ticket.status)}
    quote = ""
    if event == "ticket_created":
        words |= {"requester": _person(ticket.requester), "requester_email": ticket.requester.email}
        if audience == "team":
            quote = str(getattr(ticket, "description", "") or "").strip()
    elif event == "comment_added":
        comment = details["comment"]
        words["author"] = _person(getattr(comment, "author", None) or actor)
        quote = str(comment.body or "").strip()
    elif event == "status_changed":
        new = str(details.get("new") or ticket.status)
        words |= {"actor": _person(actor), "old": str(details.get("old") or ""), "new": new,
                  "status": _status_text(new)}
    elif event == "priority_changed":
        words |= {"actor": _person(actor), "old": str(details.get("old") or ""), "new": str(details.get("new") or "")}
    message = _message(event, audience, recipient[1], quote, ticket_link(settings, ticket), **words)
    return Email(to_email=recipient[0], to_name=recipient[1], subject=message["subject"],
                 text=render("mail/body.txt", **message), html=render("mail/body.html", **message))


# -- deciding and queueing --------------------------------------------------------------------


def _is_agent(user: Any) -> bool:
    role = role_of(getattr(user, "role", None))  # the role's definition says (kbgen/accounts/roles.py)
    return role is not None and role.can_answer_tickets


def _same_person(email: str, user: Any) -> bool:
    other = getattr(user, "email", None)
    return bool(other) and email.strip().lower() == str(other).strip().lower()


def recipients(event: str, ticket: Any, actor: Any, settings: Settings,
               **details: Any) -> list[tuple[str, tuple[str, str]]]:
    """[(audience, (email, name))] for an event, after the rules above."""
    requester = (ticket.requester.email, getattr(ticket.requester, "name", "") or "")
    team = (settings.support_team_email, "")
    chosen: list[tuple[str, tuple[str, str]]] = []
    if event == "ticket_created":
        chosen = [("requester", requester), ("team", team)]
    elif event == "comment_added":
        comment = details.get("comment")
        if comment is None:
            raise ValueError("comment_added needs details comment=<the comment>")
        if getattr(comment, "internal", False):
            return []
        author = getattr(comment, "author", None) or actor
        chosen = [("requester", requester)] if _is_agent(author) else [("team", team)]
    elif event in ("status_changed", "priority_changed"):
        if details.get("old") is not None and details.get("old") == details.get("new"):
            return []
        chosen = [("requester", requester)]
    else:
        raise ValueError(f"unknown notification event {event!r}; expected one of {', '.join(EVENTS)}")
    result, seen = [], set()
    for audience, (email, name) in chosen:
        if not email or email.lower() in seen:
            continue
        if not (event == "ticket_created" and audience == "requester") and _same_person(email, actor):
            continue
        seen.add(email.lower())
        result.append((audience, (email, name)))
    return result


def outbox_row(settings: Settings, event: str, email: Email, *, ticket_key: str | None = None,
               thread_id: str | None = None) -> Outbox:
    """A pending Outbox row for a composed email (tickets' here, accounts' in kbgen/mail/account_mail.py).
    Every value that becomes a header (kbgen/mail/sender.py) is made one clean line here."""
    return Outbox(event=event, ticket_key=ticket_key, to_email=_address(email.to_email),
                  to_name=_one_line(email.to_name, 200), reply_to=_address(no_reply_address(settings)),
                  subject=_one_line(email.subject, 300), body_text=email.text, body_html=email.html,
                  thread_id=_address(thread_id) if thread_id else None,
                  status=PENDING, attempts=0, next_attempt_at=utcnow())


def notify(session: Session, settings: Settings, event: str, ticket: Any, actor: Any,
           **details: Any) -> list[Outbox]:
    """Queue the emails an event causes, in the caller's transaction (the caller commits)."""
    rows = []
    domain = mail_domain(settings)
    for audience, recipient in recipients(event, ticket, actor, settings, **details):
        email = compose(event, audience, ticket, actor, settings, recipient, **details)
        rows.append(outbox_row(settings, event, email, ticket_key=str(ticket.key),
                               thread_id=f"<ticket.{ticket.key}@{domain}>"))
    return queue(session, settings, rows)


def queue(session: Session, settings: Settings, rows: list[Outbox]) -> list[Outbox]:
    """Add Outbox rows to the caller's transaction, each with its Message-ID, and wake the sender."""
    if not rows:
        return rows
    domain = mail_domain(settings)
    session.add_all(rows)
    session.flush()
    for row in rows:
        # The row id makes it unique here; the random part keeps it unique after a database is
        # recreated and ids start again (mail providers silently drop a Message-ID seen before).
        row.message_id = _address(f"<outbox.{row.id}.{secrets.token_hex(6)}@{domain}>")
    session.flush()
    # Tells an OutboxSender listening on this session's commits to wake up now.
    session.info["kbgen_outbox_dirty"] = True
    return rows
