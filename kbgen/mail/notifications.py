"""Email notifications about tickets: who is told what, written to an outbox table.

`notify()` runs inside the transaction that changes the ticket and only adds (or extends)
Outbox rows in it, so an email exists exactly when the change was committed: a rolled-back
change leaves no email behind, and an SMTP server that is down loses nothing.
kbgen/mail/sender.py delivers the rows later.

Who gets an email (the kinds are kbgen/mail/kinds.py's, each person's preference is
kbgen/mail/preferences.py's, watchers are kbgen/mail/watching.py's):
- ticket_created: the requester (a receipt with the key and link) and the team (new_request);
- comment_added: the requester and the watchers when an agent comments publicly; the team when a
  customer or partner comments (customer_comment); internal notes are never emailed;
- status_changed, priority_changed: the requester and the watchers; a customer's reopen (reopened)
  and confirmation of the fix (confirmed) also reach the team.
"The team" is the ticket's assignee, else the support team's address; an assignee whose preference
turns an alert down leaves it to the support team's address, so the team always hears.
Nobody is emailed about their own action, except the creation receipt, which is the requester's
record of the key and the link. The updates a follower hears of (replies, status and priority
changes) wait for the burst window and go as one email per burst (kbgen/mail/bursts.py).

The words are templates in kbgen/theme/mail/: one plain-text file per kind and audience
(`<kind>.<audience>.txt`: subject, first paragraph, facts), `update.txt` (one update in an
email listing several), `why.txt` (why the person got it and where to change that) and the two
parts every email shares (body.txt, body.html); this module decides who is told what and fills them in.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen.accounts.roles import role_of
from kbgen.mail import kinds as K
from kbgen.mail import preferences
from kbgen.mail.kinds import NotificationKind
from kbgen.site.catalog import find_product
from kbgen.db import Base, utcnow  # naive UTC, as every stored time
from kbgen import dates
from kbgen.settings import Settings
from kbgen.site.brand import for_settings
from kbgen.templates import render

EVENTS = ("ticket_created", "comment_added", "status_changed", "priority_changed")  # what notify() is told

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"

# Why someone gets an email (why.txt says it in words).
REQUESTER, WATCHER, ASSIGNEE, TEAM_ADDRESS = "requester", "watcher", "assignee", "team"

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
    event: Mapped[str] = mapped_column(String(40))  # a kind's slug (kbgen/mail/kinds.py)
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
    # A follower's burst of updates (kbgen/mail/bursts.py): {"reason": ..., "updates": [...]}, what the
    # email is written from again when a later update joins it before it is sent; null for other emails.
    burst: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))

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


@dataclass(frozen=True)
class Recipient:
    """Who gets an email of `kind`, and why (REQUESTER, WATCHER, ASSIGNEE or TEAM_ADDRESS)."""

    kind: NotificationKind
    email: str
    name: str
    reason: str


# -- composing ------------------------------------------------------------------------------


def mail_domain(settings: Settings) -> str:
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2]
    return domain or "localhost"


def no_reply_address(settings: Settings) -> str:
    return f"no-reply@{mail_domain(settings)}"


def ticket_link(settings: Settings, ticket: Any) -> str:
    return settings.public_url.rstrip("/") + "/" + str(ticket.url).lstrip("/")


def preferences_link(settings: Settings) -> str:
    from kbgen.facts import service_page  # kbgen.facts imports the tickets package, which notifies

    return settings.public_url.rstrip("/") + service_page("notification_settings")


def status_meaning(status: str) -> str:
    """What a status means to a customer, from kbgen.workflow; empty when it cannot say."""
    try:
        from kbgen.tickets.workflow import find_status
        return find_status(status).meaning
    except (ImportError, ValueError, AttributeError):  # unknown status: the name alone still informs
        return ""


def priority_name(value: object) -> str:
    """A priority as kbgen/forms/priorities.py names it ("High"), from its slug or name; else as given."""
    from kbgen.forms.priorities import PRIORITIES

    text = str(value or "")
    wanted = text.strip().lower()
    return next((p.name for p in PRIORITIES if wanted in (p.slug, p.name.lower())), text)


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


def _status_text(status: str) -> str:
    meaning = status_meaning(status)
    return f"{status} ({meaning})" if meaning else status


def _audience(kind: NotificationKind) -> str:
    return "team" if kind.audience == K.TEAM else "followers"


def _ticket_words(ticket: Any) -> dict[str, str]:
    return {"key": ticket.key, "summary": _one_line(ticket.summary), "product": _product_name(ticket),
            "org": _org_name(ticket), "priority": priority_name(ticket.priority),
            "status": _status_text(ticket.status)}


def _frame(recipient: Recipient, settings: Settings) -> dict[str, Any]:
    """What every ticket email says around its content: the greeting, why it came, where to choose fewer."""
    person = recipient.reason != TEAM_ADDRESS  # the team's address is not a person: it has no preference
    why = " ".join(render("mail/why.txt", reason=recipient.reason).split())
    name = _one_line(recipient.name, 200)
    return {"greeting": f"Hello {name}," if name and person else "Hello,", "why": why,
            "preferences_link": preferences_link(settings) if person else "", "no_reply_note": NO_REPLY_NOTE,
            "brand": for_settings(settings)}  # the portal's name and colours (kbgen/site/brand.py)


def _email(recipient: Recipient, subject: str, message: dict[str, Any]) -> Email:
    return Email(to_email=recipient.email, to_name=recipient.name, subject=subject,
                 text=render("mail/body.txt", **message), html=render("mail/body.html", **message))


def describe(kind: NotificationKind, ticket: Any, actor: Any, **details: Any) -> dict[str, str]:
    """One update as it is kept in a burst and written in an email: kind, when, who, old, new, text."""
    update = {"kind": kind.slug, "at": utcnow().replace(microsecond=0).isoformat(), "who": _person(actor),
              "old": "", "new": "", "text": ""}
    if kind in (K.REPLY, K.CUSTOMER_COMMENT):
        comment = details["comment"]
        update |= {"who": _person(getattr(comment, "author", None) or actor),
                   "text": str(comment.body or "").strip()}
    elif kind in (K.CREATED, K.NEW_REQUEST):
        requester = ticket.requester
        update |= {"who": _person(requester), "email": str(getattr(requester, "email", "") or ""),
                   "text": str(getattr(ticket, "description", "") or "").strip() if kind is K.NEW_REQUEST else ""}
    elif kind is K.PRIORITY:
        update |= {"old": priority_name(details.get("old")), "new": priority_name(details.get("new"))}
    else:  # a status change, a reopen, a confirmation
        update |= {"old": str(details.get("old") or ""), "new": str(details.get("new") or ticket.status)}
    return update


def compose_one(recipient: Recipient, ticket: Any, settings: Settings, update: dict[str, str]) -> Email:
    """The email about one update, from its kind's template (<kind>.<audience>.txt)."""
    kind = K.find_kind(update["kind"]) or recipient.kind
    words = _ticket_words(ticket) | {"reason": recipient.reason}
    words |= {"author": update["who"], "actor": update["who"], "requester": update["who"],
              "requester_email": update.get("email", ""), "old": update["old"], "new": update["new"]}
    if kind in (K.STATUS, K.REOPENED, K.CONFIRMED) and update["new"]:
        words["status"] = _status_text(update["new"])
    lines = render(f"mail/{kind.slug}.{_audience(kind)}.txt",
                   **{k: _one_line(v, 1000) for k, v in words.items()}).splitlines()
    facts = [tuple(line.partition(": ")[::2]) for line in lines[2:] if line]
    message = _frame(recipient, settings) | {"lead": lines[1], "quote": update.get("text", ""), "facts": facts,
                                             "updates": [], "link": ticket_link(settings, ticket)}
    return _email(recipient, lines[0], message)


def compose_updates(recipient: Recipient, ticket: Any, settings: Settings, updates: list[dict]) -> Email:
    """The email about a burst of updates: one update as compose_one writes it, several listed in order."""
    if len(updates) == 1:
        return compose_one(recipient, ticket, settings, updates[0])
    words = _ticket_words(ticket) | {"reason": recipient.reason, "count": str(len(updates))}
    lines = render(f"mail/{K.BURST_EVENT}.followers.txt",
                   **{k: _one_line(v, 1000) for k, v in words.items()}).splitlines()
    listed = []
    for update in updates:
        at = dt.datetime.fromisoformat(update["at"])
        said = render("mail/update.txt", kind=update["kind"], kinds=K, time=dates.clock(at),
                      **{k: _one_line(update.get(k, ""), 1000) for k in ("who", "old", "new")}).splitlines()
        said = [line for line in said if line.strip()]
        listed.append({"heading": said[0], "lines": said[1:], "quote": update.get("text", "")})
    facts = [tuple(line.partition(": ")[::2]) for line in lines[2:] if line]
    message = _frame(recipient, settings) | {"lead": lines[1], "quote": "", "facts": facts, "updates": listed,
                                             "link": ticket_link(settings, ticket)}
    return _email(recipient, lines[0], message)


# -- deciding and queueing --------------------------------------------------------------------


def _is_agent(user: Any) -> bool:
    role = role_of(getattr(user, "role", None))  # the role's definition says (kbgen/accounts/roles.py)
    return role is not None and role.can_answer_tickets


def _same_person(email: str, user: Any) -> bool:
    other = getattr(user, "email", None)
    return bool(other) and email.strip().lower() == str(other).strip().lower()


def followers(kind: NotificationKind, ticket: Any, actor: Any) -> list[Recipient]:
    """The requester and the watchers who get `kind` about `ticket`: never the actor (but for the receipt),
    only those whose preference lets it through."""
    from kbgen.mail import watching

    # A request being opened has nobody watching it yet: no need to look.
    watchers = [] if kind is K.CREATED else watching.watchers(ticket)
    people = [(ticket.requester, REQUESTER), *((user, WATCHER) for user in watchers)]
    chosen = []
    for person, reason in people:
        email = str(getattr(person, "email", "") or "")
        if not email or (kind is not K.CREATED and _same_person(email, actor)):
            continue
        if preferences.wants(person, kind):
            chosen.append(Recipient(kind, email, str(getattr(person, "name", "") or ""), reason))
    return chosen


def team(kind: NotificationKind, ticket: Any, actor: Any, settings: Settings) -> list[Recipient]:
    """The ticket's assignee, else the support team's address; agents never hear of their own actions."""
    assignee = getattr(ticket, "assignee", None)
    if assignee is not None and getattr(assignee, "email", None) and getattr(assignee, "deactivated_at", None) is None:
        if _same_person(assignee.email, actor):
            return []
        if preferences.wants(assignee, kind):
            return [Recipient(kind, assignee.email, str(getattr(assignee, "name", "") or ""), ASSIGNEE)]
    if _same_person(settings.support_team_email, actor):
        return []
    return [Recipient(kind, settings.support_team_email, "", TEAM_ADDRESS)]


def _customer_move(old: object, new: object, actor: Any) -> Any:
    """The customer's move (a workflow Transition) from `old` to `new` by `actor`, if it is one."""
    from kbgen.tickets import workflow

    if actor is None or _is_agent(actor):
        return None
    return next((t for t in workflow.TRANSITIONS if t.by == workflow.CUSTOMER and t.source.name == old
                 and t.target.name == new), None)


def recipients(event: str, ticket: Any, actor: Any, settings: Settings, **details: Any) -> list[Recipient]:
    """Everyone an event is emailed to, with the kind each gets, after the rules above."""
    chosen: list[Recipient] = []
    if event == "ticket_created":
        chosen = followers(K.CREATED, ticket, actor) + team(K.NEW_REQUEST, ticket, actor, settings)
    elif event == "comment_added":
        comment = details.get("comment")
        if comment is None:
            raise ValueError("comment_added needs details comment=<the comment>")
        if getattr(comment, "internal", False):
            return []
        author = getattr(comment, "author", None) or actor
        chosen = (followers(K.REPLY, ticket, author) if _is_agent(author)
                  else team(K.CUSTOMER_COMMENT, ticket, author, settings))
    elif event in ("status_changed", "priority_changed"):
        if details.get("old") is not None and details.get("old") == details.get("new"):
            return []
        if event == "priority_changed":
            chosen = followers(K.PRIORITY, ticket, actor)
        else:
            move = _customer_move(details.get("old"), details.get("new"), actor)
            from kbgen.tickets import workflow

            alert = (K.CONFIRMED if move is not None and move.target is workflow.FINAL
                     else K.REOPENED if move is not None and move.reopen_window else None)
            chosen = (team(alert, ticket, actor, settings) if alert else []) + followers(K.STATUS, ticket, actor)
    else:
        raise ValueError(f"unknown notification event {event!r}; expected one of {', '.join(EVENTS)}")
    result, seen = [], set()
    for recipient in chosen:
        key = recipient.email.strip().lower()
        if key and key not in seen:
            seen.add(key)
            result.append(recipient)
    return result


def thread_id(settings: Settings, ticket: Any) -> str:
    return f"<ticket.{ticket.key}@{mail_domain(settings)}>"


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
    """Queue the emails an event causes, in the caller's transaction (the caller commits).

    Followers' updates join their burst (kbgen/mail/bursts.py); the rest are due at once."""
    from kbgen.mail import bursts

    rows, now_due = [], []
    for recipient in recipients(event, ticket, actor, settings, **details):
        update = describe(recipient.kind, ticket, actor, **details)
        if recipient.kind.burst:
            rows.append(bursts.add(session, settings, ticket, recipient, update))
            continue
        row = outbox_row(settings, recipient.kind.slug, compose_one(recipient, ticket, settings, update),
                         ticket_key=str(ticket.key), thread_id=thread_id(settings, ticket))
        row.kbgen_decided = True  # who gets it was decided here, preference included
        now_due.append(row)
    return rows + queue(session, settings, now_due)


def _unwanted(session: Session, row: Outbox) -> bool:
    """A row queued elsewhere (the rating request) to a person whose preference turns its kind down."""
    kind = K.find_kind(row.event)
    if getattr(row, "kbgen_decided", False) or kind is None or kind.security or kind.audience == K.TEAM:
        return False
    from sqlalchemy import func, select

    from kbgen.accounts import User

    person = session.scalars(select(User).where(func.lower(User.email) == row.to_email.strip().lower())).first()
    return person is not None and not preferences.wants(person, kind)


def queue(session: Session, settings: Settings, rows: list[Outbox]) -> list[Outbox]:
    """Add Outbox rows to the caller's transaction, each with its Message-ID, and wake the sender.

    A row for a person who turned its kind down (kbgen/mail/preferences.py) is left out."""
    rows = [row for row in rows if not _unwanted(session, row)]
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
