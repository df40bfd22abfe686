"""What counts as an email address: one check for accounts, form fields and the sign-in page.

It is the WHATWG definition browsers apply to <input type=email>, so an address a browser
lets a person type is one the server accepts, and the other way round.
"""
from __future__ import annotations

import re

__all__ = ["EMAIL_RE", "MAX_LENGTH", "is_email_address"]

EMAIL_RE = re.compile(r"[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
                      r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*")
# The longest address SMTP can deliver to (RFC 5321: a 256-octet path, less its angle brackets).
MAX_LENGTH = 254


def is_email_address(value: str) -> bool:
    """True when `value`, as it is (trim it first), is one email address."""
    return isinstance(value, str) and len(value) <= MAX_LENGTH and EMAIL_RE.fullmatch(value) is not None
