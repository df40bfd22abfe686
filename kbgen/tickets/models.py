"""What a ticket is in the database: the ticket, its timeline, its files, its consents, its key counters.

Times are naive UTC, as everywhere in the database (SQLite drops time zones).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kbgen.accounts import Organization, User
from kbgen.db import Base, utcnow
from kbgen.forms.fields import SUMMARY_MAX_LENGTH as MAX_SUMMARY  # one limit: forms cap summaries at it
from kbgen.tickets import keys, workflow

MAX_FILENAME = 200

# Timeline entry kinds
CREATED = "created"
COMMENT = "comment"
NOTE = "note"  # internal: agents only, on every page, API answer and email
STATUS = "status"
ASSIGNED = "assigned"
AUTOMATION = "automation"
AUTOMATION_FAILED = "automation_failed"
PRIORITY = "priority"  # an agent changed the priority (the customer sees it)
SLA_BREACH = "sla_breach"  # internal: a response or resolution target was missed
RATING = "rating"  # internal: the requester rated the closed request
EVENT_KINDS = (CREATED, COMMENT, NOTE, STATUS, ASSIGNED, AUTOMATION, AUTOMATION_FAILED, PRIORITY, SLA_BREACH, RATING)


class KeyCounter(Base):
    """The last number given out per key prefix; one row per product, updated in place."""

    __tablename__ = "ticket_key_counters"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (
        UniqueConstraint("requester_id", "idempotency_key", name="uq_tickets_requester_idempotency"),
        # The requests list: one organization's tickets, filtered, newest first.
        Index("ix_tickets_org_created", "organization_id", "created_at"),
        # Text search scans one organization's keys and summaries: from this index alone, not the rows.
        Index("ix_tickets_org_search", "organization_id", "created_at", "key", "summary"),
        Index("ix_tickets_org_status_created", "organization_id", "status", "created_at"),
        Index("ix_tickets_org_requester_created", "organization_id", "requester_id", "created_at"),
        Index("ix_tickets_org_product_created", "organization_id", "product", "created_at"),
        Index("ix_tickets_org_updated", "organization_id", "updated_at"),
        Index("ix_tickets_status_created", "status", "created_at"),
        Index("ix_tickets_created", "created_at"),
        # The team's queues (kbgen/tickets/views.py) read a page in due-time order from these, narrowed
        # by assignee or product; what changed lately (live pages); the reopened flag.
        Index("ix_tickets_sla_due", "sla_due_at", "status", "response_breached_at", "resolution_breached_at"),
        # (The status rides along so a view's count is read from the index alone.)
        Index("ix_tickets_assignee_due", "assignee_id", "sla_due_at", "status"),
        Index("ix_tickets_product_due", "product", "sla_due_at", "status"),
        Index("ix_tickets_status_due", "status", "sla_due_at"),
        Index("ix_tickets_status_updated", "status", "updated_at"),
        Index("ix_tickets_updated", "updated_at"),
        Index("ix_tickets_reopened", "reopened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(20), unique=True)
    number: Mapped[int] = mapped_column(Integer)
    product: Mapped[str] = mapped_column(String(40))  # catalog slug
    request_type: Mapped[str] = mapped_column(String(80))
    priority: Mapped[str] = mapped_column(String(40))
    summary: Mapped[str] = mapped_column(String(MAX_SUMMARY))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(40))  # a workflow.Status name
    values: Mapped[dict] = mapped_column(JSON, default=dict)  # every field as entered, by field name
    organization_id: Mapped[int] = mapped_column(ForeignKey(Organization.id))
    requester_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey(User.id), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(100))
    related_key: Mapped[str | None] = mapped_column(String(20))  # the closed request this one follows up
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Service levels (kbgen/sla/clock.py): due times of the running clocks, the resolution time left
    # while paused, when each target was missed, and the earliest running due time (queues sort by it).
    first_response_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    response_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution_remaining: Mapped[int | None] = mapped_column(Integer)  # working seconds, negative when overdue
    response_breached_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    resolution_breached_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    sla_due_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # NO_DUE (9999-12-31) when none runs
    # The customer reopened it and no agent has acted since: flagged in the queues.
    reopened_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    organization: Mapped[Organization] = relationship(Organization, lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(User, foreign_keys=[requester_id], lazy="joined", innerjoin=True)
    assignee: Mapped[User | None] = relationship(User, foreign_keys=[assignee_id], lazy="joined")
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="ticket", order_by="Attachment.id", cascade="all, delete-orphan")
    consents: Mapped[list["TicketConsent"]] = relationship(
        back_populates="ticket", order_by="TicketConsent.id", cascade="all, delete-orphan")
    watchers: Mapped[list["Watcher"]] = relationship(
        back_populates="ticket", order_by="Watcher.id", cascade="all, delete-orphan")
    rating: Mapped["Rating | None"] = relationship(back_populates="ticket", cascade="all, delete-orphan",
                                                   uselist=False)

    @property
    def url(self) -> str:
        """The ticket page, relative to the site root."""
        return keys.page_url(self.key)

    @property
    def status_info(self) -> workflow.Status:
        return workflow.find_status(self.status)

    def __repr__(self) -> str:
        return f"<Ticket {self.key} {self.status!r}>"


class TicketEvent(Base):
    """One entry of a ticket's timeline: a comment, an internal note, a status change, an automation."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id, ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    author_id: Mapped[int | None] = mapped_column(ForeignKey(User.id))
    title: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown source as written, or plain text
    html: Mapped[str] = mapped_column(Text, default="")  # body rendered safely, once, when written
    old_status: Mapped[str | None] = mapped_column(String(40))
    new_status: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship(User, lazy="joined")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="event", order_by="Attachment.id")


class Attachment(Base):
    """A file sent with a ticket or a comment; stored under a random name outside the web root."""

    __tablename__ = "ticket_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id, ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey(TicketEvent.id, ondelete="CASCADE"), index=True)
    field: Mapped[str | None] = mapped_column(String(80))  # the form field it was attached to, if any
    filename: Mapped[str] = mapped_column(String(MAX_FILENAME))  # as the customer named it, for display only
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    content_type: Mapped[str] = mapped_column(String(120), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="attachments")
    event: Mapped[TicketEvent | None] = relationship(back_populates="attachments")

    @property
    def internal(self) -> bool:
        return bool(self.event is not None and self.event.internal)


class TicketConsent(Base):
    """A consent accepted on the form (e.g. XCALLY server access): which text version, by whom, when."""

    __tablename__ = "ticket_consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id, ondelete="CASCADE"), index=True)
    field: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    text_sha256: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="consents")
    user: Mapped[User] = relationship(User, lazy="joined")


class Watcher(Base):
    """Someone of the ticket's organization who follows it and gets its notifications (the requester
    follows without a row)."""

    __tablename__ = "ticket_watchers"
    __table_args__ = (UniqueConstraint("ticket_id", "user_id", name="uq_ticket_watchers"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id, ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="watchers")
    user: Mapped[User] = relationship(User, lazy="joined")


class Rating(Base):
    """The requester's satisfaction with a closed request: 1 to 5, with an optional comment; once."""

    __tablename__ = "ticket_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey(Ticket.id, ondelete="CASCADE"), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="rating")
