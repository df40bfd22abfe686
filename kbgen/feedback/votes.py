"""Readers' "Was this helpful?" votes: stored with an optional comment, rate-limited per client address.

Anyone may vote, signed in or not (the signed-in person's id is kept, for the support team to
follow up). A client address may vote VOTES_PER_WINDOW times per WINDOW: the limit lives in
the database, so it holds across replicas. The address is never stored: a keyed hash of it is,
and only for the window, after which the next vote erases it.

The browser sends the vote at once and the comment after (`add_comment`), proving it cast the
vote with the token `vote` returned (an HMAC of the vote's id: nothing more to store). A form
post without JavaScript sends both together.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import zlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from kbgen.db import utcnow
from kbgen.feedback.models import MAX_COMMENT, ArticleVote

__all__ = ["COMMENT_WINDOW", "MAX_COMMENT", "VOTES_PER_WINDOW", "WINDOW", "Refused", "Voted", "add_comment",
           "client_hash", "vote", "vote_token"]

VOTES_PER_WINDOW = 5
WINDOW = dt.timedelta(minutes=10)
COMMENT_WINDOW = dt.timedelta(hours=1)  # how long after voting the comment may follow
_LOCK_SPACE = zlib.crc32(b"kbgen.article_votes") - 2**31


class Refused(Exception):
    """A vote or comment the rules refuse: `status` is the HTTP status that says why."""

    def __init__(self, status: int, message: str, field: str = "", retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.retry_after = status, message, field, retry_after


@dataclass(frozen=True)
class Voted:
    id: int
    token: str


def client_hash(secret: str, address: str | None) -> str:
    return hmac.new(secret.encode(), b"article-votes:" + (address or "unknown").encode("utf-8", "replace"),
                    hashlib.sha256).hexdigest()


def vote_token(secret: str, vote_id: int) -> str:
    return hmac.new(secret.encode(), f"article-vote:{vote_id}".encode(), hashlib.sha256).hexdigest()


def clean_comment(comment: object) -> str:
    text_ = str(comment or "").replace("\r\n", "\n").strip()
    if len(text_) > MAX_COMMENT:
        raise Refused(422, f"The comment is longer than {MAX_COMMENT:,} characters; shorten it.", "comment")
    return text_


def vote(session: Session, *, secret: str, path: str, helpful: bool, comment: object = "",
         user_id: int | None = None, address: str | None = None, now: dt.datetime | None = None) -> Voted:
    """Store a vote (commits); Refused(429, retry_after=seconds) past the address's limit, storing nothing.

    Insert first, count second, under a lock per address (PostgreSQL: an advisory lock; SQLite:
    the write lock the insert takes), so a burst of concurrent votes cannot all pass the count."""
    now = now or utcnow()
    comment = clean_comment(comment)
    key = client_hash(secret, address)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                        {"space": _LOCK_SPACE, "key": int(key[:8], 16) - 2**31})
    # Addresses are kept no longer than the limit needs them.
    session.execute(update(ArticleVote).where(ArticleVote.client_hash.is_not(None),
                                              ArticleVote.created_at <= now - WINDOW).values(client_hash=None))
    row = ArticleVote(path=path, helpful=helpful, comment=comment, user_id=user_id, client_hash=key, created_at=now)
    session.add(row)
    session.flush()
    count, oldest = session.execute(
        select(func.count(ArticleVote.id), func.min(ArticleVote.created_at))
        .where(ArticleVote.client_hash == key, ArticleVote.created_at > now - WINDOW)).one()
    if count > VOTES_PER_WINDOW:
        session.execute(delete(ArticleVote).where(ArticleVote.id == row.id))
        session.commit()
        wait = max(1, int(((oldest or now) + WINDOW - now).total_seconds() + 0.999))
        raise Refused(429, "You have sent many votes in a short time, so this one was not kept; "
                           f"try again in {max(1, (wait + 59) // 60)} minute(s).",
                      retry_after=wait)
    session.commit()
    return Voted(row.id, vote_token(secret, row.id))


def add_comment(session: Session, *, secret: str, vote_id: int, token: str, comment: object,
                now: dt.datetime | None = None) -> ArticleVote:
    """Add the comment to a vote this browser cast (its token) within COMMENT_WINDOW, once (commits)."""
    now = now or utcnow()
    comment = clean_comment(comment)
    row = session.get(ArticleVote, vote_id)
    # Bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
    sent = str(token or "").encode("utf-8", "replace")
    if row is None or not hmac.compare_digest(sent, vote_token(secret, vote_id).encode()):
        raise Refused(404, "No such vote: send the id and token the vote's answer gave.", "token")
    if row.comment:
        raise Refused(409, "This vote has its comment already.")
    if row.created_at < now - COMMENT_WINDOW:
        raise Refused(409, "This vote is too old to comment on; vote again to add a comment.")
    if comment:
        row.comment = comment
        session.commit()
    return row
