"""The names of the cookies the service sets (and the scripts read), defined once, without the database."""
from __future__ import annotations

SESSION_COOKIE = "kbgen_session"  # the sign-in session's token (HttpOnly)
CSRF_COOKIE = "kbgen_csrf"  # the session's CSRF token, which the scripts send back in a header
DEVICE_COOKIE = "kbgen_device"  # a browser that signed in before: strangers' failures do not lock it out
