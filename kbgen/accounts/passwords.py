"""Passwords: argon2 hashes, the length rule, and checks that cost the same whoever asks."""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kbgen.accounts.models import AccountError

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # argon2 hashes any length; a cap keeps a request from costing seconds

_hasher = PasswordHasher()
_dummy_hash: str | None = None


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"password: use at most {MAX_PASSWORD} characters")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy() -> str:
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = _hasher.hash(secrets.token_hex(16))
    return _dummy_hash


def password_matches(password_hash: str | None, password: str) -> bool:
    """One argon2 verification whatever the input: an unknown email (no hash) or an overlong password
    costs the same as a wrong password, so the answer's timing tells nobody who has an account."""
    if password_hash is None or len(password) > MAX_PASSWORD:
        _verify(_dummy(), password[:MAX_PASSWORD])
        return False
    return _verify(password_hash, password)


def rehashed(password_hash: str, password: str) -> str | None:
    """A new hash of a password that just matched, when the stored one has weaker parameters than today's."""
    return _hasher.hash(password) if _hasher.check_needs_rehash(password_hash) else None
