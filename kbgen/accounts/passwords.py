"""Passwords: argon2 hashes, the rules for a new one, and checks that cost the same whoever asks."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

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


COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """The rules for a password a person chooses (invitation, reset, sign-up): the length rule, and
    nothing guessable from who they are or from the lists of passwords leaked most often."""
    check_password(password)
    lowered = password.strip().lower()
    local = email.strip().lower().partition("@")[0]
    if lowered == email.strip().lower() or (len(local) >= 4 and local in lowered):
        raise AccountError("password: do not use your email address in your password")
    if name and len(name.strip()) >= 4 and name.strip().lower() in lowered:
        raise AccountError("password: do not use your name in your password")
    if len(set(lowered)) <= 2 or lowered in _common_passwords() or lowered.rstrip("0123456789!") in _common_passwords():
        raise AccountError("password: this password is among those leaked and guessed most often; choose another, "
                           "e.g. three or four unrelated words")


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
