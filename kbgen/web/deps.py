"""What every route needs, declared once as FastAPI dependencies: settings, a database session, who is asking.

    SettingsDep   the service's Settings
    SessionDep    a database session for this request, closed when the handler returns
    MaybeUser     the signed-in user, or None
    CurrentUser   the signed-in user, attached to SessionDep's session; else 401 {"detail": SIGN_IN_REQUIRED}
    AgentUser     the same, for the support team only; else 403 {"detail": AGENTS_ONLY}
    AdminUser     the same, for administrators (the admin pages): a browser signed out is sent to the site's
                  sign-in page (303, with next=), a signed-in non-admin gets the 403 page "Only administrators
                  ..."; a client asking for JSON gets 401/403 {"detail": ...} instead
    FormsDep      the ticket forms (forms/), read once per service

Routes take them as parameters (`def show(key: str, viewer: CurrentUser, session: SessionDep)`);
`current_user`, `require_user`, `require_agent` and `require_admin` also work in `Depends()` on their own.
"""
from __future__ import annotations

import threading
from typing import Annotated, Any, Iterator
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from sqlalchemy.orm import Session

from kbgen import accounts
from kbgen.accounts import SESSION_COOKIE, LoginSession, User
from kbgen.facts import safe_next
from kbgen.settings import Settings

SIGN_IN_REQUIRED = "Sign in to open or follow requests"
AGENTS_ONLY = "Only the support team can do this"
ADMINS_ONLY = "Only administrators can manage organizations, people and invitations or read the audit log"


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


def current_user(request: Request) -> User | None:
    """The signed-in user of this request (with .organization loaded), or None; looked up once per request."""
    if not hasattr(request.state, "kbgen_login"):
        token = request.cookies.get(SESSION_COOKIE)
        login = None
        if token:
            with request.app.state.sessionmaker.begin() as db:
                login = accounts.find_session(db, token)
        request.state.kbgen_login = login
    login: LoginSession | None = request.state.kbgen_login
    return login.user if login else None


def require_user(request: Request) -> User:
    user = current_user(request)
    if user is None:
        raise HTTPException(401, SIGN_IN_REQUIRED)
    return user


def require_agent(request: Request) -> User:
    user = require_user(request)
    if not user.is_agent:
        raise HTTPException(403, AGENTS_ONLY)
    return user


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def require_admin(request: Request) -> User:
    user = current_user(request)
    if user is not None and user.is_admin:
        return user
    if _wants_json(request):
        raise HTTPException(401, SIGN_IN_REQUIRED) if user is None else HTTPException(403, ADMINS_ONLY)
    from fastapi.responses import RedirectResponse

    from kbgen.facts import page
    from kbgen.web.pages import PageAnswer, portal_page
    from kbgen.web.redirects import site_root

    if user is None:
        here = request.url.path if request.method == "GET" else ""
        back = f"?next={quote(here, safe='/')}" if here and safe_next(here) else ""
        sign_in = site_root(request, get_settings(request)) + page("sign_in") + back
        raise PageAnswer(RedirectResponse(sign_in, status_code=303, headers={"Cache-Control": "no-store"}))
    raise PageAnswer(portal_page(request, "admin/refused.html", "Administrators only", status=403, viewer=user,
                                 messages=[("error", ADMINS_ONLY + ".")]))


# The session closes when the handler returns ("function"), not after the answer is sent: a slow client,
# or the intake's background automations, never hold a connection of the pool.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MaybeUser = Annotated[User | None, Depends(current_user)]


def _viewer(session: SessionDep, user: Annotated[User, Depends(require_user)]) -> User:
    return session.merge(user, load=False)


def _agent(session: SessionDep, user: Annotated[User, Depends(require_agent)]) -> User:
    return session.merge(user, load=False)


def _admin(session: SessionDep, user: Annotated[User, Depends(require_admin)]) -> User:
    return session.merge(user, load=False)


CurrentUser = Annotated[User, Depends(_viewer)]
AgentUser = Annotated[User, Depends(_agent)]
AdminUser = Annotated[User, Depends(_admin)]

_forms_lock = threading.Lock()


def forms_catalog(app: FastAPI) -> Any:
    """The ticket forms, read once per service from Settings.forms_dir."""
    catalog = getattr(app.state, "ticket_forms", None)
    if catalog is None:
        from kbgen.forms import load_catalog

        with _forms_lock:
            catalog = getattr(app.state, "ticket_forms", None)
            if catalog is None:
                catalog = app.state.ticket_forms = load_catalog(app.state.settings.forms_dir)
    return catalog


def _forms(request: Request) -> Any:
    return forms_catalog(request.app)


FormsDep = Annotated[Any, Depends(_forms)]  # a kbgen.forms.FormCatalog (imported on first use)
