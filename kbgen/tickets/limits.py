"""What the requests list may be asked for, and how long a comment may be: the facts about tickets that
the static pages and their scripts show, defined here without the database (kbgen.facts exports them,
and `kbgen build` does not load SQLAlchemy to read them).

kbgen/tickets/queries.py turns a sort name into its ticket columns and a TicketFilter into a query.
"""
from __future__ import annotations

from dataclasses import dataclass, field

MAX_PER_PAGE = 100
MAX_PAGE = 100_000
# Ids are INTEGER columns, 32 bits on PostgreSQL, which casts a compared value to INTEGER and fails
# past this; a bigger number is nobody's id on either database.
MAX_ID = 2 ** 31 - 1
COUNT_CAP = 10_000  # a list's total is exact up to here, then "10,000+" (TicketPage.more)
MAX_COMMENT_CHARS = 20_000

# The sorts, by name: the ticket columns they order by (kbgen.tickets.queries.SORTS holds the columns).
SORT_COLUMNS: dict[str, tuple[str, str]] = {
    "due": ("sla_due_at", "id"),  # earliest due first; requests with no running clock last (NO_DUE)
    "created": ("created_at", "id"),
    "updated": ("updated_at", "id"),
    "key": ("product", "number"),
    "status": ("status", "id"),
    "priority": ("priority", "id"),
    "summary": ("summary", "id"),
}

# The requests page's sort menu: (a key of SORT_COLUMNS, '-' for descending; what the menu says).
SORT_CHOICES: tuple[tuple[str, str], ...] = (
    ("-created", "Newest first"),
    ("due", "Due first"),
    ("created", "Oldest first"),
    ("-updated", "Recently updated"),
    ("key", "Key"),
    ("status", "Status"),
    ("priority", "Priority"),
)


@dataclass
class TicketFilter:
    status: list[str] = field(default_factory=list)  # names or slugs
    product: list[str] = field(default_factory=list)  # names or slugs
    priority: list[str] = field(default_factory=list)
    requester: list[str] = field(default_factory=list)  # user ids or emails
    mine: bool = False
    organization: int | None = None  # narrow to one organization (a partner: one of theirs)
    assignee: str | None = None  # agents only: a user id or email, or "none"
    q: str = ""  # text in the key or the summary
    view: str = ""  # agents: a queue of kbgen.tickets.views.VIEWS
    sort: str | None = "-created"  # a key of SORT_COLUMNS, '-' for descending; None: the view's order, else -created
    page: int = 1
    per_page: int = 25
