"""The tables of readers' feedback: votes on articles and the steps that preceded a request."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kbgen.db import Base
from kbgen.feedback.articles import MAX_PATH

MAX_COMMENT = 1000
MAX_STEP_TEXT = 300


class ArticleVote(Base):
    """One "Was this helpful?" answer. `client_hash` (a keyed hash of the client's address) exists only
    for the rate limit: it is erased once the limit's window has passed."""

    __tablename__ = "article_votes"
    __table_args__ = (Index("ix_article_votes_client", "client_hash", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path: Mapped[str] = mapped_column(String(MAX_PATH), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    client_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(), index=True)


class JourneyStep(Base):
    """A search or an article view the requester's browser saw before it opened the request."""

    __tablename__ = "ticket_journey_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "search" or "article"
    text: Mapped[str] = mapped_column(String(MAX_STEP_TEXT))  # the normalised query, or the article's path
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime())
