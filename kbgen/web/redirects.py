"""Where the answer to a browser's own form post (no JavaScript) sends it: back onto the site, never off it.

The site may be published under a sub-path, or on another origin named in allowed_origins
(README: Deploy); the page that posted tells us which through its Referer.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request

from kbgen.facts import NEXT_MAX_LENGTH, page, safe_next  # the rule the browser applies too
from kbgen.settings import Settings
from kbgen.site.csp import origin_of

__all__ = ["MAX_NEXT", "on_site", "safe_next", "site_root"]

MAX_NEXT = NEXT_MAX_LENGTH
# The site's pages whose forms post to the service: the site's root is what comes before them.
POSTING_PAGES = tuple("/" + page(name) for name in ("sign_in", "sign_out", "support"))


def site_root(request: Request, settings: Settings) -> str:
    """The site's root ("/", "/help/" or "https://portal.example/"), for redirects after a form post.

    From the Referer of the login, logout or form page that posted; else public_url's path.
    When the page is on another origin named in allowed_origins, the redirect goes back to it.
    """
    other_site = origin_of(request.headers.get("origin") or request.headers.get("referer") or "")
    prefix = other_site if other_site in {origin_of(o) for o in settings.allowed_origins} else ""
    path = urlsplit(request.headers.get("referer", "")).path or ""
    if safe_next(path):
        for posting in POSTING_PAGES:
            if posting in path:
                return prefix + path[: path.index(posting) + 1]
    return prefix + urlsplit(prefix or settings.public_url).path.rstrip("/") + "/"


def on_site(root: str, path: str | None) -> str:
    """`path` (already checked by safe_next) on the site's origin, or the site's root."""
    if not path:
        return root
    parts = urlsplit(root)
    return f"{parts.scheme}://{parts.netloc}{path}" if parts.netloc else path
