"""Where the answer to a browser's own form post (no JavaScript) sends it: back onto the site, never off it.

The site may be published under a sub-path, or on another origin named in allowed_origins
(README: Deploy); the page that posted tells us which through its Referer.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from kbgen.settings import Settings
from kbgen.web.csrf import origin_of

MAX_NEXT = 2000
# The site's pages whose forms post to the service: the site's root is what comes before them.
POSTING_PAGES = ("/login/", "/logout/", "/support/")


def safe_next(value: object) -> str | None:
    """`value` if it is a path on this site ("/kb/xcally/?q=1"); None for anything that could leave it."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_NEXT:
        return None
    if value.startswith("//") or "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return None
    parts = urlsplit(value)
    return value if not parts.scheme and not parts.netloc else None


def site_root(request: Request, settings: Settings) -> str:
    """The site's root ("/", "/help/" or "https://portal.example/"), for redirects after a form post.

    From the Referer of the login, logout or form page that posted; else public_url's path.
    When the page is on another origin named in allowed_origins, the redirect goes back to it.
    """
    other_site = origin_of(request.headers.get("origin") or request.headers.get("referer") or "")
    prefix = other_site if other_site in {origin_of(o) for o in settings.allowed_origins} else ""
    path = urlsplit(request.headers.get("referer", "")).path or ""
    if safe_next(path):
        for page in POSTING_PAGES:
            if page in path:
                return prefix + path[: path.index(page) + 1]
    return prefix + urlsplit(prefix or settings.public_url).path.rstrip("/") + "/"


def on_site(root: str, path: str | None) -> str:
    """`path` (already checked by safe_next) on the site's origin, or the site's root."""
    if not path:
        return root
    parts = urlsplit(root)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path
