"""Ticket keys: a product's prefix and a number, XC-42; numbered per prefix, never twice.

KEY_PATTERN and page_url are the one definition of what a key looks like and where its page is
(the service's /requests/<KEY>/ route and the requests pages' script both follow them).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the static build reads the key's pattern and page without loading the database layer
    from sqlalchemy.orm import Session

KEY_PATTERN = r"[A-Za-z]{1,10}-[0-9]{1,10}"
PAGE_PATH = "requests/{key}/"  # relative to the site root


def format_key(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def page_url(key: str) -> str:
    """The ticket page, relative to the site root."""
    return PAGE_PATH.format(key=key)


def next_number(session: Session, prefix: str) -> int:
    """Reserve the next number of a prefix inside the caller's transaction.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before
    reading, so two concurrent intakes can never get the same number.
    """
    from sqlalchemy import update

    from kbgen.tickets.models import KeyCounter

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
