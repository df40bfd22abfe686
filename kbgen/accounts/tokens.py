"""Single-use links sent by email: invitations, password resets, sign-up address checks.

The link carries a random token; the database keeps only its SHA-256 (AccountToken.token_hash),
so a leaked database opens no account. `issue()` makes one and returns the token to put in the
email (and nowhere else); `look_up()` finds the row of a token from a link whatever its state,
so the page can say plainly whether it was used, revoked or expired; `use()` marks it used.
"""
from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kbgen.accounts.models import AccountToken
from kbgen.accounts.sessions import _digest
from kbgen.db import utcnow

INVITATION, RESET, VERIFICATION = "invite", "reset", "verify"
PURPOSES = (INVITATION, RESET, VERIFICATION)
MAX_TOKEN_LENGTH = 100  # what a link may carry; anything longer is no token of ours


def issue(db: Session, purpose: str, *, email: str, lifetime: dt.timedelta, now: dt.datetime | None = None,
          **fields: Any) -> tuple[str, AccountToken]:
    """A new link's token (to email, never to store) and its row, in the caller's transaction."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown token purpose {purpose!r}")
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = AccountToken(purpose=purpose, token_hash=_digest(token), email=email, created_at=now,
                       expires_at=now + lifetime, **fields)
    db.add(row)
    db.flush()
    return token, row


def look_up(db: Session, purpose: str, token: str | None) -> AccountToken | None:
    """The row of a link's token, in any state; None for a token that never was one of `purpose`."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        return None
    return db.scalar(select(AccountToken).where(AccountToken.token_hash == _digest(token),
                                                AccountToken.purpose == purpose))


def refusal(row: AccountToken | None, purpose: str, now: dt.datetime | None = None) -> str | None:
    """Why a link of `purpose` cannot be used ("unknown", "used", "revoked", "expired"), or None when it can."""
    if row is None or row.purpose != purpose:
        return "unknown"
    state = row.state(now or utcnow())
    return None if state == "valid" else state


def use(db: Session, row: AccountToken, now: dt.datetime | None = None) -> bool:
    """Mark a valid token used; False when another request used (or revoked) it first."""
    now = now or utcnow()
    done = db.execute(update(AccountToken)
                      .where(AccountToken.id == row.id, AccountToken.used_at.is_(None),
                             AccountToken.revoked_at.is_(None), AccountToken.expires_at > now)
                      .values(used_at=now).execution_options(synchronize_session=False))
    if done.rowcount != 1:
        return False
    row.used_at = now
    return True


def revoke_open(db: Session, purpose: str, *, email: str | None = None, user_id: int | None = None,
                now: dt.datetime | None = None) -> int:
    """Revoke the still-usable tokens of `purpose` for an address or a user (a new one replaces them)."""
    now = now or utcnow()
    query = update(AccountToken).where(AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
                                       AccountToken.revoked_at.is_(None))
    if email is not None:
        query = query.where(AccountToken.email == email)
    if user_id is not None:
        query = query.where(AccountToken.user_id == user_id)
    return db.execute(query.values(revoked_at=now).execution_options(synchronize_session=False)).rowcount
