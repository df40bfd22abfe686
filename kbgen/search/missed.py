"""What customers could not find: searches that returned nothing, counted per wording.

Only the normalised query text is kept, with a count and when it was last seen: no
user, address, session or timestamp per search. Email addresses and long numbers
(phone, order or ticket numbers) are replaced before anything is stored.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import DateTime, Integer, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kbgen.db import Base, utcnow

MAX_STORED = 200

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")
_LONG_NUMBER = re.compile(r"\+?\d[\d ()./-]{3,}\d")  # phone, order and ticket numbers: 5+ characters
_SPACE = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text; none is worth keeping


class MissedSearch(Base):
    __tablename__ = "search_misses"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(MAX_STORED), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(), index=True)


@dataclass(frozen=True)
class Miss:
    query: str
    count: int
    last_seen: dt.datetime


def normalize(query: str) -> str:
    """The form a missed query is stored and counted in: lowercase, no personal data."""
    text = _EMAIL.sub("[email]", _CONTROL.sub(" ", query))
    text = _IPV4.sub("[ip]", text)
    text = _LONG_NUMBER.sub(lambda m: "[number]" if sum(c.isdigit() for c in m.group()) >= 5 else m.group(), text)
    text = _SPACE.sub(" ", text).strip().lower()
    return text[:MAX_STORED]


def record(session: Session, query: str, when: dt.datetime | None = None) -> None:
    """Count one search that found nothing (commits)."""
    text = normalize(query)
    if not text:
        return
    when = when or utcnow()
    bump = (update(MissedSearch).where(MissedSearch.query == text)
            .values(count=MissedSearch.count + 1, last_seen=when))
    if session.execute(bump).rowcount == 0:
        session.add(MissedSearch(query=text, count=1, last_seen=when))
        try:
            session.commit()
            return
        except IntegrityError:  # another request inserted the same query first
            session.rollback()
            session.execute(bump)
    session.commit()


def top(session: Session, limit: int = 20, since: dt.datetime | None = None) -> list[Miss]:
    """The most frequent missed queries (last seen since `since`), most frequent first."""
    statement = select(MissedSearch)
    if since is not None:
        statement = statement.where(MissedSearch.last_seen >= since)
    statement = statement.order_by(MissedSearch.count.desc(), MissedSearch.last_seen.desc()).limit(limit)
    return [Miss(row.query, row.count, row.last_seen) for row in session.scalars(statement)]
