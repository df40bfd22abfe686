"""How many account emails strangers can make the portal send: password resets and sign-up checks.

Counted from the audit log (kbgen/accounts/audit.py), which records each such email with its address
and the client's: at most settings.account_emails_per_hour per address (so nobody floods one inbox)
and settings.account_emails_per_client_per_hour per client address, within the last hour. Past a
limit the request gets the same neutral answer and no email; nothing else is refused, so strangers
can hold back an owner's next reset email for an hour at most, never their sign-in or a link
already sent. Requests for addresses without an account send nothing and are not counted.
"""
from __future__ import annotations

import datetime as dt
import zlib

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from kbgen.accounts.audit import AuditEvent
from kbgen.accounts.models import AccountToken
from kbgen.db import utcnow
from kbgen.settings import Settings

WINDOW = dt.timedelta(hours=1)
# The audit actions that each stand for one email sent to an address a stranger could type.
COUNTED = ("password.reset_requested", "signup.requested")
_LOCK_SPACE = zlib.crc32(b"kbgen.account_emails") - 2**31  # advisory lock namespace, a signed int4


def _serialize(db: Session, keys: list[str]) -> None:
    """Make concurrent requests for the same keys count one after the other until the caller commits:
    an advisory lock per key on PostgreSQL; on SQLite a write statement, which takes the database's
    write lock (matching no row, it changes nothing)."""
    if db.get_bind().dialect.name == "postgresql":
        for key in sorted(set(keys)):  # one order everywhere: no deadlocks
            db.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                       {"space": _LOCK_SPACE, "key": zlib.crc32(key.encode()) - 2**31})
    else:
        db.execute(update(AccountToken).where(AccountToken.id == -1).values(email=AccountToken.email)
                   .execution_options(synchronize_session=False))


def may_send(db: Session, settings: Settings, *, email: str, client: str | None,
             now: dt.datetime | None = None) -> bool:
    """Whether one more account email to `email` asked from `client` is within the hourly limits.
    Call it in the transaction that then records the email's audit event, right before."""
    now = now or utcnow()
    keys = ["email:" + email] + (["client:" + client] if client else [])
    _serialize(db, keys)
    since = now - WINDOW
    recent = select(func.count(AuditEvent.id)).where(AuditEvent.action.in_(COUNTED), AuditEvent.at > since)
    if (db.scalar(recent.where(AuditEvent.target == email)) or 0) >= settings.account_emails_per_hour:
        return False
    if client and (db.scalar(recent.where(AuditEvent.client == client[:64])) or 0) \
            >= settings.account_emails_per_client_per_hour:
        return False
    return True
