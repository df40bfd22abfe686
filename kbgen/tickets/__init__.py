"""Tickets: what a customer asked, who asked, and everything that happened to it since.

Plain functions over a SQLAlchemy session; the HTTP router (kbgen/web/tickets.py)
and the CLI (kbgen/tickets_cli.py) are thin adapters over them.  Every function
that changes a ticket queues its notifications in the same transaction and
commits it, so a change and its emails exist together or not at all.

Times are naive UTC, as everywhere in the database (SQLite drops time zones).
"""
from __future__ import annotations

import datetime as dt
import html
import os
import re
import secrets
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Sequence
from urllib.parse import urlsplit

import markdown
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor
from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        func, or_, select, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from kbgen.tickets import filetypes, workflow
from kbgen.accounts import Organization, User
from kbgen.site.catalog import PRODUCTS, find_product, product_by_slug
from kbgen.db import Base
from kbgen.settings import Settings

MAX_SUMMARY = 255
MAX_COMMENT_CHARS = 20_000
MAX_FILENAME = 200
MAX_PER_PAGE = 100

# Timeline entry kinds
CREATED = "created"
COMMENT = "comment"
NOTE = "note"  # internal: agents only, on every page, API answer and email
STATUS = "status"
ASSIGNED = "assigned"
AUTOMATION = "automation"
AUTOMATION_FAILED = "automation_failed"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


# -- models -----------------------------------------------------------------------------------


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

    organization: Mapped[Organization] = relationship(Organization, lazy="joined", innerjoin=True)
    requester: Mapped[User] = relationship(User, foreign_keys=[requester_id], lazy="joined", innerjoin=True)
    assignee: Mapped[User | None] = relationship(User, foreign_keys=[assignee_id], lazy="joined")
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan")
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="ticket", order_by="Attachment.id", cascade="all, delete-orphan")
    consents: Mapped[list["TicketConsent"]] = relationship(
        back_populates="ticket", order_by="TicketConsent.id", cascade="all, delete-orphan")

    @property
    def url(self) -> str:
        """The ticket page, relative to the site root."""
        return f"requests/{self.key}/"

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


# -- errors -----------------------------------------------------------------------------------


class TicketError(Exception):
    """A refusal the user can act on; `status` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, message: str, **extra: Any):
        super().__init__(message)
        self.message = message
        self.extra = extra


class TicketNotFound(TicketError):
    status = 404


class AttachmentRejected(TicketError):
    status = 413


class CommentRejected(TicketError):
    status = 422


class NotAllowed(TicketError):
    status = 403


class TicketClosed(TicketError):
    status = 409


# -- safe Markdown ----------------------------------------------------------------------------

# kbgen.markup is the one place user text becomes HTML; these names stay importable from here.
from kbgen.tickets.markup import plain_text_html, render_markdown  # noqa: E402,F401

_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")  # control characters and spaces, for file names


# -- attachments --------------------------------------------------------------------------------


@dataclass
class Upload:
    """A file as received: the adapter passes an open binary file, we copy it into storage."""

    filename: str
    file: BinaryIO
    content_type: str = "application/octet-stream"
    field: str | None = None
    size: int | None = None  # when the adapter knows it already


@dataclass
class _Stored:
    upload: Upload
    stored_name: str
    size: int
    path: Path


def _clean_filename(name: str) -> str:
    base = re.split(r"[\\/]", name or "")[-1]
    base = _INVISIBLE.sub(" ", base).strip() or "attachment"
    return base[:MAX_FILENAME]


def check_upload_limits(settings: Settings, uploads: Sequence[Upload]) -> None:
    if len(uploads) > settings.max_attachments:
        raise AttachmentRejected(
            f"{len(uploads)} files attached; at most {settings.max_attachments} are accepted per submission. "
            "Attach fewer files, or put them in one archive.")
    for upload in uploads:
        if upload.size is not None and upload.size > settings.max_attachment_bytes:
            raise AttachmentRejected(_too_large(upload, settings))


def _too_large(upload: Upload, settings: Settings) -> str:
    limit = settings.max_attachment_bytes
    return (f"'{_clean_filename(upload.filename)}' is larger than {_human(limit)}, the limit per file. "
            "Compress it or split it, and attach it again.")


def _human(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:g} {unit}" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1024
    return str(size)


class AttachmentNotAccepted(TicketError):
    """A file of a type its field (or comments) does not take; names the file, the field and the list."""

    status = 422


def _accept_lists(settings: Settings, submission: Any) -> dict[str, tuple[str, tuple[str, ...]]]:
    """(label, accept list) of each attachments field of the submission's form, by field name."""
    from kbgen.forms import FormDefinitionError, load_catalog

    folder = Path(settings.forms_dir)
    try:
        # The forms are read once, and again only when a definition file changes.
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))
        cached = _FORMS.get(folder)
        if cached is None or cached[0] != stamp:
            cached = _FORMS[folder] = (stamp, load_catalog(folder))
    except (OSError, FormDefinitionError):
        return {}  # then every file gets the default list: never more than a form would take
    rtype = cached[1].request_type(getattr(submission, "product", None), getattr(submission, "request_type", None))
    return {f.name: (f.label, f.accept) for f in (rtype.fields.values() if rtype else ()) if f.type == "attachments"}


_FORMS: dict[Path, tuple[tuple, Any]] = {}


def _where(upload: Upload, fields: dict[str, tuple[str, tuple[str, ...]]] | None) -> tuple[str, str, tuple[str, ...]]:
    """(input name for errors, how a message names the place, accepted types) of one upload."""
    if fields is None:
        return "files", "a comment (files)", filetypes.DEFAULT_ACCEPT
    if upload.field in fields:
        label, accept = fields[upload.field]
        return f"files.{upload.field}", f"\u201c{label}\u201d (files.{upload.field})", accept
    return f"files.{upload.field}", f"files.{upload.field}", filetypes.DEFAULT_ACCEPT


def _not_accepted(upload: Upload, where: tuple[str, str, tuple[str, ...]], reason: str) -> AttachmentNotAccepted:
    field, place, accept = where
    name = _clean_filename(upload.filename)
    listed = ", ".join(accept) if accept else "any file that is not a program, a script or a web page"
    message = (f"'{name}' cannot be attached to {place}: {reason}. It accepts {listed}; "
               "attach a file of one of those types.")
    # The web layer turns `field` into the answer's errors: [{field, message}].
    return AttachmentNotAccepted(message, field=field, filename=name, accepted=list(accept))


def _not_text(upload: Upload, where: tuple[str, str, tuple[str, ...]], why: str) -> AttachmentNotAccepted:
    ext = filetypes.extension(_clean_filename(upload.filename))
    return _not_accepted(upload, where, f"it is named {ext} but its content is not text; {why}")


def _read_head(upload: Upload) -> bytes:
    head = b""
    while len(head) < filetypes.HEAD_BYTES and (chunk := upload.file.read(filetypes.HEAD_BYTES - len(head))):
        head += chunk
    return head


def _fsync(fd: int) -> None:
    import fcntl

    if hasattr(fcntl, "F_FULLFSYNC"):  # macOS: plain fsync leaves the data in the drive's cache
        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    else:
        os.fsync(fd)


def _fsync_dir(folder: Path) -> None:
    """Make the folder's entries (a new file's name) survive power loss, not only its data."""
    if os.name == "nt":  # Windows cannot open a folder to flush it; NTFS journals the names itself
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        _fsync(fd)
    finally:
        os.close(fd)


def _attachments_folder(settings: Settings) -> Path:
    folder = settings.attachments_dir
    if not folder.is_dir():
        created = [p for p in (folder, *folder.parents) if not p.exists()]
        folder.mkdir(parents=True, exist_ok=True)
        for path in created:
            _fsync_dir(path.parent)
    return folder


def _store_files(settings: Settings, uploads: Sequence[Upload], submission: Any = None) -> list[_Stored]:
    """Copy uploads into the attachments folder, durably, once each type is accepted.

    `submission` (a validated form) gives each upload its field's accept list; without
    one (comments) the uploads get filetypes.DEFAULT_ACCEPT.  Every file is checked
    before any is written, so a refused file leaves nothing behind; text is checked to
    its last byte while it is copied.  The files and their folder are fsynced here, before
    the caller commits the rows that point at them.
    """
    check_upload_limits(settings, uploads)
    if not uploads:
        return []
    fields = _accept_lists(settings, submission) if submission is not None else None
    checked = []
    for upload in uploads:
        where = _where(upload, fields)
        head = _read_head(upload)
        kind, refusal = filetypes.check(_clean_filename(upload.filename), head, where[2])
        if refusal is not None:
            raise _not_accepted(upload, where, refusal.reason)
        checked.append((upload, where, head, filetypes.TextCheck() if kind is not None and kind.text else None))
    folder = _attachments_folder(settings)
    stored: list[_Stored] = []
    try:
        for upload, where, head, text in checked:
            name = secrets.token_hex(20)
            path = folder / name
            size = 0
            with open(path, "xb") as out:
                stored.append(_Stored(upload, name, 0, path))  # from here on, _discard removes it
                chunk = head
                while chunk:
                    size += len(chunk)
                    if size > settings.max_attachment_bytes:
                        raise AttachmentRejected(_too_large(upload, settings))
                    if text is not None and not text.feed(chunk):
                        raise _not_text(upload, where, "it holds binary or control bytes")
                    out.write(chunk)
                    chunk = upload.file.read(1024 * 1024)
                if text is not None and not text.feed(b"", final=True):
                    raise _not_text(upload, where, "it ends in the middle of a character")
                out.flush()
                _fsync(out.fileno())
            stored[-1].size = size
        _fsync_dir(folder)
    except BaseException:
        _discard(stored)
        raise
    return stored


def _discard(stored: Iterable[_Stored]) -> None:
    for item in stored:
        item.path.unlink(missing_ok=True)


def _attachment_rows(stored: Sequence[_Stored], ticket: Ticket, user: User,
                     event: TicketEvent | None = None) -> list[Attachment]:
    return [Attachment(ticket=ticket, event=event, field=item.upload.field,
                       filename=_clean_filename(item.upload.filename), stored_name=item.stored_name,
                       content_type=(item.upload.content_type or "application/octet-stream")[:120],
                       size=item.size, uploaded_by_id=user.id)
            for item in stored]


def attachment_path(settings: Settings, attachment: Attachment) -> Path:
    return settings.attachments_dir / attachment.stored_name


# -- keys -------------------------------------------------------------------------------------


def _next_number(session: Session, prefix: str) -> int:
    """Reserve the next number of a prefix inside the caller's transaction.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before
    reading, so two concurrent intakes can never get the same number.
    """
    counters = KeyCounter.__table__  # Core, not the ORM: this runs once per ticket and needs no objects
    bump = (update(counters).where(counters.c.prefix == prefix)
            .values(last_number=counters.c.last_number + 1).returning(counters.c.last_number))
    number = session.connection().execute(bump).scalar()
    if number is None:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        session.connection().execute(insert(counters).values(prefix=prefix, last_number=0).on_conflict_do_nothing())
        number = session.connection().execute(bump).scalar_one()
    return number


# -- reading ----------------------------------------------------------------------------------


def is_agent(user: User | None) -> bool:
    return user is not None and user.role == workflow.AGENT


def sees_everything(viewer: User | None) -> bool:
    """Agents, and None: the support team at the command line, trusted by having the database."""
    return viewer is None or is_agent(viewer)


def get_ticket(session: Session, viewer: User | None, key: str) -> Ticket:
    """The ticket, if `viewer` may see it; another organization's ticket is 'not found', never 'forbidden'."""
    query = select(Ticket).where(Ticket.key == str(key).strip().upper())
    if not sees_everything(viewer):
        query = query.where(Ticket.organization_id == viewer.organization_id)
    ticket = session.scalars(query).first()
    if ticket is None:
        raise TicketNotFound(f"No request {key} here. Check the key, or sign in with the account that opened it.")
    return ticket


def visible_events(ticket: Ticket, viewer: User | None) -> list[TicketEvent]:
    return [e for e in ticket.events if sees_everything(viewer) or not e.internal]


def visible_attachments(ticket: Ticket, viewer: User | None) -> list[Attachment]:
    return [a for a in ticket.attachments if sees_everything(viewer) or not a.internal]


def get_attachment(session: Session, viewer: User, key: str, attachment_id: int) -> Attachment:
    ticket = get_ticket(session, viewer, key)
    for attachment in visible_attachments(ticket, viewer):
        if attachment.id == attachment_id:
            return attachment
    raise TicketNotFound(f"No attachment {attachment_id} on request {ticket.key}.")


SORTS = {
    "created": (Ticket.created_at, Ticket.id),
    "updated": (Ticket.updated_at, Ticket.id),
    "key": (Ticket.product, Ticket.number),
    "status": (Ticket.status, Ticket.id),
    "priority": (Ticket.priority, Ticket.id),
    "summary": (Ticket.summary, Ticket.id),
}


@dataclass
class TicketFilter:
    status: list[str] = field(default_factory=list)  # names or slugs
    product: list[str] = field(default_factory=list)  # names or slugs
    priority: list[str] = field(default_factory=list)
    requester: list[str] = field(default_factory=list)  # user ids or emails
    mine: bool = False
    organization: int | None = None  # agents only: narrow to one organization
    assignee: str | None = None  # agents only: a user id or email, or "none"
    q: str = ""  # text in the key or the summary
    sort: str = "-created"  # a key of SORTS, '-' for descending
    page: int = 1
    per_page: int = 25


@dataclass
class TicketPage:
    items: list[Ticket]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


class FilterInvalid(TicketError):
    status = 422


# Ids are INTEGER columns, 32 bits on PostgreSQL, which casts a compared value to INTEGER and fails
# past this; a bigger number is nobody's id on either database.
MAX_ID = 2 ** 31 - 1
MAX_PAGE = 100_000
_ID = re.compile(r"[0-9]{1,10}")  # ASCII only: str.isdigit() is also true for '²', which int() refuses


def _user_ids(session: Session, values: Iterable[str], field: str = "requester") -> list[int]:
    ids, emails = [], []
    for value in values:
        value = str(value).strip()
        if _ID.fullmatch(value) and int(value) <= MAX_ID:
            ids.append(int(value))
        elif "@" in value:
            emails.append(value.lower())
        elif value:
            raise FilterInvalid(f"{field} {value[:40]!r} is neither a user id (digits 0-9, at most {MAX_ID}) "
                                "nor an email; give one of them", field=field)
    if emails:
        ids += session.scalars(select(User.id).where(func.lower(User.email).in_(emails))).all()
    return ids or [-1]


def _paging(value: Any, default: int, high: int, field: str) -> int:
    """A page number or size from any caller (the API checks its own first): whole, clamped to 1..high."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _ID.fullmatch(value))):
        raise FilterInvalid(f"{field} must be a whole number from 1 to {high} (digits 0-9)", field=field)
    return max(1, min(int(value), high))


def list_tickets(session: Session, viewer: User | None, filters: TicketFilter | None = None) -> TicketPage:
    """One page of the tickets `viewer` may see: their organization's, or every one for agents."""
    f = filters or TicketFilter()
    query = select(Ticket)
    if not sees_everything(viewer):
        query = query.where(Ticket.organization_id == viewer.organization_id)
    elif f.organization is not None:
        query = query.where(Ticket.organization_id == f.organization)
    if f.status:
        try:
            names = [workflow.find_status(s).name for s in f.status]
        except workflow.UnknownStatus as exc:
            raise FilterInvalid(str(exc), field="status") from None
        query = query.where(Ticket.status.in_(names))
    if f.product:
        slugs = []
        for value in f.product:
            product = find_product(value)
            if product is None:
                raise FilterInvalid(f"unknown product {value!r}; use one of: "
                                    + ", ".join(p.name for p in PRODUCTS), field="product")
            slugs.append(product.slug)
        query = query.where(Ticket.product.in_(slugs))
    if f.priority:
        query = query.where(Ticket.priority.in_([p.strip().lower() for p in f.priority]))
    if f.mine and viewer is not None:
        query = query.where(Ticket.requester_id == viewer.id)
    if f.requester:
        query = query.where(Ticket.requester_id.in_(_user_ids(session, f.requester)))
    if f.assignee and sees_everything(viewer):
        if f.assignee == "none":
            query = query.where(Ticket.assignee_id.is_(None))
        else:
            query = query.where(Ticket.assignee_id.in_(_user_ids(session, [f.assignee], "assignee")))
    text = (f.q or "").strip()[:200]
    if text:
        query = query.where(_text_match(session, text))
    sort = f.sort or "-created"
    descending = sort.startswith("-")
    columns = SORTS.get(sort.lstrip("-"))
    if columns is None:
        raise FilterInvalid(f"unknown sort {sort!r}; use one of: " + ", ".join(SORTS)
                            + " (prefix '-' for descending)", field="sort")
    per_page = _paging(f.per_page, 25, MAX_PER_PAGE, "per_page")
    page = _paging(f.page, 1, MAX_PAGE, "page")
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if total <= (page - 1) * per_page:  # nothing to show: spare the second scan (a search that found nothing)
        return TicketPage([], total, page, per_page)
    order = [c.desc() if descending else c.asc() for c in columns]
    items = session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)).unique().all()
    return TicketPage(list(items), total, page, per_page)


def _text_match(session: Session, text: str):
    """The key or the summary contains `text`, ignoring case."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if session.get_bind().dialect.name == "sqlite":
        # SQLite's LIKE already ignores (ASCII) case, as its lower() does: no function call per row.
        contains = lambda column: column.like(pattern, escape="\\")  # noqa: E731
    else:
        contains = lambda column: column.ilike(pattern, escape="\\")  # noqa: E731
    return or_(contains(Ticket.key), contains(Ticket.summary))


MAX_REQUESTER_CHOICES = 500


def requesters_of(session: Session, viewer: User) -> list[User]:
    """People whose tickets `viewer` can filter by: their organization's members (requesters, for agents)."""
    if sees_everything(viewer):
        # Every organization's requesters can be many: the first few hundred by name; the API takes any email.
        query = select(User).where(User.id.in_(select(Ticket.requester_id).distinct()))
    else:
        query = select(User).where(User.organization_id == viewer.organization_id)
    return list(session.scalars(query.order_by(User.name, User.email).limit(MAX_REQUESTER_CHOICES)).all())


def agents(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.role == workflow.AGENT).order_by(User.name)).all())


# -- changing ---------------------------------------------------------------------------------


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
                  related_key: str | None = None) -> tuple[Ticket, bool]:
    """Store a validated submission as a new ticket; (ticket, created).

    The same idempotency key from the same requester returns the first ticket
    (created False), even when both submissions race each other.  `requester`
    must have its organization loaded (accounts loads it with the user).
    """
    if requester.organization_id is None:
        raise NotAllowed("Your account belongs to no organization, so it cannot open requests. "
                         "Ask your administrator to add it to one.")
    idempotency_key = (idempotency_key or "").strip()[:100] or None
    product = find_product(submission.product) or product_by_slug(submission.product)
    related = None
    if related_key:
        related = session.scalars(select(Ticket.key).where(
            Ticket.key == related_key.strip().upper(),
            Ticket.organization_id == requester.organization_id)).first()
    stored = _store_files(settings, uploads, submission)
    try:
        with _writing(session):
            number = _next_number(session, product.key_prefix)
            now = utcnow()
            ticket = Ticket(
                key=f"{product.key_prefix}-{number}", number=number, product=product.slug,
                request_type=submission.request_type, priority=submission.priority,
                summary=str(submission.summary or "")[:MAX_SUMMARY],
                description=str(submission.description or ""), status=workflow.INITIAL.name,
                values=dict(submission.values or {}), organization_id=requester.organization_id,
                requester_id=requester.id, requester=requester, organization=requester.organization,
                idempotency_key=idempotency_key, related_key=related, created_at=now, updated_at=now)
            session.add(ticket)
            for consent in getattr(submission, "consents", None) or ():
                ticket.consents.append(TicketConsent(
                    field=consent.field, name=str(consent.name)[:200], version=str(consent.version)[:40],
                    text_sha256=consent.text_sha256, user_id=requester.id, accepted_at=now))
            ticket.attachments.extend(_attachment_rows(stored, ticket, requester))
            session.flush()
            _notify(session, settings, "ticket_created", ticket, requester)
    except IntegrityError:
        # A retry with a key already used: the unique constraint, not a look-up first, decides,
        # so two racing retries cannot both create a ticket and the usual case costs no query.
        _discard(stored)
        existing = _by_idempotency(session, requester, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing, False
    except BaseException:
        _discard(stored)
        raise
    return ticket, True


def _by_idempotency(session: Session, requester: User, key: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.requester_id == requester.id,
                                                Ticket.idempotency_key == key)).first()


def run_automations(session: Session, settings: Settings, ticket: Ticket) -> list[TicketEvent]:
    """Run the new-ticket automations and keep each outcome in the timeline, for agents only.

    Outcomes hold what the support team's tools found (server details, errors),
    as plain text.  kbgen.automations turns every failure into an outcome, so a
    broken automation is recorded and never undoes or blocks the ticket.
    """
    from kbgen.tickets.automations import run_new_ticket

    events = [TicketEvent(ticket_id=ticket.id, kind=AUTOMATION_FAILED if outcome.failed else AUTOMATION,
                          internal=True, title=str(outcome.title)[:200], body=str(outcome.body),
                          html=plain_text_html(str(outcome.body)))
              for outcome in run_new_ticket(session, settings, ticket)]
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
        raise TicketClosed(
            f"Request {ticket.key} is closed, so it takes no more comments. "
            "Open a new request that refers to it instead.",
            new_request_url=new_request_url(ticket), related_key=ticket.key)
    rendered = render_markdown(text)
    stored = _store_files(settings, uploads)
    try:
        with _writing(session):
            now = utcnow()
            event = TicketEvent(ticket=ticket, kind=NOTE if internal else COMMENT, internal=internal,
                                author_id=author.id, author=author, body=text, html=rendered, created_at=now)
            session.add(event)
            session.add_all(_attachment_rows(stored, ticket, author, event))
            ticket.updated_at = now
            session.flush()
            _notify(session, settings, "comment_added", ticket, author, comment=event)
            target = None if internal or is_agent(author) else workflow.on_customer_comment(ticket.status)
            if target is not None:
                _change_status(session, settings, ticket, author, target, now)
    except BaseException:
        _discard(stored)
        raise
    return event


def new_request_url(ticket: Ticket) -> str:
    """Where to open a follow-up of a closed request, relative to the site root."""
    return f"support/{ticket.product}/?related={ticket.key}"


def transition(session: Session, settings: Settings, ticket: Ticket, actor: User | None, to: str,
               *, now: dt.datetime | None = None) -> TicketEvent:
    """Move the ticket to status `to`, if `actor` may (workflow.TransitionRefused otherwise).

    `actor` None is the support team acting from the CLI.
    """
    now = now or utcnow()
    move = workflow.check(ticket.status, to, actor.role if actor else workflow.AGENT,
                          resolved_at=ticket.resolved_at, reopen_days=settings.reopen_days, now=now)
    with _writing(session):
        event = _change_status(session, settings, ticket, actor, move.target, now)
    return event


def _change_status(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
                   target: workflow.Status, now: dt.datetime) -> TicketEvent:
    old = ticket.status
    ticket.status = target.name
    ticket.updated_at = now
    if target is workflow.RESOLVED:
        ticket.resolved_at = now
    event = TicketEvent(ticket=ticket, kind=STATUS, author_id=actor.id if actor else None, author=actor,
                        old_status=old, new_status=target.name, created_at=now)
    session.add(event)
    session.flush()
    _notify(session, settings, "status_changed", ticket, actor, old=old, new=target.name)
    return event


def assign(session: Session, settings: Settings, ticket: Ticket, actor: User | None,
           assignee: User | None) -> TicketEvent:
    """Give the ticket to an agent (or to nobody); kept in the timeline, shown to agents only."""
    if actor is not None and not is_agent(actor):
        raise NotAllowed("Only the support team assigns requests.")
    if assignee is not None and not is_agent(assignee):
        raise CommentRejected(f"{assignee.email} is not on the support team; assign the request to an agent.",
                              field="assignee")
    with _writing(session):
        now = utcnow()
        ticket.assignee_id = assignee.id if assignee else None
        ticket.assignee = assignee
        ticket.updated_at = now
        event = TicketEvent(ticket=ticket, kind=ASSIGNED, internal=True, author_id=actor.id if actor else None,
                            author=actor, title=f"Assigned to {assignee.display_name}" if assignee
                            else "Unassigned", created_at=now)
        session.add(event)
    return event


# -- presenting -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnteredField:
    name: str
    label: str
    value: Any  # as stored: str, list of str, bool
    display: str  # what people read: option labels instead of values, consents with their version
    type: str = "text"


def entered_fields(ticket: Ticket, catalog: Any = None) -> list[EnteredField]:
    """What the customer entered, in the form's order with the form's labels.

    A field the form no longer defines is still shown, under its own name, so
    nothing a customer wrote disappears when a form changes.
    """
    values = dict(ticket.values or {})
    definition = catalog.request_type(ticket.product, ticket.request_type) if catalog is not None else None
    consents = {c.field: c for c in ticket.consents}
    shown: list[EnteredField] = []
    for form_field in (definition.fields.values() if definition is not None else ()):
        if form_field.name in values:
            value = values.pop(form_field.name)
            shown.append(EnteredField(form_field.name, form_field.label or form_field.name, value,
                                      _display(form_field, value, consents.get(form_field.name)), form_field.type))
    for name, value in values.items():
        shown.append(EnteredField(name, name.replace("_", " ").capitalize(), value, _display(None, value, None)))
    return shown


def _display(form_field: Any, value: Any, consent: TicketConsent | None) -> str:
    if consent is not None:
        return (f"Accepted by {consent.user.display_name} on {consent.accepted_at:%Y-%m-%d %H:%M} UTC "
                f"({consent.name}, version {consent.version})")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    items = value if isinstance(value, list) else [value]
    if form_field is not None and form_field.options:
        items = [form_field.option_label(str(v)) for v in items]
    return ", ".join(str(v) for v in items)


def person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.display_name, "email": user.email, "role": user.role}


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"
