"""The sign-in rate limit, kept in the database so that it holds across service replicas.

A browser that once signed in to an account carries a device cookie for it (OWASP "device
cookies"): its sign-ins to that account are counted against that browser alone, so strangers'
failures never lock the owner out. Every other attempt counts against the account (all untrusted
browsers together) and against its client address, which has its own, higher limit because a
whole office may share one address.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import zlib
from dataclasses import dataclass

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from kbgen.accounts.models import SESSION_IDLE, SESSION_LIFETIME, LoginFailure, LoginSession
from kbgen.accounts.people import AccountError, normalize_email
from kbgen.accounts.cookies import DEVICE_COOKIE  # noqa: F401 - importable from here too
from kbgen.accounts.sessions import _digest
from kbgen.db import utcnow

DEVICE_LIFETIME = dt.timedelta(days=365)
_DEVICE_ACCOUNTS = 4  # accounts one browser is remembered for (a shared office computer)
_DEVICE_TOKEN = re.compile(r"^[0-9a-f]{32}\.[0-9a-f]{64}$")
_LOCK_SPACE = zlib.crc32(b"kbgen.login_failures") - 2**31  # advisory lock namespace, a signed int4


@dataclass(frozen=True)
class RateLimit:
    attempts: int  # failed sign-ins allowed per account (its untrusted browsers together) and per device
    window: dt.timedelta
    address_attempts: int = 50  # failed sign-ins allowed per client address, whatever the accounts


@dataclass(frozen=True)
class Attempt:
    """A sign-in counted as failed before its password is checked: the count and its record are one
    step, so concurrent attempts cannot all pass the check before any of them is recorded."""

    keys: tuple[str, ...]
    ids: tuple[int, ...]


def login_keys(email: str, client: str | None, device: str | None = None) -> list[str]:
    """What an attempt is counted against: the trusted device alone, else the typed email and the address."""
    if device:
        return ["device:" + device]
    keys = ["email:" + (email or "").strip().lower()]
    if client:
        keys.append("ip:" + client)
    return keys


def _allowed(key: str, limit: RateLimit) -> int:
    return limit.address_attempts if key.startswith("ip:") else limit.attempts


def retry_after(db: Session, keys: list[str], limit: RateLimit, now: dt.datetime | None = None) -> int | None:
    """Seconds until another attempt is allowed, or None when these keys are within the limit."""
    return _wait(db, keys, limit, now or utcnow(), pending=0)


def _wait(db: Session, keys: list[str], limit: RateLimit, now: dt.datetime, pending: int) -> int | None:
    """Like retry_after, with `pending` rows per key of this very attempt already stored."""
    since = now - limit.window
    wait = 0.0
    for key in keys:
        count, oldest = db.execute(
            select(func.count(LoginFailure.id), func.min(LoginFailure.failed_at))
            .where(LoginFailure.key_hash == _digest(key), LoginFailure.failed_at > since)).one()
        if count - pending >= _allowed(key, limit) and oldest is not None:
            wait = max(wait, (oldest + limit.window - now).total_seconds())
    return max(1, int(wait + 0.999)) if wait > 0 else None


def reserve_attempt(db: Session, keys: list[str], limit: RateLimit,
                    now: dt.datetime | None = None) -> Attempt | int:
    """Count an attempt as failed before its password is checked; the seconds to wait instead when a
    key is at its limit (then nothing is stored). Commit before checking the password: the hash
    takes long, and no lock or transaction should wait on it.

    Insert first, count second, under a lock per key: on PostgreSQL an advisory lock, on SQLite
    the write lock the insert takes (so the count sees every attempt committed before)."""
    now = now or utcnow()
    if db.get_bind().dialect.name == "postgresql":
        for digest in sorted({_digest(key) for key in keys}):  # one order everywhere: no deadlocks
            db.execute(text("SELECT pg_advisory_xact_lock(:space, :key)"),
                       {"space": _LOCK_SPACE, "key": int(digest[:8], 16) - 2**31})
    rows = [LoginFailure(key_hash=_digest(key), failed_at=now) for key in keys]
    db.add_all(rows)
    db.flush()
    wait = _wait(db, keys, limit, now, pending=1)
    if wait is not None:
        db.execute(delete(LoginFailure).where(LoginFailure.id.in_([row.id for row in rows])))
        return wait
    return Attempt(keys=tuple(keys), ids=tuple(row.id for row in rows))


def cancel_attempt(db: Session, attempt: Attempt) -> None:
    """The password was never checked (the service was too busy): the attempt does not count."""
    db.execute(delete(LoginFailure).where(LoginFailure.id.in_(attempt.ids)))


def accept_attempt(db: Session, attempt: Attempt) -> None:
    """The password was right: the account (or the device) starts afresh; the address keeps the
    others' failures and loses only this attempt."""
    forget_failures(db, attempt.keys[0])
    cancel_attempt(db, attempt)


def recent_failures(db: Session, key: str, limit: RateLimit, now: dt.datetime | None = None) -> int:
    """Failed sign-ins counted against `key` within the window: each is a password check the service ran."""
    since = (now or utcnow()) - limit.window
    return db.scalar(select(func.count(LoginFailure.id))
                     .where(LoginFailure.key_hash == _digest(key), LoginFailure.failed_at > since)) or 0


def record_failure(db: Session, keys: list[str], now: dt.datetime | None = None) -> None:
    """Store a failure without the limit's check (reserve_attempt is the check and the record in one)."""
    now = now or utcnow()
    db.add_all(LoginFailure(key_hash=_digest(key), failed_at=now) for key in keys)


def forget_failures(db: Session, key: str) -> None:
    db.execute(delete(LoginFailure).where(LoginFailure.key_hash == _digest(key)))


def _device_signature(secret_key: str, email: str, nonce: str) -> str:
    # The cookie names its account only through this signature, so it shows nobody the email.
    message = f"kbgen device cookie\n{email}\n{nonce}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def _device_tokens(cookie: str | None) -> list[str]:
    return [t for t in (cookie or "").split("~")[: _DEVICE_ACCOUNTS * 2] if _DEVICE_TOKEN.match(t)]


def trusted_device(secret_key: str, cookie: str | None, email: str) -> str | None:
    """The id of the device whose cookie was signed for this email, or None (forged, another account's,
    or no cookie)."""
    try:
        address = normalize_email(email)
    except AccountError:
        return None
    for token in _device_tokens(cookie):
        nonce, signature = token.split(".")
        if hmac.compare_digest(signature, _device_signature(secret_key, address, nonce)):
            return nonce
    return None


def remember_device(secret_key: str, cookie: str | None, email: str) -> str:
    """The device cookie after a successful sign-in to `email`: a fresh token for it first, then the
    tokens this browser holds for other accounts."""
    address = normalize_email(email)
    others = [t for t in _device_tokens(cookie)
              if not hmac.compare_digest(t.split(".")[1], _device_signature(secret_key, address, t.split(".")[0]))]
    nonce = secrets.token_hex(16)
    return "~".join([f"{nonce}.{_device_signature(secret_key, address, nonce)}", *others][:_DEVICE_ACCOUNTS])


def purge(db: Session, limit: RateLimit, now: dt.datetime | None = None) -> None:
    """Drop expired sessions and failures older than the window; called on sign-in, so no cron is needed."""
    now = now or utcnow()
    db.execute(delete(LoginFailure).where(LoginFailure.failed_at <= now - limit.window))
    db.execute(delete(LoginSession).where(
        (LoginSession.last_seen_at < now - SESSION_IDLE) | (LoginSession.created_at < now - SESSION_LIFETIME)))
