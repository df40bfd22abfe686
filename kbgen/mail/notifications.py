"""Email notifications about tickets: who is told what, written to an outbox table.

`notify()` runs inside the transaction that changes the ticket and only adds
Outbox rows to it, so an email exists exactly when the change was committed:
a rolled-back change leaves no email behind, and an SMTP server that is down
loses nothing. kbgen/mailer.py delivers the rows later.

Who gets an email:
- ticket_created: the requester (a receipt with the key and link) and the support team;
- comment_added: the requester when an agent comments publicly, the support team
  when a customer or partner comments; internal notes are never emailed;
- status_changed: the requester.
Nobody is emailed about their own action, except the creation receipt, which
is the requester's record of the key and the link.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from html import escape
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen.site.catalog import find_product
from kbgen.db import Base
from kbgen.settings import Settings

EVENTS = ("ticket_created", "comment_added", "status_changed")

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

NO_REPLY_NOTE = ("Please do not reply to this email: replies to this address are not read. "
                 "To answer, add a comment to the request in the support portal.")


def utcnow() -> dt.datetime:
    """Naive UTC: SQLite drops time zones, so every stored time is naive UTC on both databases."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


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


@dataclass(frozen=True)
class _Draft:
    """The parts of one email, in plain text; HTML is derived from it so both say the same."""

    subject: str
    greeting: str
    lead: str
    quote: str = ""  # a comment's text, kept verbatim
    facts: tuple[tuple[str, str], ...] = ()


def _render(draft: _Draft, link: str, recipient: tuple[str, str]) -> Email:
    text_parts = [draft.greeting, "", draft.lead]
    html_parts = [f"<p>{escape(draft.greeting)}</p>", f"<p>{escape(draft.lead)}</p>"]
    if draft.quote:
        text_parts += ["", *("> " + line if line else ">" for line in draft.quote.splitlines())]
        html_parts.append('<blockquote style="white-space:pre-wrap;border-left:3px solid #ccc;'
                          f'margin:0 0 1em;padding-left:1em">{escape(draft.quote)}</blockquote>')
    if draft.facts:
        text_parts.append("")
        text_parts += [f"{label}: {value}" for label, value in draft.facts]
        html_parts.append("<table>" + "".join(
            f"<tr><th align=left>{escape(label)}</th><td>{escape(value)}</td></tr>"
            for label, value in draft.facts) + "</table>")
    text_parts += ["", "View the request and reply in the support portal:", link, "", NO_REPLY_NOTE, ""]
    html_parts += [f'<p><a href="{escape(link, quote=True)}">View the request and reply in the support portal</a></p>',
                   f'<p style="color:#666;font-size:small">{escape(NO_REPLY_NOTE)}</p>']
    html = ('<!DOCTYPE html><html><body style="font-family:sans-serif">'
            + "".join(html_parts) + "</body></html>")
    return Email(to_email=recipient[0], to_name=recipient[1], subject=draft.subject,
                 text="\n".join(text_parts), html=html)


def _status_fact(label: str, status: str) -> tuple[str, str]:
    meaning = status_meaning(status)
    return label, f"{status} ({meaning})" if meaning else status


def compose(event: str, audience: str, ticket: Any, actor: Any, settings: Settings,
            recipient: tuple[str, str], **details: Any) -> Email:
    """One email about `event` for `audience` ("requester" or "team")."""
    key, summary = ticket.key, _one_line(ticket.summary)
    product, org = _product_name(ticket), _org_name(ticket)
    requester = ticket.requester
    greeting = f"Hello {recipient[1]}," if audience == "requester" and recipient[1] else "Hello,"
    if event == "ticket_created" and audience == "requester":
        draft = _Draft(
            subject=f"[{key}] Request received: {summary}", greeting=greeting,
            lead=f"We received your request {key} about {product}: “{summary}”. "
                 "Our support team will answer in the portal.",
            facts=(_status_fact("Status", ticket.status), ("Priority", str(ticket.priority or ""))))
    elif event == "ticket_created":
        who = f"{_person(requester)} <{requester.email}>" + (f" of {org}" if org else "")
        draft = _Draft(
            subject=f"[{key}] New {product} request{' from ' + org if org else ''}: {summary}",
            greeting=greeting, lead=f"{who} opened request {key}: “{summary}”.",
            quote=str(getattr(ticket, "description", "") or "").strip(),
            facts=(("Product", product), ("Priority", str(ticket.priority or "")),
                   ("Organization", org or "—"), _status_fact("Status", ticket.status)))
    elif event == "comment_added":
        comment = details["comment"]
        author = getattr(comment, "author", None) or actor
        if audience == "requester":
            lead = f"{_person(author)} from the support team replied to your request {key} (“{summary}”):"
            subject = f"[{key}] New reply: {summary}"
        else:
            lead = f"{_person(author)}{' of ' + org if org else ''} commented on request {key} (“{summary}”):"
            subject = f"[{key}] Customer comment: {summary}"
        draft = _Draft(subject=subject, greeting=greeting, lead=lead, quote=str(comment.body or "").strip(),
                       facts=(_status_fact("Status", ticket.status),))
    elif event == "status_changed":
        old, new = str(details.get("old") or ""), str(details.get("new") or ticket.status)
        change = f"from {old} to {new}" if old else f"to {new}"
        draft = _Draft(subject=f"[{key}] Status changed to {new}: {summary}", greeting=greeting,
                       lead=f"{_person(actor)} changed the status of your request {key} (“{summary}”) {change}.",
                       facts=(_status_fact("New status", new),))
    else:
        raise ValueError(f"unknown notification event {event!r}; expected one of {', '.join(EVENTS)}")
    return _render(draft, ticket_link(settings, ticket), recipient)


# -- deciding and queueing --------------------------------------------------------------------


def _is_agent(user: Any) -> bool:
    return getattr(user, "role", None) == "agent"


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
    elif event == "status_changed":
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


def notify(session: Session, settings: Settings, event: str, ticket: Any, actor: Any,
           **details: Any) -> list[Outbox]:
    """Queue the emails an event causes, in the caller's transaction (the caller commits)."""
    rows = []
    domain = mail_domain(settings)
    for audience, recipient in recipients(event, ticket, actor, settings, **details):
        email = compose(event, audience, ticket, actor, settings, recipient, **details)
        # Every value that becomes a header (kbgen/mailer.py) is made one clean line here.
        rows.append(Outbox(event=event, ticket_key=str(ticket.key), to_email=_address(email.to_email),
                           to_name=_one_line(email.to_name, 200), reply_to=_address(no_reply_address(settings)),
                           subject=_one_line(email.subject, 300), body_text=email.text, body_html=email.html,
                           thread_id=_address(f"<ticket.{ticket.key}@{domain}>"),
                           status=PENDING, attempts=0, next_attempt_at=utcnow()))
    if not rows:
        return rows
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
