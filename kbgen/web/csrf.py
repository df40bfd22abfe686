"""Cross-site request forgery protection for every unsafe request (POST, PUT, PATCH, DELETE).

The session cookie is SameSite=Lax, which already keeps it off most cross-site
requests; this is the second lock. A request that carries a session cookie is
accepted only when

  (a) its Origin (or, without Origin, its Referer) is the service's own origin
      (settings.public_url) or one of settings.allowed_origins, or
  (b) it has neither header (a script, not a browser) and sends X-CSRF-Token
      equal to its session's token (from GET /api/me or the kbgen_csrf cookie).

Sign-in (POST /api/session) and the account pages' forms (an invitation, a password
reset, a sign-up: ACCOUNT_FORM_PATHS, which sign a browser in or email someone) also
check Origin/Referer when present, with or without a session cookie, so another site
cannot sign a visitor into an account of the attacker's choosing.

The own origin comes from KBGEN_PUBLIC_URL. The Host header is whatever the client
wrote (a proxy may pass it on unchanged), so it stands in for the own origin only when
KBGEN_PUBLIC_URL is not set: local development, `make run`.
"""
from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from kbgen import accounts
from kbgen.facts import service_page
from kbgen.settings import Settings
from kbgen.site.csp import origin_of

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGN_IN_PATH = "/api/session"
ACCOUNT_FORM_PATHS = frozenset(urlsplit(service_page(name, token="")).path for name in
                               ("invitation", "forgot_password", "reset_password", "sign_up", "verify_sign_up"))
TOKEN_HEADER = "x-csrf-token"
REFUSED = ("Cross-site request refused: this action must come from a page of this portal. "
           "Other clients send no Origin or Referer header and send X-CSRF-Token with the csrf_token "
           "from GET /api/me.")
def trusted_origins(settings: Settings) -> frozenset[str]:
    return frozenset(o for o in (origin_of(settings.public_url), *map(origin_of, settings.allowed_origins)) if o)


def is_trusted(source: str, own: str | None, trusted: frozenset[str]) -> bool:
    origin = origin_of(source)
    return origin is not None and (origin == own or origin in trusted)


class CSRFMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.trusted = trusted_origins(settings)
        self.trust_host = not settings.public_url_configured

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        token = cookie_parser(headers.get("cookie", "")).get(accounts.SESSION_COOKIE)
        signing_in = scope["method"] == "POST" and (scope["path"] == SIGN_IN_PATH
                                                    or scope["path"] in ACCOUNT_FORM_PATHS)
        if (token is None and not signing_in) or await self._allowed(scope, headers, token, signing_in):
            await self.app(scope, receive, send)
            return
        await JSONResponse({"detail": REFUSED}, status_code=403)(scope, receive, send)

    async def _allowed(self, scope: Scope, headers: Headers, token: str | None, signing_in: bool) -> bool:
        source = headers.get("origin") or headers.get("referer")
        if source:
            return is_trusted(source, _own_origin(scope, headers) if self.trust_host else None, self.trusted)
        if signing_in:
            return True  # a script signing in: it gains nothing it did not already know
        sent = headers.get(TOKEN_HEADER)
        if not sent:
            return False
        expected = await run_in_threadpool(_session_token, scope["app"].state.sessionmaker, token)
        return expected is not None and hmac.compare_digest(sent.encode(), expected.encode())


def _own_origin(scope: Scope, headers: Headers) -> str | None:
    host = headers.get("host")
    return origin_of(f"{scope.get('scheme', 'http')}://{host}") if host else None


def _session_token(make_db, token: str) -> str | None:
    with make_db.begin() as db:
        return accounts.session_csrf_token(db, token)


def install(app, settings: Settings) -> None:
    """CSRF protection, the request body limit, CORS for allowed_origins and the security headers,
    for every route of `app`."""
    from starlette.middleware.cors import CORSMiddleware

    from kbgen.web.limits import BodySizeLimit, SecurityHeaders

    # Added last runs first: headers go on every answer, including the 413 and 403 below them.
    app.add_middleware(CSRFMiddleware, settings=settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.allowed_origins:
        # The static site on another origin calls the API with its cookies (kbgen-account.js sends
        # credentials when <meta name="kbgen-api"> names a prefix); nobody else may read the answers.
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.allowed_origins), allow_credentials=True,
                           allow_methods=sorted(UNSAFE_METHODS | {"GET"}),
                           allow_headers=["Content-Type", "X-CSRF-Token"])
    app.add_middleware(SecurityHeaders)
