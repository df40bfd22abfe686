"""Changing tickets: intake, comments, status moves and assignment, with their rules.

Plain functions over a SQLAlchemy session; the HTTP routes (kbgen/web/routes/) and the
CLI (kbgen/cli/tickets.py) are thin adapters over them, so both keep the same rules.
Every function that changes a ticket queues its notifications in the same transaction
and commits it, so a change and its emails exist together or not at all.
"""
from __future__ import annotations

import datetime as dt
import threading
from contextlib import contextmanager, nullcontext
from typing import Any, Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kbgen import dates
from kbgen.accounts import User
from kbgen.settings import Settings
from kbgen.site.catalog import find_product, product_by_slug
from kbgen.tickets import keys, workflow
from kbgen.tickets.attachments import Upload, attachment_rows, discard, store_files
from kbgen.tickets.errors import CommentRejected, NotAllowed, OrganizationInvalid, TicketClosed
from kbgen.tickets.markup import plain_text_html, render_markdown
from kbgen.sla import clock, for_forms
from kbgen.tickets.models import (ASSIGNED, AUTOMATION, AUTOMATION_FAILED, COMMENT, MAX_SUMMARY, NOTE, PRIORITY,
                                  SLA_BREACH, STATUS, Ticket, TicketConsent, TicketEvent, utcnow)
from kbgen.tickets.limits import MAX_COMMENT_CHARS
from kbgen.tickets.queries import is_agent, user_named


_SQLITE_WRITER = threading.Lock()


@contextmanager
def _writing(session: Session):
    """One transaction that writes, committed at the end or rolled back.

    SQLite lets one writer in at a time and makes the others sleep and retry with
    growing pauses (the busy timeout), which turns a burst of intakes into
    second-long waits; queueing this process's writers on a lock instead keeps
    each wait to the few milliseconds a ticket's transaction takes.
    """
    with _SQLITE_WRITER if session.get_bind().dialect.name == "sqlite" else nullcontext():
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise


def _notify(session: Session, settings: Settings, event: str, ticket: Ticket, actor: User | None, **details):
    from kbgen.mail.notifications import notify

    notify(session, settings, event, ticket, actor, **details)


def create_ticket(session: Session, settings: Settings, submission: Any, requester: User, *,
                  idempotency_key: str | None = None, uploads: Sequence[Upload] = (),
                  related_key: str | None = None, organization_id: int | None = None) -> tuple[Ticket, bool]:
    """Store a validated submission as a new ticket; (ticket, created).

    The ticket belongs to `organization_id`, which must be one of the requester's organizations
    (a partner's further ones included); by default the organization of the closed request it
    follows up, else the requester's own. The same idempotency key from the same requester
    returns the first ticket (created False), even when both submissions race each other.
    `requester` must have its organizations loaded (accounts loads them with the user).
    """
    if requester.organization_id is None:
        raise NotAllowed("Your account belongs to no organization, so it cannot open requests. "
                         "Ask your administrator to add it to one.")
    theirs = {org.id: org for org in requester.organizations}
    if organization_id is not None and organization_id not in theirs:
        raise OrganizationInvalid(
            "Choose one of your organizations: "
            + ", ".join(f"{org.name} ({org.id})" for org in theirs.values()), field="organization")
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    product = find_product(submission.product) or product_by_slug(submission.product)
    related = None
    if related_key:
        related_row = session.execute(select(Ticket.key, Ticket.organization_id).where(
            Ticket.key == related_key.strip().upper(), Ticket.organization_id.in_(list(theirs)))).first()
        if related_row is not None:
            related = related_row.key
            if organization_id is None:
                organization_id = related_row.organization_id
    organization = theirs[organization_id if organization_id is not None else requester.organization_id]
    stored = store_files(settings, uploads, submission)
    try:
        with _writing(session):
            number = keys.next_number(session, product.key_prefix)
            now = utcnow()
            ticket = Ticket(
                key=keys.format_key(product.key_prefix, number), number=number, product=product.slug,
                request_type=submission.request_type, priority=submission.priority,
                summary=str(submission.summary or "")[:MAX_SUMMARY],
                description=str(submission.description or ""), status=workflow.INITIAL.name,
                values=dict(submission.values or {}), organization_id=organization.id,
                requester_id=requester.id, requester=requester, organization=organization,
                idempotency_key=idempotency_key, related_key=related, created_at=now, updated_at=now)
            clock.start(ticket, for_forms(settings.forms_dir), now)
            session.add(ticket)
            for consent in getattr(submission, "consents", None) or ():
                ticket.consents.append(TicketConsent(
                    field=consent.field, name=str(consent.name)[:200], version=str(consent.version)[:40],
                    text_sha256=consent.text_sha256, user_id=requester.id, accepted_at=now))
            ticket.attachments.extend(attachment_rows(stored, ticket, requester))
            session.flush()
            _notify(session, settings, "ticket_created", ticket, requester)
    except IntegrityError:
        # A retry with a key already used: the unique constraint, not a look-up first, decides,
        # so two racing retries cannot both create a ticket and the usual case costs no query.
        discard(stored)
        existing = _by_idempotency(session, requester, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    except BaseException:
        discard(stored)
        raise
    return ticket, True


def _by_idempotency(session: Session, requester: User, key: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.requester_id == requester.id,
                                                Ticket.idempotency_key == key)).first()


def run_automations(session: Session, settings: Settings, ticket: Ticket) -> list[TicketEvent]:
    """Run the new-ticket automations and keep each outcome in the timeline, for agents only; what an
    outcome tells the customer (its customer_note: "We attached ...") is a public entry of its own.

    Outcomes hold what the support team's tools found (server details, errors),
    as plain text.  kbgen.automations turns every failure into an outcome, so a
    broken automation is recorded and never undoes or blocks the ticket.
    """
    from kbgen.tickets.automations import run_new_ticket

    events = []
    for outcome in run_new_ticket(session, settings, ticket):
        events.append(TicketEvent(ticket_id=ticket.id, kind=AUTOMATION_FAILED if outcome.failed else AUTOMATION,
                                  internal=True, title=str(outcome.title)[:200], body=str(outcome.body),
                                  html=plain_text_html(str(outcome.body))))
        if outcome.customer_note and not outcome.failed:
            events.append(TicketEvent(ticket_id=ticket.id, kind=AUTOMATION, internal=False,
                                      title=str(outcome.title)[:200], body=str(outcome.customer_note),
                                      html=plain_text_html(str(outcome.customer_note))))
    session.commit()  # ends the automations' reading transaction before queueing to write
    if events:
        with _writing(session):
            session.add_all(events)
    return events


def add_comment(session: Session, settings: Settings, ticket: Ticket, author: User, text: str, *,
                internal: bool = False, uploads: Sequence[Upload] = ()) -> TicketEvent:
    """Add a public comment (or an agent's internal note) with optional attachments.

    A customer's reply to a ticket waiting for them hands it back to the support team.
    """
    text = (text or "").strip()
    if internal and not is_agent(author):
        raise NotAllowed("Only the support team can add internal notes.")
    if not text and not uploads:
        raise CommentRejected("The comment is empty: write a message or attach a file.", field="text")
    if len(text) > MAX_COMMENT_CHARS:
        raise CommentRejected(f"The comment has {len(text)} characters; at most {MAX_COMMENT_CHARS} are accepted. "
                              "Shorten it or attach the rest as a file.", field="text")
    if ticket.status == workflow.FINAL.name:
        raise TicketClosed(closed_message(ticket), new_request_url=new_request_url(ticket), related_key=ticket.key)
    rendered = render_markdown(text)
    stored = store_files(settings, uploads)
    try:
        with _writing(session):
            now = utcnow()
            event = TicketEvent(ticket=ticket, kind=NOTE if internal else COMMENT, internal=internal,
                                author_id=author.id, author=author, body=text, html=rendered, created_at=now)
            session.add(event)
            session.add_all(attachment_rows(stored, ticket, author, event))
            ticket.updated_at = now
            if is_agent(author):
                _agent_acted(ticket)
                if not internal:
                    clock.responded(ticket, now)
            _record_breaches(session, ticket, now)
            session.flush()
            _notify(session, settings, "comment_added", ticket, author, comment=event)
            target = None if internal or is_agent(author) else workflow.on_customer_comment(ticket.status)
            if target is not None:
                _change_status(session, settings, ticket, author, target, now)
    except BaseException:
        discard(stored)
        raise
    return event


def new_request_url(ticket: Ticket) -> str:
    """Where to open a follow-up of a closed request, relative to the site root."""
    from kbgen.facts import page  # the site's addresses; kbgen.facts imports this package

    return page("follow_up", product=ticket.product, key=ticket.key)


def closed_message(ticket: Ticket) -> str:
    return (f"Request {ticket.key} is closed, so it takes no more comments. "
            "Open a new request that refers to it instead.")


def transition(session: Session, settings: Settings, ticket: Ticket, actor: User | None, to: str,
               *, now: dt.datetime | None = None) -> TicketEvent:
    """Move the ticket to status `to`, if `actor` may (workflow.TransitionRefused otherwise).

    `actor` None is the support team acting from the CLI.
    """
    now = now or utcnow()
    move = workflow.check(ticket.status, to, actor.role if actor else workflow.AGENT,
                          resolved_at=ticket.resolved_at, reopen_days=settings.reopen_days, now=now)
    with _writing(session):
        event = _change_status(session, settings, ticket, actor, move.target, now,
                               reopened=move.reopen_window and not is_agent(actor) and actor is not None)
    return event


def _change_status(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
                   target: workflow.Status, now: dt.datetime, reopened: bool = False) -> TicketEvent:
    old = ticket.status
    _record_breaches(session, ticket, now)
    ticket.status = target.name
    ticket.updated_at = now
    if target is workflow.RESOLVED:
        ticket.resolved_at = now
    clock.status_changed(ticket, for_forms(settings.forms_dir), old, target.name, now, reopened=reopened)
    if actor is None or is_agent(actor):  # the support team (the CLI is the team too)
        _agent_acted(ticket)
        if target in (workflow.WAITING_FOR_CUSTOMER, workflow.RESOLVED):
            clock.responded(ticket, now)  # asking the customer, or resolving, answers them
    elif reopened:
        ticket.reopened_at = now
    event = TicketEvent(ticket=ticket, kind=STATUS, author_id=actor.id if actor else None, author=actor,
                        old_status=old, new_status=target.name, created_at=now)
    session.add(event)
    session.flush()
    _notify(session, settings, "status_changed", ticket, actor, old=old, new=target.name)
    if target is workflow.CLOSED:
        from kbgen.tickets import ratings

        ratings.ask(session, settings, ticket)  # the requester is asked, once, how we did
    return event


def assign(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
           assignee: User | None) -> TicketEvent:
    """Give the ticket to an agent (or to nobody); kept in the timeline, shown to agents only."""
    _may_assign(actor)
    if assignee is not None and not is_agent(assignee):
        raise CommentRejected(f"{assignee.email} is not on the support team; assign the request to an agent.",
                              field="assignee")
    with _writing(session):
        now = utcnow()
        ticket.assignee_id = assignee.id if assignee else None
        ticket.assignee = assignee
        ticket.updated_at = now
        _agent_acted(ticket)
        event = TicketEvent(ticket=ticket, kind=ASSIGNED, internal=True, author_id=actor.id if actor else None,
                            author=actor, title=f"Assigned to {assignee.display_name}" if assignee
                            else "Unassigned", created_at=now)
        session.add(event)
    return event


def assign_to(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
              wanted: str | int | None) -> TicketEvent:
    """assign() to the user `wanted` names (an email or an id; None or "" unassigns), as the API and CLI take it."""
    _may_assign(actor)  # before looking anyone up: a customer learns nothing about who exists
    assignee = None
    if wanted not in (None, ""):
        text = str(wanted).strip()
        assignee = user_named(session, text, "assignee")
        if assignee is None:
            raise CommentRejected(f"No user {text!r}; give an agent's email or id.", field="assignee")
    return assign(session, settings, ticket, actor, assignee)


def _may_assign(actor: User | None) -> None:
    if actor is not None and not is_agent(actor):
        raise NotAllowed("Only the support team assigns requests.")


def change_priority(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
                    priority: str) -> TicketEvent:
    """An agent sets another priority: new targets from now on (the time used still counts), a timeline
    event the customer sees, and an email to them."""
    from kbgen.forms import PRIORITIES

    _may_assign(actor)
    wanted = str(priority or "").strip().lower()
    chosen = next((p for p in PRIORITIES if wanted in (p.slug, p.name.lower())), None)
    if chosen is None:
        raise CommentRejected(f"Unknown priority {str(priority)[:40]!r}; use one of: "
                              + ", ".join(p.name for p in PRIORITIES) + ".", field="priority")
    if ticket.status == workflow.FINAL.name:
        raise TicketClosed(closed_message(ticket), new_request_url=new_request_url(ticket), related_key=ticket.key)
    old = next((p for p in PRIORITIES if p.slug == ticket.priority), None)
    if old is chosen:
        raise CommentRejected(f"The priority is already {chosen.name}.", field="priority")
    with _writing(session):
        now = utcnow()
        _record_breaches(session, ticket, now)
        ticket.priority = chosen.slug
        ticket.updated_at = now
        clock.priority_changed(ticket, for_forms(settings.forms_dir), old.slug if old else "", now)
        _agent_acted(ticket)
        event = TicketEvent(ticket=ticket, kind=PRIORITY, author_id=actor.id if actor else None, author=actor,
                            title=f"Priority changed from {old.name if old else ticket.priority} to {chosen.name}",
                            created_at=now)
        session.add(event)
        session.flush()
        _notify(session, settings, "priority_changed", ticket, actor, old=old.name if old else "", new=chosen.name)
    return event


def record_breaches(session: Session, now: dt.datetime | None = None, limit: int = 500) -> int:
    """The periodic sweep: record every target missed since the last sweep (an internal timeline event
    each, for the support team); returns how many. Safe to run from several processes at once."""
    now = now or utcnow()
    unrecorded = or_(and_(Ticket.response_due_at <= now, Ticket.response_breached_at.is_(None)),
                     and_(Ticket.resolution_due_at <= now, Ticket.resolution_breached_at.is_(None)))
    due = select(Ticket).where(Ticket.sla_due_at <= now, unrecorded).order_by(Ticket.sla_due_at).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=Ticket)
    count = 0
    with _writing(session):
        for ticket in session.scalars(due).unique().all():
            count += _record_breaches(session, ticket, now)
    return count


def _record_breaches(session: Session, ticket: Ticket, now: dt.datetime) -> int:
    found = clock.breaches(ticket, now)
    for breach in found:
        said = f"It was due {dates.when(breach.due_at)}."
        session.add(TicketEvent(ticket=ticket, kind=SLA_BREACH, internal=True, title=breach.title, body=said,
                                html=plain_text_html(said), created_at=now))
    return len(found)


def _agent_acted(ticket: Ticket) -> None:
    """Any action of the support team on a reopened ticket takes its "reopened" flag away."""
    ticket.reopened_at = None


def auto_close_on(ticket: Ticket, settings: Settings) -> dt.datetime | None:
    """When a Resolved ticket closes by itself (settings.auto_close_days without an answer), or None."""
    if ticket.status != workflow.RESOLVED.name or ticket.resolved_at is None or settings.auto_close_days <= 0:
        return None
    return ticket.resolved_at + dt.timedelta(days=settings.auto_close_days)


def auto_close(session: Session, settings: Settings, now: dt.datetime | None = None, limit: int = 200) -> int:
    """The periodic sweep: close the Resolved tickets nobody answered for settings.auto_close_days (the
    customer was told the date on the ticket page). The timeline names no person: it closed by itself.
    Returns how many closed; safe to run from several processes at once."""
    if settings.auto_close_days <= 0:
        return 0
    now = now or utcnow()
    due = (select(Ticket).where(Ticket.status == workflow.RESOLVED.name,
                                Ticket.resolved_at <= now - dt.timedelta(days=settings.auto_close_days))
           .order_by(Ticket.resolved_at).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=Ticket)
    closed = 0
    with _writing(session):
        for ticket in session.scalars(due).unique().all():
            _change_status(session, settings, ticket, None, workflow.CLOSED, now)
            closed += 1
    return closed
