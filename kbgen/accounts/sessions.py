"""Sign-in sessions: the cookie token (only its hash is stored), its CSRF token and its expiry."""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from kbgen.accounts.models import LoginSession, Organization, User
from kbgen.accounts.cookies import CSRF_COOKIE, SESSION_COOKIE  # noqa: F401 - importable from here too
from kbgen.db import utcnow

_TOUCH_EVERY = dt.timedelta(minutes=5)  # one write per five minutes of activity, not per request


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def open_session(db: Session, user: User, now: dt.datetime | None = None) -> tuple[str, LoginSession]:
    """Start a session; returns the cookie token (shown once, never stored) and the stored row."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    login = LoginSession(token_hash=_digest(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                         created_at=now, last_seen_at=now)
    db.add(login)
    db.flush()
    return token, login


def find_session(db: Session, token: str | None, now: dt.datetime | None = None) -> LoginSession | None:
    """The live session for a cookie token; refreshes its idle clock now and then."""
    if not token or len(token) > 200:
        return None
    now = now or utcnow()
    # The organization's domains are the admin pages' business: not read on every request.
    login = db.scalar(select(LoginSession).where(LoginSession.token_hash == _digest(token))
                      .options(joinedload(LoginSession.user).joinedload(User.organization)
                               .lazyload(Organization.domains)))
    if login is None:
        return None
    if login.expired(now) or not login.user.can_sign_in:  # deactivated (or their organization) since
        db.delete(login)
        return None
    if now - login.last_seen_at > _TOUCH_EVERY:
        login.last_seen_at = now
    return login


def session_csrf_token(db: Session, token: str | None) -> str | None:
    login = find_session(db, token)
    return login.csrf_token if login else None


def close_session(db: Session, token: str | None) -> None:
    if token:
        db.execute(delete(LoginSession).where(LoginSession.token_hash == _digest(token)))


def end_sessions(db: Session, user_id: int, keep_token: str | None = None) -> int:
    """Sign a person out everywhere (but the browser whose cookie is `keep_token`); returns how many ended."""
    query = delete(LoginSession).where(LoginSession.user_id == user_id)
    if keep_token:
        query = query.where(LoginSession.token_hash != _digest(keep_token))
    return db.execute(query.execution_options(synchronize_session=False)).rowcount
